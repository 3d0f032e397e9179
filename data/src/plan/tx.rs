//! The engine's write transaction as the write planner sees it: records by collection, the few
//! lookups the rules need, and id counters. Reads see everything staged before them in the same
//! transaction. An engine keeps its own indexes: putting an issue moves its board, assignee,
//! label and number entries; putting an activity entry files it under its issue and project.

use tack_protocol::{
    Activity, Comment, CommentId, Delivery, Issue, IssueId, Job, Notification, Project, ProjectId,
    SavedView, SshKey, Timestamp, User, UserId, UserSettings,
};

use crate::WriteError;
use crate::records::{PendingKey, StoredInvite, StoredToken, StoredWebhook, TotpRecord};

/// One stored record, named by its collection.
#[derive(Debug, Clone)]
pub enum Record {
    User(User),
    Key(SshKey),
    PendingKey(PendingKey),
    Token(StoredToken),
    Invite(StoredInvite),
    Project(Project),
    Issue(Issue),
    Comment(Comment),
    Activity(Activity),
    Totp(TotpRecord),
    Notification(Notification),
    Watcher {
        issue: IssueId,
        user: UserId,
    },
    Job(Job),
    Webhook(StoredWebhook),
    Delivery(Delivery),
    Settings {
        user: UserId,
        settings: UserSettings,
    },
    /// A scheduled job or reminder that already happened, by its key.
    Dedupe {
        key: String,
        at: Timestamp,
    },
    View(SavedView),
    /// The issue an import of `source` into `project` made.
    Import {
        project: ProjectId,
        source: String,
        issue: IssueId,
    },
}

/// Where a record lives: its collection and its primary key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum RecordKey {
    User(UserId),
    Key(String),
    PendingKey { fingerprint: String, owner: UserId },
    Token(String),
    Invite(String),
    Project(ProjectId),
    Issue(IssueId),
    Comment(CommentId),
    Activity(u64),
    Totp(UserId),
    Notification { user: UserId, id: u64 },
    Watcher { issue: IssueId, user: UserId },
    Job(u64),
    Webhook { project: ProjectId, id: u64 },
    Delivery { hook: u64, id: u64 },
    Settings(UserId),
    Dedupe(String),
    View(u64),
    Import { project: ProjectId, source: String },
}

impl Record {
    pub fn key(&self) -> RecordKey {
        match self {
            Record::User(user) => RecordKey::User(user.id),
            Record::Key(key) => RecordKey::Key(key.fingerprint.clone()),
            Record::PendingKey(pending) => RecordKey::PendingKey {
                fingerprint: pending.key.fingerprint.clone(),
                owner: pending.key.owner,
            },
            Record::Token(token) => RecordKey::Token(token.token.id.clone()),
            Record::Invite(invite) => RecordKey::Invite(invite.invite.id.clone()),
            Record::Project(project) => RecordKey::Project(project.id),
            Record::Issue(issue) => RecordKey::Issue(issue.id),
            Record::Comment(comment) => RecordKey::Comment(comment.id),
            Record::Activity(activity) => RecordKey::Activity(activity.seq),
            Record::Totp(totp) => RecordKey::Totp(totp.user),
            Record::Notification(n) => RecordKey::Notification {
                user: n.user,
                id: n.id,
            },
            Record::Watcher { issue, user } => RecordKey::Watcher {
                issue: *issue,
                user: *user,
            },
            Record::Job(job) => RecordKey::Job(job.id),
            Record::Webhook(hook) => RecordKey::Webhook {
                project: hook.hook.project,
                id: hook.hook.id,
            },
            Record::Delivery(delivery) => RecordKey::Delivery {
                hook: delivery.hook,
                id: delivery.id,
            },
            Record::Settings { user, .. } => RecordKey::Settings(*user),
            Record::Dedupe { key, .. } => RecordKey::Dedupe(key.clone()),
            Record::View(view) => RecordKey::View(view.id),
            Record::Import {
                project, source, ..
            } => RecordKey::Import {
                project: *project,
                source: source.clone(),
            },
        }
    }
}

/// A unique secondary key: what it finds is the id of one record.
#[derive(Debug, Clone)]
pub enum Unique<'a> {
    UserHandle(&'a str),
    ProjectKey(&'a str),
    IssueNumber { project: ProjectId, number: u64 },
}

/// Records found by a secondary index or a whole collection, as keys in the index's order.
#[derive(Debug, Clone)]
pub enum Scan<'a> {
    KeysOf(UserId),
    /// Everyone's unconfirmed claim on the key with this fingerprint.
    ClaimsOn(&'a str),
    AssignedTo(UserId),
    Issues,
    CommentsOf(IssueId),
    Comments,
    NotificationsOf(UserId),
    WebhooksOf(ProjectId),
    /// Oldest first.
    DeliveriesOf(u64),
}

/// The id sequences; `Seq` numbers the activity log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    User,
    Project,
    Issue,
    Comment,
    Job,
    Webhook,
    Delivery,
    View,
    Seq,
}

/// What an engine offers the write planner inside one transaction.
pub trait WriteTx {
    fn get(&self, key: &RecordKey) -> Result<Option<Record>, WriteError>;
    fn find(&self, unique: Unique<'_>) -> Result<Option<u64>, WriteError>;
    fn scan(&self, scan: Scan<'_>) -> Result<Vec<RecordKey>, WriteError>;
    /// The rank of the last card in a board column.
    fn last_rank(&self, project: ProjectId, state: u32) -> Result<Option<String>, WriteError>;
    /// Stores a record, in place of the one under its key if there is one.
    fn put(&mut self, record: Record) -> Result<(), WriteError>;
    /// Stores a record under a key no record has had (a fresh id or sequence number), so
    /// there is nothing to replace.
    fn insert(&mut self, record: Record) -> Result<(), WriteError>;
    fn delete(&mut self, key: &RecordKey) -> Result<(), WriteError>;
    /// The next id of a sequence; a refused write gives back what it took.
    fn next_id(&mut self, counter: Counter) -> u64;
}

/// The error for an engine that answers a key with a record of another collection.
fn mismatch(key: &RecordKey) -> WriteError {
    crate::StoreError::Engine(format!(
        "the store answered {key:?} with another kind of record"
    ))
    .into()
}

macro_rules! typed_reads {
    ($($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) -> $out:ty = $key:expr, $variant:ident;)*) => {
        /// Typed reads over [`WriteTx::get`].
        impl dyn WriteTx + '_ {
            $(
                $(#[$doc])*
                pub fn $name(&self, $($arg: $ty),*) -> Result<Option<$out>, WriteError> {
                    let key = $key;
                    match self.get(&key)? {
                        None => Ok(None),
                        Some(Record::$variant(record)) => Ok(Some(record)),
                        Some(_) => Err(mismatch(&key)),
                    }
                }
            )*
        }
    };
}

typed_reads! {
    user(id: UserId) -> User = RecordKey::User(id), User;
    key(fingerprint: &str) -> SshKey = RecordKey::Key(fingerprint.to_owned()), Key;
    pending_key(fingerprint: &str, owner: UserId) -> PendingKey =
        RecordKey::PendingKey { fingerprint: fingerprint.to_owned(), owner }, PendingKey;
    invite(id: &str) -> StoredInvite = RecordKey::Invite(id.to_owned()), Invite;
    project(id: ProjectId) -> Project = RecordKey::Project(id), Project;
    issue(id: IssueId) -> Issue = RecordKey::Issue(id), Issue;
    comment(id: CommentId) -> Comment = RecordKey::Comment(id), Comment;
    notification(user: UserId, id: u64) -> Notification =
        RecordKey::Notification { user, id }, Notification;
    job(id: u64) -> Job = RecordKey::Job(id), Job;
    webhook(project: ProjectId, id: u64) -> StoredWebhook =
        RecordKey::Webhook { project, id }, Webhook;
}

impl dyn WriteTx + '_ {
    pub fn exists(&self, key: &RecordKey) -> Result<bool, WriteError> {
        Ok(self.get(key)?.is_some())
    }

    pub fn settings(&self, user: UserId) -> Result<UserSettings, WriteError> {
        match self.get(&RecordKey::Settings(user))? {
            None => Ok(UserSettings::default()),
            Some(Record::Settings { settings, .. }) => Ok(settings),
            Some(_) => Err(mismatch(&RecordKey::Settings(user))),
        }
    }

    pub fn imported(
        &self,
        project: ProjectId,
        source: &str,
    ) -> Result<Option<IssueId>, WriteError> {
        let key = RecordKey::Import {
            project,
            source: source.to_owned(),
        };
        match self.get(&key)? {
            None => Ok(None),
            Some(Record::Import { issue, .. }) => Ok(Some(issue)),
            Some(_) => Err(mismatch(&key)),
        }
    }

    pub fn require_user(&self, id: UserId) -> Result<User, WriteError> {
        self.user(id)?
            .ok_or_else(|| WriteError::Missing(format!("user #{id}")))
    }

    pub fn require_project(&self, id: ProjectId) -> Result<Project, WriteError> {
        self.project(id)?
            .ok_or_else(|| WriteError::Missing(format!("project #{id}")))
    }

    pub fn require_issue(&self, id: IssueId) -> Result<Issue, WriteError> {
        self.issue(id)?
            .ok_or_else(|| WriteError::Missing(format!("issue #{id}")))
    }

    pub fn require_job(&self, id: u64) -> Result<Job, WriteError> {
        self.job(id)?
            .ok_or_else(|| WriteError::Missing(format!("job #{id}")))
    }
}
