//! The write planner's transaction on sled: each collection is a tree, each secondary index a
//! tree of keys beside it, kept in step here whenever a record is put or deleted. Changes go to
//! the writer's staging overlay ([`Tx`]); ids come from counters the writer thread owns.

use tack_protocol::Issue;

use crate::keys;
use crate::plan::{Counter, Record, RecordKey, Scan, Unique, WriteTx};
use crate::records::{decode, encode};
use crate::staging::Tx;
use crate::trees::{self, T};
use crate::{StoreError, WriteError};
use tack_data::stored::Stored;

/// Id and sequence counters; a refused write leaves them as they were.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    pub next_user: u64,
    pub next_project: u64,
    pub next_issue: u64,
    pub next_comment: u64,
    pub next_job: u64,
    pub next_webhook: u64,
    pub next_delivery: u64,
    pub next_view: u64,
    pub last_seq: u64,
}

impl Counters {
    fn slot(&mut self, counter: Counter) -> &mut u64 {
        match counter {
            Counter::User => &mut self.next_user,
            Counter::Project => &mut self.next_project,
            Counter::Issue => &mut self.next_issue,
            Counter::Comment => &mut self.next_comment,
            Counter::Job => &mut self.next_job,
            Counter::Webhook => &mut self.next_webhook,
            Counter::Delivery => &mut self.next_delivery,
            Counter::View => &mut self.next_view,
            Counter::Seq => &mut self.last_seq,
        }
    }

    /// Stages the counters into the meta tree.
    pub fn save(&self, tx: &Tx<'_>) -> Result<(), WriteError> {
        let slots = [
            (trees::NEXT_USER, self.next_user),
            (trees::NEXT_PROJECT, self.next_project),
            (trees::NEXT_ISSUE, self.next_issue),
            (trees::NEXT_COMMENT, self.next_comment),
            (trees::NEXT_JOB, self.next_job),
            (trees::NEXT_WEBHOOK, self.next_webhook),
            (trees::NEXT_DELIVERY, self.next_delivery),
            (trees::NEXT_VIEW, self.next_view),
            (trees::LAST_SEQ, self.last_seq),
        ];
        for (key, value) in slots {
            tx.put(T::Meta, key, &value.to_be_bytes())?;
        }
        Ok(())
    }
}

/// One write's view of the staging overlay.
pub struct SledWriteTx<'t, 'a> {
    tx: &'t Tx<'a>,
    counters: &'t mut Counters,
}

impl<'t, 'a> SledWriteTx<'t, 'a> {
    pub fn new(tx: &'t Tx<'a>, counters: &'t mut Counters) -> Self {
        SledWriteTx { tx, counters }
    }
}

/// The tree and key a record lives under.
fn locate(key: &RecordKey) -> (T, Vec<u8>) {
    match key {
        RecordKey::User(id) => (T::Users, keys::id(*id).to_vec()),
        RecordKey::Key(fingerprint) => (T::Keys, fingerprint.as_bytes().to_vec()),
        RecordKey::PendingKey { fingerprint, owner } => {
            (T::PendingKeys, keys::pending_key(fingerprint, *owner))
        }
        RecordKey::Token(id) => (T::Tokens, id.as_bytes().to_vec()),
        RecordKey::Invite(id) => (T::Invites, id.as_bytes().to_vec()),
        RecordKey::Project(id) => (T::Projects, keys::id(*id).to_vec()),
        RecordKey::Issue(id) => (T::Issues, keys::id(*id).to_vec()),
        RecordKey::Comment(id) => (T::Comments, keys::id(*id).to_vec()),
        RecordKey::Activity(seq) => (T::Activity, keys::id(*seq).to_vec()),
        RecordKey::Totp(user) => (T::Totp, keys::id(*user).to_vec()),
        RecordKey::Notification { user, id } => (T::Notifications, keys::pair(*user, *id).to_vec()),
        RecordKey::Watcher { issue, user } => (T::Watchers, keys::pair(*issue, *user).to_vec()),
        RecordKey::Job(id) => (T::Jobs, keys::id(*id).to_vec()),
        RecordKey::Webhook { project, id } => (T::Webhooks, keys::pair(*project, *id).to_vec()),
        RecordKey::Delivery { hook, id } => (T::Deliveries, keys::pair(*hook, *id).to_vec()),
        RecordKey::Settings(user) => (T::UserSettings, keys::id(*user).to_vec()),
        RecordKey::Dedupe(key) => (T::Dedupe, key.as_bytes().to_vec()),
        RecordKey::View(id) => (T::Views, keys::id(*id).to_vec()),
        RecordKey::Import { project, source } => (T::Imports, keys::import(*project, source)),
    }
}

fn corrupt(tree: T, reason: &str) -> WriteError {
    StoreError::Corrupt {
        tree: trees::name(tree),
        reason: reason.to_owned(),
    }
    .into()
}

/// Reads the stored bytes of the record at `key` back into a record.
fn read_record(key: &RecordKey, tree: T, bytes: &[u8]) -> Result<Record, WriteError> {
    fn de<V: Stored>(tree: T, bytes: &[u8]) -> Result<V, WriteError> {
        decode(trees::name(tree), bytes).map_err(WriteError::from)
    }
    Ok(match key {
        RecordKey::User(_) => Record::User(de(tree, bytes)?),
        RecordKey::Key(_) => Record::Key(de(tree, bytes)?),
        RecordKey::PendingKey { .. } => Record::PendingKey(de(tree, bytes)?),
        RecordKey::Token(_) => Record::Token(de(tree, bytes)?),
        RecordKey::Invite(_) => Record::Invite(de(tree, bytes)?),
        RecordKey::Project(_) => Record::Project(de(tree, bytes)?),
        RecordKey::Issue(_) => Record::Issue(de(tree, bytes)?),
        RecordKey::Comment(_) => Record::Comment(de(tree, bytes)?),
        RecordKey::Activity(_) => Record::Activity(de(tree, bytes)?),
        RecordKey::Totp(_) => Record::Totp(de(tree, bytes)?),
        RecordKey::Notification { .. } => Record::Notification(de(tree, bytes)?),
        RecordKey::Watcher { issue, user } => Record::Watcher {
            issue: *issue,
            user: *user,
        },
        RecordKey::Job(_) => Record::Job(de(tree, bytes)?),
        RecordKey::Webhook { .. } => Record::Webhook(de(tree, bytes)?),
        RecordKey::Delivery { .. } => Record::Delivery(de(tree, bytes)?),
        RecordKey::Settings(user) => Record::Settings {
            user: *user,
            settings: de(tree, bytes)?,
        },
        RecordKey::Dedupe(key) => Record::Dedupe {
            key: key.clone(),
            at: keys::read_u64(bytes, 0).ok_or_else(|| corrupt(tree, "short timestamp"))? as i64,
        },
        RecordKey::View(_) => Record::View(de(tree, bytes)?),
        RecordKey::Import { project, source } => Record::Import {
            project: *project,
            source: source.clone(),
            issue: keys::read_u64(bytes, 0).ok_or_else(|| corrupt(tree, "short issue id"))?,
        },
    })
}

/// The bytes a record is stored as.
fn record_bytes(record: &Record) -> Vec<u8> {
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
        Record::Import { issue, .. } => keys::id(*issue).to_vec(),
    }
}

/// Whether records of this collection have index entries to keep in step.
fn indexed(key: &RecordKey) -> bool {
    matches!(
        key,
        RecordKey::User(_)
            | RecordKey::Key(_)
            | RecordKey::Project(_)
            | RecordKey::Issue(_)
            | RecordKey::Comment(_)
            | RecordKey::Activity(_)
            | RecordKey::Job(_)
    )
}

/// The index entries of a record: (tree, key, value).
fn index_entries(record: &Record) -> Vec<(T, Vec<u8>, Vec<u8>)> {
    match record {
        Record::User(user) => vec![(
            T::UsersByHandle,
            user.handle.as_bytes().to_vec(),
            keys::id(user.id).to_vec(),
        )],
        Record::Key(key) => vec![(
            T::KeysByUser,
            keys::user_key(key.owner, &key.fingerprint),
            Vec::new(),
        )],
        Record::Project(project) => vec![(
            T::ProjectsByKey,
            project.key.as_bytes().to_vec(),
            keys::id(project.id).to_vec(),
        )],
        Record::Issue(issue) => issue_entries(issue),
        Record::Comment(comment) => vec![(
            T::CommentsByIssue,
            keys::pair(comment.issue, comment.id).to_vec(),
            Vec::new(),
        )],
        Record::Activity(activity) => {
            let mut entries = Vec::new();
            if let Some(issue) = activity.issue {
                let key = keys::pair(issue, activity.seq).to_vec();
                entries.push((T::ActivityByIssue, key, Vec::new()));
            }
            if let Some(project) = activity.project {
                let key = keys::pair(project, activity.seq).to_vec();
                entries.push((T::ActivityByProject, key, Vec::new()));
            }
            entries
        }
        Record::Job(job) if job.state == tack_protocol::JobState::Queued => vec![(
            T::JobsDue,
            keys::job_due(job.run_at, job.id).to_vec(),
            Vec::new(),
        )],
        _ => Vec::new(),
    }
}

fn issue_entries(issue: &Issue) -> Vec<(T, Vec<u8>, Vec<u8>)> {
    let mut entries = vec![
        (
            T::IdxBoard,
            keys::board(issue.project, issue.state, &issue.rank, issue.id),
            Vec::new(),
        ),
        (
            T::IssuesByNumber,
            keys::pair(issue.project, issue.number).to_vec(),
            keys::id(issue.id).to_vec(),
        ),
    ];
    for user in &issue.assignees {
        entries.push((
            T::IdxAssignee,
            keys::pair(*user, issue.id).to_vec(),
            Vec::new(),
        ));
    }
    for label in &issue.labels {
        entries.push((
            T::IdxLabel,
            keys::label(issue.project, label, issue.id),
            Vec::new(),
        ));
    }
    entries
}

impl SledWriteTx<'_, '_> {
    /// The records named by the ids in the last 8 bytes of each key under `prefix`.
    fn keys_by_id(
        &self,
        tree: T,
        prefix: &[u8],
        record: impl Fn(u64) -> RecordKey,
    ) -> Result<Vec<RecordKey>, WriteError> {
        Ok(self
            .tx
            .keys_with_prefix(tree, prefix)?
            .iter()
            .filter_map(|key| keys::trailing_id(key))
            .map(record)
            .collect())
    }

    fn unindex(&self, key: &RecordKey) -> Result<(), WriteError> {
        if !indexed(key) {
            return Ok(());
        }
        if let Some(old) = self.get(key)? {
            for (tree, entry, _) in index_entries(&old) {
                self.tx.del(tree, &entry)?;
            }
        }
        Ok(())
    }
}

impl WriteTx for SledWriteTx<'_, '_> {
    fn get(&self, key: &RecordKey) -> Result<Option<Record>, WriteError> {
        let (tree, k) = locate(key);
        match self.tx.get(tree, &k)? {
            Some(bytes) => read_record(key, tree, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn find(&self, unique: Unique<'_>) -> Result<Option<u64>, WriteError> {
        let (tree, key) = match unique {
            Unique::UserHandle(handle) => (T::UsersByHandle, handle.as_bytes().to_vec()),
            Unique::ProjectKey(key) => (T::ProjectsByKey, key.as_bytes().to_vec()),
            Unique::IssueNumber { project, number } => {
                (T::IssuesByNumber, keys::pair(project, number).to_vec())
            }
        };
        Ok(self
            .tx
            .get(tree, &key)?
            .and_then(|id| keys::read_u64(&id, 0)))
    }

    fn scan(&self, scan: Scan<'_>) -> Result<Vec<RecordKey>, WriteError> {
        Ok(match scan {
            Scan::KeysOf(user) => self
                .tx
                .keys_with_prefix(T::KeysByUser, &keys::id(user))?
                .iter()
                .filter_map(|key| std::str::from_utf8(key.get(8..)?).ok())
                .map(|fingerprint| RecordKey::Key(fingerprint.to_owned()))
                .collect(),
            Scan::ClaimsOn(fingerprint) => self.keys_by_id(
                T::PendingKeys,
                &keys::pending_key_prefix(fingerprint),
                |owner| RecordKey::PendingKey {
                    fingerprint: fingerprint.to_owned(),
                    owner,
                },
            )?,
            Scan::AssignedTo(user) => {
                self.keys_by_id(T::IdxAssignee, &keys::id(user), RecordKey::Issue)?
            }
            Scan::Issues => self.keys_by_id(T::Issues, &[], RecordKey::Issue)?,
            Scan::CommentsOf(issue) => {
                self.keys_by_id(T::CommentsByIssue, &keys::id(issue), RecordKey::Comment)?
            }
            Scan::Comments => self.keys_by_id(T::Comments, &[], RecordKey::Comment)?,
            Scan::NotificationsOf(user) => {
                self.keys_by_id(T::Notifications, &keys::id(user), |id| {
                    RecordKey::Notification { user, id }
                })?
            }
            Scan::WebhooksOf(project) => {
                self.keys_by_id(T::Webhooks, &keys::id(project), |id| RecordKey::Webhook {
                    project,
                    id,
                })?
            }
            Scan::DeliveriesOf(hook) => self.keys_by_id(T::Deliveries, &keys::id(hook), |id| {
                RecordKey::Delivery { hook, id }
            })?,
        })
    }

    fn last_rank(&self, project: u64, state: u32) -> Result<Option<String>, WriteError> {
        let column = keys::board_column(project, state);
        Ok(self
            .tx
            .last_key_with_prefix(T::IdxBoard, &column)?
            .and_then(|key| keys::board_rank(&key).map(str::to_owned)))
    }

    fn put(&mut self, record: Record) -> Result<(), WriteError> {
        self.unindex(&record.key())?;
        self.insert(record)
    }

    fn insert(&mut self, record: Record) -> Result<(), WriteError> {
        let key = record.key();
        for (tree, entry, value) in index_entries(&record) {
            self.tx.put(tree, &entry, &value)?;
        }
        let (tree, k) = locate(&key);
        self.tx.put(tree, &k, &record_bytes(&record))
    }

    fn delete(&mut self, key: &RecordKey) -> Result<(), WriteError> {
        self.unindex(key)?;
        let (tree, k) = locate(key);
        self.tx.del(tree, &k)
    }

    fn next_id(&mut self, counter: Counter) -> u64 {
        let slot = self.counters.slot(counter);
        match counter {
            // The sequence counter holds the last number given, the others the next.
            Counter::Seq => {
                *slot += 1;
                *slot
            }
            _ => {
                let id = *slot;
                *slot += 1;
                id
            }
        }
    }
}
