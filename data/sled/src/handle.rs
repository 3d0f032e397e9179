//! `SledStore`: the [`Store`] trait over the sled engine. sled's reads are synchronous (they
//! are answered from its page cache in microseconds, but a miss reads the disk), so each runs on
//! the blocking pool rather than on the async runtime's threads.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use tack_protocol::{
    Activity, Comment, CommentId, Delivery, Event, Issue, IssueId, Job, JobState, Project,
    ProjectId, SshKey, Timestamp, User, UserId, UserSettings,
};

use crate::BackupInfo;
use crate::records::{PendingKey, StoredInvite, StoredToken, StoredWebhook, TotpRecord};
use crate::{
    CommitListener, IntegrityReport, SledEngine, Store, StoreConfig, StoreError, StoreHealth,
    Ticket, Write,
};

/// A shared handle on an open sled engine.
#[derive(Clone)]
pub struct SledStore {
    engine: Arc<SledEngine>,
}

/// Runs one engine read on the blocking pool, after refusing it if the store has failed.
macro_rules! on_pool {
    ($self:ident, |$engine:ident| $read:expr) => {{
        $self.healthy()?;
        let $engine = $self.engine.clone();
        tokio::task::spawn_blocking(move || $read)
            .await
            .map_err(|err| StoreError::Engine(format!("a store read did not finish: {err}")))?
    }};
}

impl SledStore {
    pub fn open(config: &StoreConfig) -> Result<SledStore, StoreError> {
        Ok(SledStore {
            engine: Arc::new(SledEngine::open(config)?),
        })
    }

    /// The engine itself, for tools and tests that read synchronously.
    pub fn engine(&self) -> &SledEngine {
        &self.engine
    }

    /// A failed store may hold writes it refused: nothing it says can be trusted any more.
    fn healthy(&self) -> Result<(), StoreError> {
        match self.engine.health() {
            StoreHealth::Failed(reason) => Err(StoreError::Unavailable(reason)),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl Store for SledStore {
    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        on_pool!(self, |engine| engine.user(id))
    }

    async fn user_by_handle(&self, handle: &str) -> Result<Option<User>, StoreError> {
        let handle = handle.to_owned();
        on_pool!(self, |engine| engine.user_by_handle(&handle))
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        on_pool!(self, |engine| engine.users())
    }

    async fn user_settings(&self, user: UserId) -> Result<UserSettings, StoreError> {
        on_pool!(self, |engine| engine.user_settings(user))
    }

    async fn key(&self, fingerprint: &str) -> Result<Option<SshKey>, StoreError> {
        let fingerprint = fingerprint.to_owned();
        on_pool!(self, |engine| engine.key(&fingerprint))
    }

    async fn keys_of(&self, user: UserId) -> Result<Vec<SshKey>, StoreError> {
        on_pool!(self, |engine| engine.keys_of(user))
    }

    async fn all_keys(&self) -> Result<Vec<SshKey>, StoreError> {
        on_pool!(self, |engine| engine.all_keys())
    }

    async fn pending_keys(&self, fingerprint: &str) -> Result<Vec<PendingKey>, StoreError> {
        let fingerprint = fingerprint.to_owned();
        on_pool!(self, |engine| engine.pending_keys(&fingerprint))
    }

    async fn token(&self, id: &str) -> Result<Option<StoredToken>, StoreError> {
        let id = id.to_owned();
        on_pool!(self, |engine| engine.token(&id))
    }

    async fn tokens(&self, user: Option<UserId>) -> Result<Vec<StoredToken>, StoreError> {
        on_pool!(self, |engine| engine.tokens(user))
    }

    async fn invite(&self, id: &str) -> Result<Option<StoredInvite>, StoreError> {
        let id = id.to_owned();
        on_pool!(self, |engine| engine.invite(&id))
    }

    async fn invites(&self) -> Result<Vec<StoredInvite>, StoreError> {
        on_pool!(self, |engine| engine.invites())
    }

    async fn totp(&self, user: UserId) -> Result<Option<TotpRecord>, StoreError> {
        on_pool!(self, |engine| engine.totp(user))
    }

    async fn watchers(&self, issue: IssueId) -> Result<Vec<UserId>, StoreError> {
        on_pool!(self, |engine| engine.watchers(issue))
    }

    async fn notifications(
        &self,
        user: UserId,
        unread_only: bool,
        limit: usize,
    ) -> Result<Vec<tack_protocol::Notification>, StoreError> {
        on_pool!(self, |engine| engine.notifications(
            user,
            unread_only,
            limit
        ))
    }

    async fn project(&self, id: ProjectId) -> Result<Option<Project>, StoreError> {
        on_pool!(self, |engine| engine.project(id))
    }

    async fn project_by_key(&self, key: &str) -> Result<Option<Project>, StoreError> {
        let key = key.to_owned();
        on_pool!(self, |engine| engine.project_by_key(&key))
    }

    async fn projects(&self) -> Result<Vec<Project>, StoreError> {
        on_pool!(self, |engine| engine.projects())
    }

    async fn issue(&self, id: IssueId) -> Result<Option<Issue>, StoreError> {
        on_pool!(self, |engine| engine.issue(id))
    }

    async fn issues_by_id(&self, ids: &[IssueId]) -> Result<Vec<Issue>, StoreError> {
        let ids = ids.to_vec();
        on_pool!(self, |engine| engine.issues_by_id(&ids))
    }

    async fn issue_by_number(
        &self,
        project: ProjectId,
        number: u64,
    ) -> Result<Option<Issue>, StoreError> {
        on_pool!(self, |engine| engine.issue_by_number(project, number))
    }

    async fn issues_of_project(&self, project: ProjectId) -> Result<Vec<Issue>, StoreError> {
        on_pool!(self, |engine| engine.issues_of_project(project))
    }

    async fn issues_in_state(
        &self,
        project: ProjectId,
        state: u32,
    ) -> Result<Vec<Issue>, StoreError> {
        on_pool!(self, |engine| engine.issues_in_state(project, state))
    }

    async fn issues_assigned_to(&self, user: UserId) -> Result<Vec<Issue>, StoreError> {
        on_pool!(self, |engine| engine.issues_assigned_to(user))
    }

    async fn issues_labelled(
        &self,
        project: ProjectId,
        label: &str,
    ) -> Result<Vec<Issue>, StoreError> {
        let label = label.to_owned();
        on_pool!(self, |engine| engine.issues_labelled(project, &label))
    }

    async fn comment(&self, id: CommentId) -> Result<Option<Comment>, StoreError> {
        on_pool!(self, |engine| engine.comment(id))
    }

    async fn comments_of(&self, issue: IssueId) -> Result<Vec<Comment>, StoreError> {
        on_pool!(self, |engine| engine.comments_of(issue))
    }

    async fn activity_after(&self, after: u64, limit: usize) -> Result<Vec<Activity>, StoreError> {
        on_pool!(self, |engine| engine.activity_after(after, limit))
    }

    async fn activity_before(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Activity>, StoreError> {
        on_pool!(self, |engine| engine.activity_before(before, limit))
    }

    async fn activity_of_issue(&self, issue: IssueId) -> Result<Vec<Activity>, StoreError> {
        on_pool!(self, |engine| engine.activity_of_issue(issue))
    }

    async fn activity_of_project(
        &self,
        project: ProjectId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Activity>, StoreError> {
        on_pool!(self, |engine| engine
            .activity_of_project(project, after, limit))
    }

    async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
        on_pool!(self, |engine| engine.events_after(after, limit))
    }

    async fn last_seq(&self) -> Result<u64, StoreError> {
        self.healthy()?;
        Ok(self.engine.last_seq())
    }

    async fn jobs(&self, state: Option<JobState>) -> Result<Vec<Job>, StoreError> {
        on_pool!(self, |engine| engine.jobs(state))
    }

    async fn job(&self, id: u64) -> Result<Option<Job>, StoreError> {
        on_pool!(self, |engine| engine.job(id))
    }

    async fn due_jobs(&self, now: Timestamp, limit: usize) -> Result<Vec<Job>, StoreError> {
        on_pool!(self, |engine| engine.due_jobs(now, limit))
    }

    async fn next_job_at(&self) -> Result<Option<Timestamp>, StoreError> {
        on_pool!(self, |engine| engine.next_job_at())
    }

    async fn webhooks_of(&self, project: ProjectId) -> Result<Vec<StoredWebhook>, StoreError> {
        on_pool!(self, |engine| engine.webhooks_of(project))
    }

    async fn webhook(&self, id: u64) -> Result<Option<StoredWebhook>, StoreError> {
        on_pool!(self, |engine| engine.webhook(id))
    }

    async fn deliveries(&self, hook: u64, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        on_pool!(self, |engine| engine.deliveries(hook, limit))
    }

    async fn views(&self) -> Result<Vec<tack_protocol::SavedView>, StoreError> {
        on_pool!(self, |engine| engine.views())
    }

    async fn verify(&self) -> Result<IntegrityReport, StoreError> {
        on_pool!(self, |engine| engine.verify())
    }

    async fn size_on_disk(&self) -> Result<u64, StoreError> {
        on_pool!(self, |engine| engine.size_on_disk())
    }

    fn submit(&self, write: Write) -> Ticket<Vec<Event>> {
        self.engine.submit(write)
    }

    fn set_commit_listener(&self, listener: CommitListener) {
        self.engine.set_commit_listener(listener);
    }

    fn health(&self) -> StoreHealth {
        self.engine.health()
    }

    fn backup(&self, path: &Path) -> Ticket<BackupInfo> {
        self.engine.backup(path)
    }

    async fn shutdown(&self) {
        let engine = self.engine.clone();
        if let Err(err) = tokio::task::spawn_blocking(move || engine.shutdown()).await {
            tracing::error!(error = %err, "the store did not shut down cleanly");
        }
    }
}
