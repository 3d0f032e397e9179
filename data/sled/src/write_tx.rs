//! The write planner's transaction on sled: each collection is a tree, each secondary index a
//! tree of keys beside it, kept in step here whenever a record is put or deleted. Changes go to
//! the writer's staging overlay ([`Tx`]); ids come from counters the writer thread owns.

use tack_protocol::Issue;

use crate::WriteError;
use crate::keys;
use crate::plan::{Counter, Record, RecordKey, Scan, Unique, WriteTx};
use crate::staging::Tx;
use crate::trees::{self, T};
use tack_data::record_form::{self, meta, read_record, value_bytes};

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

/// The tree and key a record lives under: its collection's tree, its key in the record form.
fn locate(key: &RecordKey) -> (T, Vec<u8>) {
    let tree = match key {
        RecordKey::User(_) => T::Users,
        RecordKey::Key(_) => T::Keys,
        RecordKey::PendingKey { .. } => T::PendingKeys,
        RecordKey::Token(_) => T::Tokens,
        RecordKey::Invite(_) => T::Invites,
        RecordKey::Project(_) => T::Projects,
        RecordKey::Issue(_) => T::Issues,
        RecordKey::Comment(_) => T::Comments,
        RecordKey::Activity(_) => T::Activity,
        RecordKey::Totp(_) => T::Totp,
        RecordKey::Notification { .. } => T::Notifications,
        RecordKey::Watcher { .. } => T::Watchers,
        RecordKey::Job(_) => T::Jobs,
        RecordKey::Webhook { .. } => T::Webhooks,
        RecordKey::Delivery { .. } => T::Deliveries,
        RecordKey::Settings(_) => T::UserSettings,
        RecordKey::Dedupe(_) => T::Dedupe,
        RecordKey::View(_) => T::Views,
        RecordKey::Import { .. } => T::Imports,
    };
    debug_assert_eq!(trees::name(tree), record_form::collection(key));
    (tree, record_form::key_bytes(key))
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
            Some(bytes) => read_record(key, &bytes).map(Some).map_err(WriteError::from),
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
        self.tx.put(tree, &k, &value_bytes(&record))
    }

    fn delete(&mut self, key: &RecordKey) -> Result<(), WriteError> {
        self.unindex(key)?;
        let (tree, k) = locate(key);
        self.tx.del(tree, &k)
    }

    fn next_id(&mut self, counter: Counter) -> u64 {
        meta::take(counter, self.counters.slot(counter))
    }
}
