//! tack's store, whatever engine holds it: the [`Store`] trait the service talks to, the writes
//! it queues ([`Write`], [`Op`]) and what each one means ([`plan`]), the stored record types, and
//! the conformance suite every engine passes. The engines live beside it (`data/sled`).

pub mod backup_file;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod event_record;
pub mod plan;
pub mod record_form;
pub mod records;
mod store;
pub mod stored;
mod ticket;
mod upkeep;

pub use records::{PendingKey, StoredInvite, StoredToken, StoredWebhook, TotpRecord};
pub use store::Store;
pub use ticket::{CommitListener, Ticket};
pub use upkeep::{BackupInfo, IntegrityReport, StoreHealth};

/// The schema this build writes: a store or backup of a newer one is refused.
pub const CURRENT_SCHEMA: u32 = 2;

use tack_protocol::{
    ActivityKind, Actor, Comment, CommentId, Delivery, FieldChange, Issue, IssueId, JobKind,
    Project, ProjectId, SshKey, Timestamp, User, UserId, UserSettings,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store error: {0}")]
    Engine(String),
    #[error("corrupt record in {tree}: {reason}")]
    Corrupt { tree: &'static str, reason: String },
    #[error(
        "the store at {path} has schema version {found}, newer than this tack understands ({supported}); run a newer tack"
    )]
    TooNew {
        path: String,
        found: u32,
        supported: u32,
    },
    #[error("{0}")]
    Backup(String),
    /// Another process holds the store's lock.
    #[error("the store at {path} is in use by another process")]
    InUse { path: String },
    #[error(
        "the store at {path} ends at event {store_seq}, but events up to {acked_seq} were acknowledged: part of its log is lost or damaged. Restore the newest backup (`tack restore FILE --data NEWDIR`), or copy what is readable into a new store (`tack doctor --salvage --out NEWDIR`)"
    )]
    LostTail {
        path: String,
        store_seq: u64,
        acked_seq: u64,
    },
    #[error(
        "the store at {path} is damaged: opening it failed inside sled ({reason}). Restore the newest backup (`tack restore FILE --data NEWDIR`)"
    )]
    Unopenable { path: String, reason: String },
    /// The store failed (its writes can no longer be trusted), so it answers no reads either.
    #[error("{0}")]
    Unavailable(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Why a write was not applied.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    #[error("{} was changed by someone else (now version {})", current.key, current.version)]
    Conflict { current: Box<Issue> },
    #[error("{field} '{value}' is already taken")]
    Taken { field: &'static str, value: String },
    #[error("{0} does not exist")]
    Missing(String),
    #[error("{0}")]
    Rejected(String),
    /// The engine failed; the source says how.
    #[error(transparent)]
    Store(std::sync::Arc<StoreError>),
    #[error("the store is shutting down")]
    ShuttingDown,
    /// Not attempted: the store cannot take writes now (a full disk), or at all (it failed).
    #[error("{0}")]
    Unavailable(String),
}

/// One change to commit. Each op, its index entries and its activity entries commit in one
/// transaction, and the write is acknowledged only once it is durable.
#[derive(Debug, Clone)]
pub struct Write {
    pub actor: Actor,
    pub at: Timestamp,
    pub op: Op,
    /// The before → after of the fields this write changes, for the activity log.
    pub changes: Vec<FieldChange>,
    /// Who starts watching the issue this write is about, and who is told about it.
    pub follow: Follow,
}

/// Inbox side effects of a change to an issue, committed with it.
#[derive(Debug, Clone, Default)]
pub struct Follow {
    pub watchers: Vec<UserId>,
    pub notify: Vec<(UserId, tack_protocol::NotificationKind)>,
}

#[derive(Debug, Clone)]
pub enum Op {
    /// Creates a user (id allocated here), optionally with a first key and token, and marks the
    /// invite it came from as redeemed, all at once.
    CreateUser {
        user: User,
        key: Option<SshKey>,
        token: Option<StoredToken>,
        invite: Option<String>,
    },
    UpdateUser(User),
    AddKey(SshKey),
    /// A key its adder has yet to prove theirs (see [`PendingKey`]); one claim per person.
    AddPendingKey(PendingKey),
    /// The holder of a pending key entered its code: it becomes `owner`'s key, and every other
    /// claim on it goes.
    ConfirmKey {
        fingerprint: String,
        owner: UserId,
    },
    RemoveKey {
        fingerprint: String,
    },
    TouchKey {
        fingerprint: String,
    },
    PutToken {
        token: StoredToken,
        kind: ActivityKind,
    },
    PutInvite {
        invite: StoredInvite,
        kind: ActivityKind,
    },
    CreateProject(Project),
    UpdateProject {
        project: Project,
        kind: ActivityKind,
    },
    /// Id, number, key, rank tail and version are assigned here.
    CreateIssue(Issue),
    /// Applied only if the stored issue is still at `expected_version`. An empty rank puts the
    /// issue at the bottom of its (new) column.
    UpdateIssue {
        issue: Issue,
        expected_version: u64,
    },
    /// Rewrites a project and moves many of its issues at once (removing a workflow state).
    UpdateProjectAndIssues {
        project: Project,
        issues: Vec<Issue>,
    },
    DeleteIssue {
        id: IssueId,
    },
    /// A comment with id 0 is new.
    PutComment(Comment),
    DeleteComment {
        id: CommentId,
    },
    /// Enrols, confirms or disables a second factor, or records a used code (`logged` false:
    /// no activity entry for every login).
    PutTotp {
        record: TotpRecord,
        logged: bool,
    },
    /// Marks a user's notifications read (all of them when `ids` is empty). Not logged.
    MarkRead {
        user: UserId,
        ids: Vec<u64>,
    },
    /// Starts or stops a user watching an issue. Not logged.
    Watch {
        issue: IssueId,
        user: UserId,
        watch: bool,
    },
    /// Queues a scheduled job, once per `key`. Not logged.
    EnqueueJob {
        kind: JobKind,
        key: String,
        run_at: Timestamp,
    },
    /// Records a job's outcome (and a webhook's delivery attempt). Not logged.
    FinishJob {
        id: u64,
        outcome: JobOutcome,
        delivery: Option<Delivery>,
    },
    /// Puts a failed job back in the queue.
    RetryJob {
        id: u64,
    },
    DropJob {
        id: u64,
    },
    /// A webhook with id 0 is new.
    PutWebhook(StoredWebhook),
    DeleteWebhook {
        project: ProjectId,
        id: u64,
    },
    PutUserSettings {
        user: UserId,
        settings: UserSettings,
        logged: bool,
    },
    /// Deletes an account, revokes its tokens and moves its assignments.
    DeleteUser {
        id: UserId,
        reassign_to: Option<UserId>,
        tokens: Vec<StoredToken>,
    },
    /// Tells an issue's assignees it is due soon, once per due date.
    Remind {
        issue: IssueId,
        due: String,
    },
    /// A saved view with id 0 is new. Not logged.
    PutView(tack_protocol::SavedView),
    DeleteView {
        id: u64,
    },
    /// An issue as a source has it (number and dates kept, comments replaced), matched to an
    /// earlier import of the same `source` key.
    ImportIssue {
        issue: Issue,
        comments: Vec<Comment>,
        source: String,
    },
    /// Moves a placeholder person's issues, assignments and comments to another, then removes
    /// the placeholder.
    MergeUser {
        from: UserId,
        into: UserId,
    },
}

/// What became of one run of a job.
#[derive(Debug, Clone)]
pub enum JobOutcome {
    Done,
    /// Failed this time; runs again at `run_at`.
    Retry {
        run_at: Timestamp,
        error: String,
    },
    /// Failed for the last time: dead-lettered.
    Failed {
        error: String,
    },
    /// Not attempted (its endpoint's breaker is open); runs at `run_at`.
    Postpone {
        run_at: Timestamp,
    },
}

impl From<StoreError> for WriteError {
    fn from(err: StoreError) -> Self {
        WriteError::Store(std::sync::Arc::new(err))
    }
}
