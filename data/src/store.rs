//! The seam between the service and an engine: every read, the write queue, and the store's
//! health, as one async, object-safe trait. The service holds an `Arc<dyn Store>` and decides
//! nothing about how an engine runs its I/O.

use async_trait::async_trait;
use tack_protocol::{
    Activity, Comment, CommentId, Delivery, Event, Issue, IssueId, Job, JobState, Project,
    ProjectId, SshKey, Timestamp, User, UserId, UserSettings,
};

use crate::BackupInfo;
use crate::records::{PendingKey, StoredInvite, StoredToken, StoredWebhook, TotpRecord};
use crate::{CommitListener, IntegrityReport, StoreError, StoreHealth, Ticket, Write};

#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError>;
    async fn user_by_handle(&self, handle: &str) -> Result<Option<User>, StoreError>;
    async fn users(&self) -> Result<Vec<User>, StoreError>;
    async fn user_settings(&self, user: UserId) -> Result<UserSettings, StoreError>;

    async fn key(&self, fingerprint: &str) -> Result<Option<SshKey>, StoreError>;
    async fn keys_of(&self, user: UserId) -> Result<Vec<SshKey>, StoreError>;
    async fn all_keys(&self) -> Result<Vec<SshKey>, StoreError>;
    /// Unconfirmed claims on a key, by whoever made them.
    async fn pending_keys(&self, fingerprint: &str) -> Result<Vec<PendingKey>, StoreError>;

    async fn token(&self, id: &str) -> Result<Option<StoredToken>, StoreError>;
    async fn tokens(&self, user: Option<UserId>) -> Result<Vec<StoredToken>, StoreError>;
    async fn invite(&self, id: &str) -> Result<Option<StoredInvite>, StoreError>;
    async fn invites(&self) -> Result<Vec<StoredInvite>, StoreError>;
    async fn totp(&self, user: UserId) -> Result<Option<TotpRecord>, StoreError>;

    async fn watchers(&self, issue: IssueId) -> Result<Vec<UserId>, StoreError>;
    /// A user's notifications, newest first.
    async fn notifications(
        &self,
        user: UserId,
        unread_only: bool,
        limit: usize,
    ) -> Result<Vec<tack_protocol::Notification>, StoreError>;

    async fn project(&self, id: ProjectId) -> Result<Option<Project>, StoreError>;
    async fn project_by_key(&self, key: &str) -> Result<Option<Project>, StoreError>;
    async fn projects(&self) -> Result<Vec<Project>, StoreError>;

    async fn issue(&self, id: IssueId) -> Result<Option<Issue>, StoreError>;
    /// The issues of `ids` that exist, in the order asked.
    async fn issues_by_id(&self, ids: &[IssueId]) -> Result<Vec<Issue>, StoreError>;
    async fn issue_by_number(
        &self,
        project: ProjectId,
        number: u64,
    ) -> Result<Option<Issue>, StoreError>;
    /// A project's issues, grouped by state id and ordered by rank within each state.
    async fn issues_of_project(&self, project: ProjectId) -> Result<Vec<Issue>, StoreError>;
    async fn issues_in_state(
        &self,
        project: ProjectId,
        state: u32,
    ) -> Result<Vec<Issue>, StoreError>;
    async fn issues_assigned_to(&self, user: UserId) -> Result<Vec<Issue>, StoreError>;
    async fn issues_labelled(
        &self,
        project: ProjectId,
        label: &str,
    ) -> Result<Vec<Issue>, StoreError>;

    async fn comment(&self, id: CommentId) -> Result<Option<Comment>, StoreError>;
    async fn comments_of(&self, issue: IssueId) -> Result<Vec<Comment>, StoreError>;

    async fn activity_after(&self, after: u64, limit: usize) -> Result<Vec<Activity>, StoreError>;
    /// Activity entries before `before` (a sequence; all when `None`), newest first.
    async fn activity_before(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Activity>, StoreError>;
    async fn activity_of_issue(&self, issue: IssueId) -> Result<Vec<Activity>, StoreError>;
    async fn activity_of_project(
        &self,
        project: ProjectId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Activity>, StoreError>;
    /// Events after `after`, rebuilt from the activity log with each record as it is now.
    async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Event>, StoreError>;
    /// The newest durable event's sequence.
    async fn last_seq(&self) -> Result<u64, StoreError>;

    /// Jobs in id order, optionally in one state (`Running` is known only to the workers, so
    /// the store answers it with the queued ones).
    async fn jobs(&self, state: Option<JobState>) -> Result<Vec<Job>, StoreError>;
    async fn job(&self, id: u64) -> Result<Option<Job>, StoreError>;
    /// Queued jobs whose time has come, earliest first.
    async fn due_jobs(&self, now: Timestamp, limit: usize) -> Result<Vec<Job>, StoreError>;
    /// Due jobs this node may run now, earliest first, each taken for `lease` so that no other
    /// node sharing the store runs it meanwhile (a node that dies mid-job gives it up when the
    /// lease ends). An engine that only one node opens has nobody to share with: the due jobs.
    async fn claim_due_jobs(
        &self,
        now: Timestamp,
        limit: usize,
        lease: std::time::Duration,
    ) -> Result<Vec<Job>, StoreError> {
        let _ = lease;
        self.due_jobs(now, limit).await
    }
    /// The SSH host key every node sharing this store presents, so a balancer may send a
    /// person to any node without a warning: the one kept, or `candidate` (this node's own)
    /// if none is kept yet. `None`: the engine keeps none, as one node alone needs none kept.
    async fn shared_host_key(&self, candidate: &str) -> Result<Option<String>, StoreError> {
        let _ = candidate;
        Ok(None)
    }

    /// Takes one of `user`'s at most `limit` places for a live SSH session, counted over every
    /// node sharing this store: true if one was free. The place is held until `lease` from
    /// now unless renewed, so a node that dies frees its people's places. `None`: the engine
    /// is opened by one node alone, whose own count of sessions decides.
    async fn claim_session(
        &self,
        session: u64,
        user: UserId,
        limit: usize,
        lease: std::time::Duration,
    ) -> Result<Option<bool>, StoreError> {
        let _ = (session, user, limit, lease);
        Ok(None)
    }
    /// Gives a session's place back when it ends.
    async fn release_session(&self, session: u64) -> Result<(), StoreError> {
        let _ = session;
        Ok(())
    }
    /// Holds the places of this node's `live` sessions for `lease` more, and gives up any
    /// other place it holds.
    async fn renew_sessions(
        &self,
        live: &[u64],
        lease: std::time::Duration,
    ) -> Result<(), StoreError> {
        let _ = (live, lease);
        Ok(())
    }

    /// When the earliest queued job may run.
    async fn next_job_at(&self) -> Result<Option<Timestamp>, StoreError>;
    async fn webhooks_of(&self, project: ProjectId) -> Result<Vec<StoredWebhook>, StoreError>;
    async fn webhook(&self, id: u64) -> Result<Option<StoredWebhook>, StoreError>;
    /// A webhook's delivery attempts, newest first.
    async fn deliveries(&self, hook: u64, limit: usize) -> Result<Vec<Delivery>, StoreError>;
    async fn views(&self) -> Result<Vec<tack_protocol::SavedView>, StoreError>;

    /// Queues a write; the ticket resolves once it is durable (or refused).
    fn submit(&self, write: Write) -> Ticket<Vec<Event>>;
    /// Installs the callback that sees every committed event, in order, before its write is
    /// acknowledged.
    fn set_commit_listener(&self, listener: CommitListener);
    /// Whether the store takes writes now, and why not.
    fn health(&self) -> StoreHealth;

    /// A consistent online snapshot of the whole store into one file.
    fn backup(&self, path: &std::path::Path) -> Ticket<BackupInfo>;
    async fn verify(&self) -> Result<IntegrityReport, StoreError>;
    async fn size_on_disk(&self) -> Result<u64, StoreError>;
    /// Stops taking writes once the queued ones are durable.
    async fn shutdown(&self);
}
