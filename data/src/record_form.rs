//! How a record is named and written outside any one engine: its collection, its key bytes (ids
//! big-endian, so that keys sort as the ids do) and its value bytes. A backup file holds records
//! in this form, so any engine restores any engine's backup; the sled engine stores it as is.

use crate::StoreError;
use crate::plan::{Counter, Record, RecordKey};
use crate::records::{decode, encode};
use crate::stored::Stored;

pub fn id(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

pub fn pair(a: u64, b: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&a.to_be_bytes());
    key[8..].copy_from_slice(&b.to_be_bytes());
    key
}

pub fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let slice = bytes.get(at..at + 8)?;
    let mut buf = [0u8; 8];
    buf.copy_from_slice(slice);
    Some(u64::from_be_bytes(buf))
}

/// `fingerprint | 0 | user`: one person's unconfirmed claim on a key.
pub fn pending_key(fingerprint: &str, user: u64) -> Vec<u8> {
    let mut key = pending_key_prefix(fingerprint);
    key.extend_from_slice(&user.to_be_bytes());
    key
}

pub fn pending_key_prefix(fingerprint: &str) -> Vec<u8> {
    let mut key = fingerprint.as_bytes().to_vec();
    key.push(0);
    key
}

/// `project | source` → the issue an import of `source` made.
pub fn import(project: u64, source: &str) -> Vec<u8> {
    let mut key = id(project).to_vec();
    key.extend_from_slice(source.as_bytes());
    key
}

/// The collection that holds records under `key`.
pub fn collection(key: &RecordKey) -> &'static str {
    match key {
        RecordKey::User(_) => "users",
        RecordKey::Key(_) => "keys",
        RecordKey::PendingKey { .. } => "pending_keys",
        RecordKey::Token(_) => "tokens",
        RecordKey::Invite(_) => "invites",
        RecordKey::Project(_) => "projects",
        RecordKey::Issue(_) => "issues",
        RecordKey::Comment(_) => "comments",
        RecordKey::Activity(_) => "activity",
        RecordKey::Totp(_) => "totp",
        RecordKey::Notification { .. } => "notifications",
        RecordKey::Watcher { .. } => "watchers",
        RecordKey::Job(_) => "jobs",
        RecordKey::Webhook { .. } => "webhooks",
        RecordKey::Delivery { .. } => "deliveries",
        RecordKey::Settings(_) => "user_settings",
        RecordKey::Dedupe(_) => "dedupe",
        RecordKey::View(_) => "views",
        RecordKey::Import { .. } => "imports",
    }
}

/// The key bytes of a record within its collection.
pub fn key_bytes(key: &RecordKey) -> Vec<u8> {
    match key {
        RecordKey::User(n)
        | RecordKey::Project(n)
        | RecordKey::Issue(n)
        | RecordKey::Comment(n)
        | RecordKey::Activity(n)
        | RecordKey::Totp(n)
        | RecordKey::Job(n)
        | RecordKey::Settings(n)
        | RecordKey::View(n) => id(*n).to_vec(),
        RecordKey::Key(text)
        | RecordKey::Token(text)
        | RecordKey::Invite(text)
        | RecordKey::Dedupe(text) => text.as_bytes().to_vec(),
        RecordKey::PendingKey { fingerprint, owner } => pending_key(fingerprint, *owner),
        RecordKey::Notification { user: a, id: b }
        | RecordKey::Watcher { issue: a, user: b }
        | RecordKey::Webhook { project: a, id: b }
        | RecordKey::Delivery { hook: a, id: b } => pair(*a, *b).to_vec(),
        RecordKey::Import { project, source } => import(*project, source),
    }
}

/// The record key that `bytes` are in `collection`; `None` for a collection no record lives in
/// (the engine's own metadata and indexes) or bytes that cannot be such a key.
pub fn parse_key(collection: &str, bytes: &[u8]) -> Option<RecordKey> {
    let number = || (bytes.len() == 8).then(|| read_u64(bytes, 0)).flatten();
    let pair = || {
        (bytes.len() == 16)
            .then(|| Some((read_u64(bytes, 0)?, read_u64(bytes, 8)?)))
            .flatten()
    };
    let text = || String::from_utf8(bytes.to_vec()).ok();
    Some(match collection {
        "users" => RecordKey::User(number()?),
        "projects" => RecordKey::Project(number()?),
        "issues" => RecordKey::Issue(number()?),
        "comments" => RecordKey::Comment(number()?),
        "activity" => RecordKey::Activity(number()?),
        "totp" => RecordKey::Totp(number()?),
        "jobs" => RecordKey::Job(number()?),
        "user_settings" => RecordKey::Settings(number()?),
        "views" => RecordKey::View(number()?),
        "keys" => RecordKey::Key(text()?),
        "tokens" => RecordKey::Token(text()?),
        "invites" => RecordKey::Invite(text()?),
        "dedupe" => RecordKey::Dedupe(text()?),
        "pending_keys" => {
            let split = bytes.len().checked_sub(9)?;
            if bytes.get(split) != Some(&0) {
                return None;
            }
            RecordKey::PendingKey {
                fingerprint: String::from_utf8(bytes[..split].to_vec()).ok()?,
                owner: read_u64(bytes, split + 1)?,
            }
        }
        "notifications" => {
            let (user, id) = pair()?;
            RecordKey::Notification { user, id }
        }
        "watchers" => {
            let (issue, user) = pair()?;
            RecordKey::Watcher { issue, user }
        }
        "webhooks" => {
            let (project, id) = pair()?;
            RecordKey::Webhook { project, id }
        }
        "deliveries" => {
            let (hook, id) = pair()?;
            RecordKey::Delivery { hook, id }
        }
        "imports" => RecordKey::Import {
            project: read_u64(bytes, 0)?,
            source: String::from_utf8(bytes.get(8..)?.to_vec()).ok()?,
        },
        _ => return None,
    })
}

/// The value bytes a record is written as.
pub fn value_bytes(record: &Record) -> Vec<u8> {
    match record {
        Record::User(v) => encode(v),
        Record::Key(v) => encode(v),
        Record::PendingKey(v) => encode(v),
        Record::Token(v) => encode(v),
        Record::Invite(v) => encode(v),
        Record::Project(v) => encode(v),
        Record::Issue(v) => encode(v),
        Record::Comment(v) => encode(v),
        Record::Activity(v) => encode(v),
        Record::Totp(v) => encode(v),
        Record::Notification(v) => encode(v),
        Record::Watcher { .. } => Vec::new(),
        Record::Job(v) => encode(v),
        Record::Webhook(v) => encode(v),
        Record::Delivery(v) => encode(v),
        Record::Settings { settings, .. } => encode(settings),
        Record::Dedupe { at, .. } => at.to_be_bytes().to_vec(),
        Record::View(v) => encode(v),
        Record::Import { issue, .. } => id(*issue).to_vec(),
    }
}

/// Reads the value bytes of the record at `key` back into the record.
pub fn read_record(key: &RecordKey, bytes: &[u8]) -> Result<Record, StoreError> {
    let name = collection(key);
    fn de<V: Stored>(name: &'static str, bytes: &[u8]) -> Result<V, StoreError> {
        decode(name, bytes)
    }
    let number = |what: &str| {
        read_u64(bytes, 0).ok_or_else(|| StoreError::Corrupt {
            tree: name,
            reason: format!("short {what}"),
        })
    };
    Ok(match key {
        RecordKey::User(_) => Record::User(de(name, bytes)?),
        RecordKey::Key(_) => Record::Key(de(name, bytes)?),
        RecordKey::PendingKey { .. } => Record::PendingKey(de(name, bytes)?),
        RecordKey::Token(_) => Record::Token(de(name, bytes)?),
        RecordKey::Invite(_) => Record::Invite(de(name, bytes)?),
        RecordKey::Project(_) => Record::Project(de(name, bytes)?),
        RecordKey::Issue(_) => Record::Issue(de(name, bytes)?),
        RecordKey::Comment(_) => Record::Comment(de(name, bytes)?),
        RecordKey::Activity(_) => Record::Activity(de(name, bytes)?),
        RecordKey::Totp(_) => Record::Totp(de(name, bytes)?),
        RecordKey::Notification { .. } => Record::Notification(de(name, bytes)?),
        RecordKey::Watcher { issue, user } => Record::Watcher {
            issue: *issue,
            user: *user,
        },
        RecordKey::Job(_) => Record::Job(de(name, bytes)?),
        RecordKey::Webhook { .. } => Record::Webhook(de(name, bytes)?),
        RecordKey::Delivery { .. } => Record::Delivery(de(name, bytes)?),
        RecordKey::Settings(user) => Record::Settings {
            user: *user,
            settings: de(name, bytes)?,
        },
        RecordKey::Dedupe(key) => Record::Dedupe {
            key: key.clone(),
            at: number("timestamp")? as i64,
        },
        RecordKey::View(_) => Record::View(de(name, bytes)?),
        RecordKey::Import { project, source } => Record::Import {
            project: *project,
            source: source.clone(),
            issue: number("issue id")?,
        },
    })
}

/// The engine's metadata, kept in a `meta` collection of the backup file.
pub mod meta {
    use super::Counter;

    pub const COLLECTION: &str = "meta";
    pub const SCHEMA_VERSION: &[u8] = b"schema_version";
    pub const LAST_SEQ: &[u8] = b"last_seq";

    /// Where a counter is kept: the last sequence number given, or the next id to give.
    pub const fn counter_key(counter: Counter) -> &'static [u8] {
        match counter {
            Counter::User => b"next_id/users",
            Counter::Project => b"next_id/projects",
            Counter::Issue => b"next_id/issues",
            Counter::Comment => b"next_id/comments",
            Counter::Job => b"next_id/jobs",
            Counter::Webhook => b"next_id/webhooks",
            Counter::Delivery => b"next_id/deliveries",
            Counter::View => b"next_id/views",
            Counter::Seq => LAST_SEQ,
        }
    }

    pub const COUNTERS: [Counter; 9] = [
        Counter::User,
        Counter::Project,
        Counter::Issue,
        Counter::Comment,
        Counter::Job,
        Counter::Webhook,
        Counter::Delivery,
        Counter::View,
        Counter::Seq,
    ];

    /// The next number of `counter` kept in `slot`, which moves on. The sequence counter holds
    /// the last number given, the others the next.
    pub fn take(counter: Counter, slot: &mut u64) -> u64 {
        match counter {
            Counter::Seq => {
                *slot += 1;
                *slot
            }
            _ => {
                *slot += 1;
                *slot - 1
            }
        }
    }

    /// What a counter holds in a store that has none yet.
    pub const fn counter_start(counter: Counter) -> u64 {
        match counter {
            Counter::Seq => 0,
            _ => 1,
        }
    }
}
