//! Accounts: people, their keys (and unconfirmed claims on keys), second factors and settings;
//! deleting a person and merging a placeholder into a real one.

use tack_protocol::{ActivityKind, Actor, Event, SshKey, User, UserId};

use super::{Entry, Record, RecordKey, Scan, Unique, WriteTx, log};
use crate::records::{PendingKey, StoredToken};
use crate::{Write, WriteError};

fn handle_entry(kind: ActivityKind, user: &User) -> Entry {
    Entry::account(kind, format!("@{}", user.handle))
}

fn key_taken(tx: &dyn WriteTx, fingerprint: &str) -> Result<(), WriteError> {
    if tx.exists(&RecordKey::Key(fingerprint.to_owned()))? {
        return Err(WriteError::Taken {
            field: "key",
            value: fingerprint.to_owned(),
        });
    }
    Ok(())
}

/// Stores a key as its owner's; a key that is someone's now is nobody's claim any more.
fn put_key(tx: &mut dyn WriteTx, key: &SshKey) -> Result<(), WriteError> {
    key_taken(tx, &key.fingerprint)?;
    tx.put(Record::Key(key.clone()))?;
    for claim in tx.scan(Scan::ClaimsOn(&key.fingerprint))? {
        tx.delete(&claim)?;
    }
    Ok(())
}

pub(super) fn create_user(
    tx: &mut dyn WriteTx,
    write: &Write,
    user: &User,
    key: Option<&SshKey>,
    token: Option<&StoredToken>,
    invite: &Option<String>,
) -> Result<Vec<Event>, WriteError> {
    if tx.find(Unique::UserHandle(&user.handle))?.is_some() {
        return Err(WriteError::Taken {
            field: "handle",
            value: user.handle.clone(),
        });
    }
    let mut user = user.clone();
    user.id = tx.next_id(super::Counter::User);
    if let Some(invite_id) = invite {
        let mut stored = tx
            .invite(invite_id)?
            .ok_or_else(|| WriteError::Missing(format!("invite {invite_id}")))?;
        if stored.invite.redeemed_by.is_some() || stored.invite.revoked {
            return Err(WriteError::Rejected(
                "this invite code was already used or revoked".into(),
            ));
        }
        stored.invite.redeemed_by = Some(user.id);
        tx.put(Record::Invite(stored))?;
    }
    tx.insert(Record::User(user.clone()))?;
    if let Some(key) = key {
        let mut key = key.clone();
        key.owner = user.id;
        put_key(tx, &key)?;
    }
    if let Some(token) = token {
        let mut token = token.clone();
        token.token.user = user.id;
        tx.put(Record::Token(token))?;
    }
    Ok(vec![log(
        tx,
        write,
        handle_entry(ActivityKind::UserCreated, &user),
    )?])
}

pub(super) fn update_user(
    tx: &mut dyn WriteTx,
    write: &Write,
    user: &User,
) -> Result<Vec<Event>, WriteError> {
    let old = tx.require_user(user.id)?;
    if old.handle != user.handle {
        return Err(WriteError::Rejected("a handle cannot be changed".into()));
    }
    tx.put(Record::User(user.clone()))?;
    Ok(vec![log(
        tx,
        write,
        handle_entry(ActivityKind::UserUpdated, user),
    )?])
}

fn key_entry(fingerprint: &str) -> Entry {
    Entry::account(ActivityKind::KeyAdded, fingerprint.to_owned())
}

pub(super) fn add_key(
    tx: &mut dyn WriteTx,
    write: &Write,
    key: &SshKey,
) -> Result<Vec<Event>, WriteError> {
    tx.require_user(key.owner)?;
    put_key(tx, key)?;
    Ok(vec![log(tx, write, key_entry(&key.fingerprint))?])
}

pub(super) fn add_pending_key(
    tx: &mut dyn WriteTx,
    write: &Write,
    pending: &PendingKey,
) -> Result<Vec<Event>, WriteError> {
    let key = &pending.key;
    tx.require_user(key.owner)?;
    key_taken(tx, &key.fingerprint)?;
    tx.put(Record::PendingKey(pending.clone()))?;
    Ok(vec![log(tx, write, key_entry(&key.fingerprint))?])
}

pub(super) fn confirm_key(
    tx: &mut dyn WriteTx,
    write: &Write,
    fingerprint: &str,
    owner: UserId,
) -> Result<Vec<Event>, WriteError> {
    tx.require_user(owner)?;
    let claim = tx
        .pending_key(fingerprint, owner)?
        .ok_or_else(|| WriteError::Missing(format!("the pending key {fingerprint}")))?;
    put_key(tx, &claim.key)?;
    Ok(vec![log(tx, write, key_entry(fingerprint))?])
}

pub(super) fn remove_key(
    tx: &mut dyn WriteTx,
    write: &Write,
    fingerprint: &str,
) -> Result<Vec<Event>, WriteError> {
    if tx.key(fingerprint)?.is_none() {
        return Err(WriteError::Missing(format!("key {fingerprint}")));
    }
    tx.delete(&RecordKey::Key(fingerprint.to_owned()))?;
    Ok(vec![log(
        tx,
        write,
        Entry::account(ActivityKind::KeyRemoved, fingerprint.to_owned()),
    )?])
}

/// Records when a key last logged in. Not logged.
pub(super) fn touch_key(
    tx: &mut dyn WriteTx,
    write: &Write,
    fingerprint: &str,
) -> Result<Vec<Event>, WriteError> {
    if let Some(mut key) = tx.key(fingerprint)? {
        key.last_used_at = Some(write.at);
        tx.put(Record::Key(key))?;
    }
    Ok(Vec::new())
}

/// Stores a record of a person's own (their second factor, their settings), logged as a change
/// to them unless `logged` is false (a code used at every login is not news).
pub(super) fn put_personal(
    tx: &mut dyn WriteTx,
    write: &Write,
    owner: UserId,
    record: Record,
    logged: bool,
) -> Result<Vec<Event>, WriteError> {
    let user = tx.require_user(owner)?;
    tx.put(record)?;
    if !logged {
        return Ok(Vec::new());
    }
    Ok(vec![log(
        tx,
        write,
        handle_entry(ActivityKind::UserUpdated, &user),
    )?])
}

/// Removes an account and what only it owned, and revokes its tokens (their records stay, for
/// the audit trail); its assignments move to `reassign_to`.
pub(super) fn delete_user(
    tx: &mut dyn WriteTx,
    write: &Write,
    id: UserId,
    reassign_to: Option<UserId>,
    tokens: &[StoredToken],
) -> Result<Vec<Event>, WriteError> {
    for stored in tokens {
        let mut stored = stored.clone();
        stored.token.revoked = true;
        tx.put(Record::Token(stored))?;
    }
    let user = tx.require_user(id)?;
    if let Some(to) = reassign_to {
        tx.require_user(to)?;
    }
    let mut events = Vec::new();
    for key in tx.scan(Scan::AssignedTo(id))? {
        let RecordKey::Issue(issue) = key else {
            continue;
        };
        let current = tx.require_issue(issue)?;
        let mut next = current.clone();
        next.assignees.retain(|u| *u != id);
        if let Some(to) = reassign_to
            && !next.assignees.contains(&to)
        {
            next.assignees.push(to);
        }
        next.updated_at = write.at;
        events.push(super::issues::update_logged(tx, write, &current, next)?);
    }
    for owned in [Scan::KeysOf(id), Scan::NotificationsOf(id)] {
        for key in tx.scan(owned)? {
            tx.delete(&key)?;
        }
    }
    tx.delete(&RecordKey::Totp(id))?;
    tx.delete(&RecordKey::Settings(id))?;
    tx.delete(&RecordKey::User(id))?;
    events.push(log(
        tx,
        write,
        handle_entry(ActivityKind::UserDeleted, &user),
    )?);
    Ok(events)
}

/// Gives `from`'s issues, assignments and comments to `into`, then removes `from`.
pub(super) fn merge_user(
    tx: &mut dyn WriteTx,
    write: &Write,
    from: UserId,
    into: UserId,
) -> Result<Vec<Event>, WriteError> {
    let gone = tx.require_user(from)?;
    tx.require_user(into)?;
    let mut events = Vec::new();
    for key in tx.scan(Scan::Issues)? {
        let RecordKey::Issue(id) = key else {
            continue;
        };
        let Some(current) = tx.issue(id)? else {
            continue;
        };
        let assigned = current.assignees.contains(&from);
        let created = current.creator == Actor::User(from);
        if !assigned && !created {
            continue;
        }
        let mut next = current.clone();
        next.assignees.retain(|u| *u != from);
        if assigned && !next.assignees.contains(&into) {
            next.assignees.push(into);
        }
        if created {
            next.creator = Actor::User(into);
        }
        events.push(super::issues::update_logged(tx, write, &current, next)?);
    }
    for key in tx.scan(Scan::Comments)? {
        let RecordKey::Comment(id) = key else {
            continue;
        };
        if let Some(mut comment) = tx.comment(id)?
            && comment.author == Actor::User(from)
        {
            comment.author = Actor::User(into);
            tx.put(Record::Comment(comment))?;
        }
    }
    tx.delete(&RecordKey::User(from))?;
    events.push(log(
        tx,
        write,
        handle_entry(ActivityKind::UserDeleted, &gone),
    )?);
    Ok(events)
}
