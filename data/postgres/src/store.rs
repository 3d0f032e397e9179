//! The [`Store`] trait over PostgreSQL: reads from the pool, writes to this node's writer.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use tack_data::records::{PendingKey, StoredInvite, StoredToken, StoredWebhook, TotpRecord};
use tack_data::{
    BackupInfo, CommitListener, IntegrityReport, Store, StoreError, StoreHealth, Ticket, Write,
};
use tack_protocol::{
    Activity, Comment, CommentId, Delivery, Event, Issue, IssueId, Job, JobState, Project,
    ProjectId, SshKey, Timestamp, User, UserId, UserSettings,
};

use crate::node::PgStore;
use crate::tables::{self, label_hash, n};

macro_rules! sql {
    ($self:ident, $how:ident, $collection:literal, $sql:literal $(, $param:expr)*) => {
        $self.seen($self.reads.$how($collection, $sql, &[$(&$param),*]).await)
    };
}

#[async_trait]
impl Store for PgStore {
    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        sql!(
            self,
            one,
            "users",
            "SELECT body FROM users WHERE id = $1",
            n(id)
        )
    }

    async fn user_by_handle(&self, handle: &str) -> Result<Option<User>, StoreError> {
        sql!(
            self,
            one,
            "users",
            "SELECT body FROM users WHERE handle = $1",
            handle
        )
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        sql!(self, all, "users", "SELECT body FROM users ORDER BY id")
    }

    async fn user_settings(&self, user: UserId) -> Result<UserSettings, StoreError> {
        let found: Option<UserSettings> = sql!(
            self,
            one,
            "user_settings",
            "SELECT body FROM user_settings WHERE user_id = $1",
            n(user)
        )?;
        Ok(found.unwrap_or_default())
    }

    async fn key(&self, fingerprint: &str) -> Result<Option<SshKey>, StoreError> {
        sql!(
            self,
            one,
            "keys",
            "SELECT body FROM keys WHERE fingerprint = $1",
            fingerprint
        )
    }

    async fn keys_of(&self, user: UserId) -> Result<Vec<SshKey>, StoreError> {
        sql!(
            self,
            all,
            "keys",
            "SELECT body FROM keys WHERE owner = $1 ORDER BY fingerprint",
            n(user)
        )
    }

    async fn all_keys(&self) -> Result<Vec<SshKey>, StoreError> {
        sql!(
            self,
            all,
            "keys",
            "SELECT body FROM keys ORDER BY fingerprint"
        )
    }

    async fn pending_keys(&self, fingerprint: &str) -> Result<Vec<PendingKey>, StoreError> {
        sql!(
            self,
            all,
            "pending_keys",
            "SELECT body FROM pending_keys WHERE fingerprint = $1 ORDER BY owner",
            fingerprint
        )
    }

    async fn token(&self, id: &str) -> Result<Option<StoredToken>, StoreError> {
        sql!(
            self,
            one,
            "tokens",
            "SELECT body FROM tokens WHERE id = $1",
            id
        )
    }

    async fn tokens(&self, user: Option<UserId>) -> Result<Vec<StoredToken>, StoreError> {
        let all: Vec<StoredToken> =
            sql!(self, all, "tokens", "SELECT body FROM tokens ORDER BY id")?;
        Ok(all
            .into_iter()
            .filter(|t| user.is_none_or(|u| t.token.user == u))
            .collect())
    }

    async fn invite(&self, id: &str) -> Result<Option<StoredInvite>, StoreError> {
        sql!(
            self,
            one,
            "invites",
            "SELECT body FROM invites WHERE id = $1",
            id
        )
    }

    async fn invites(&self) -> Result<Vec<StoredInvite>, StoreError> {
        sql!(self, all, "invites", "SELECT body FROM invites ORDER BY id")
    }

    async fn totp(&self, user: UserId) -> Result<Option<TotpRecord>, StoreError> {
        sql!(
            self,
            one,
            "totp",
            "SELECT body FROM totp WHERE user_id = $1",
            n(user)
        )
    }

    async fn watchers(&self, issue: IssueId) -> Result<Vec<UserId>, StoreError> {
        self.seen(
            self.reads
                .ids(
                    "SELECT user_id FROM watchers WHERE issue = $1 ORDER BY user_id",
                    &[&n(issue)],
                )
                .await,
        )
    }

    async fn notifications(
        &self,
        user: UserId,
        unread_only: bool,
        limit: usize,
    ) -> Result<Vec<tack_protocol::Notification>, StoreError> {
        let all: Vec<tack_protocol::Notification> = sql!(
            self,
            all,
            "notifications",
            "SELECT body FROM notifications WHERE user_id = $1 ORDER BY id DESC",
            n(user)
        )?;
        Ok(all
            .into_iter()
            .filter(|x| !(unread_only && x.read))
            .take(limit)
            .collect())
    }

    async fn project(&self, id: ProjectId) -> Result<Option<Project>, StoreError> {
        sql!(
            self,
            one,
            "projects",
            "SELECT body FROM projects WHERE id = $1",
            n(id)
        )
    }

    async fn project_by_key(&self, key: &str) -> Result<Option<Project>, StoreError> {
        sql!(
            self,
            one,
            "projects",
            "SELECT body FROM projects WHERE key = $1",
            key
        )
    }

    async fn projects(&self) -> Result<Vec<Project>, StoreError> {
        sql!(
            self,
            all,
            "projects",
            "SELECT body FROM projects ORDER BY id"
        )
    }

    async fn issue(&self, id: IssueId) -> Result<Option<Issue>, StoreError> {
        self.seen(self.reads.issue(id).await)
    }

    async fn issues_by_id(&self, ids: &[IssueId]) -> Result<Vec<Issue>, StoreError> {
        let wanted: Vec<i64> = ids.iter().map(|id| n(*id)).collect();
        let found: Vec<Issue> = sql!(
            self,
            all,
            "issues",
            "SELECT body FROM issues WHERE id = ANY($1)",
            wanted
        )?;
        let mut by_id: std::collections::HashMap<IssueId, Issue> =
            found.into_iter().map(|issue| (issue.id, issue)).collect();
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    async fn issue_by_number(
        &self,
        project: ProjectId,
        number: u64,
    ) -> Result<Option<Issue>, StoreError> {
        sql!(
            self,
            one,
            "issues",
            "SELECT body FROM issues WHERE project = $1 AND number = $2",
            n(project),
            n(number)
        )
    }

    async fn issues_of_project(&self, project: ProjectId) -> Result<Vec<Issue>, StoreError> {
        sql!(
            self,
            all,
            "issues",
            "SELECT body FROM issues WHERE project = $1 ORDER BY state, rank, id",
            n(project)
        )
    }

    async fn issues_in_state(
        &self,
        project: ProjectId,
        state: u32,
    ) -> Result<Vec<Issue>, StoreError> {
        sql!(
            self,
            all,
            "issues",
            "SELECT body FROM issues WHERE project = $1 AND state = $2 ORDER BY rank, id",
            n(project),
            state as i32
        )
    }

    async fn issues_assigned_to(&self, user: UserId) -> Result<Vec<Issue>, StoreError> {
        sql!(
            self,
            all,
            "issues",
            "SELECT body FROM issues WHERE assignees @> ARRAY[$1::bigint] ORDER BY id",
            n(user)
        )
    }

    async fn issues_labelled(
        &self,
        project: ProjectId,
        label: &str,
    ) -> Result<Vec<Issue>, StoreError> {
        let found: Vec<Issue> = sql!(
            self,
            all,
            "issues",
            "SELECT body FROM issues WHERE project = $1 AND label_hashes @> ARRAY[$2::bigint] \
             ORDER BY id",
            n(project),
            label_hash(label)
        )?;
        Ok(found
            .into_iter()
            .filter(|issue| issue.labels.iter().any(|l| l == label))
            .collect())
    }

    async fn comment(&self, id: CommentId) -> Result<Option<Comment>, StoreError> {
        sql!(
            self,
            one,
            "comments",
            "SELECT body FROM comments WHERE id = $1",
            n(id)
        )
    }

    async fn comments_of(&self, issue: IssueId) -> Result<Vec<Comment>, StoreError> {
        sql!(
            self,
            all,
            "comments",
            "SELECT body FROM comments WHERE issue = $1 ORDER BY id",
            n(issue)
        )
    }

    async fn activity_after(&self, after: u64, limit: usize) -> Result<Vec<Activity>, StoreError> {
        sql!(
            self,
            all,
            "activity",
            "SELECT body FROM activity WHERE seq > $1 ORDER BY seq LIMIT $2",
            n(after),
            tables::limit(limit)
        )
    }

    async fn activity_before(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Activity>, StoreError> {
        sql!(
            self,
            all,
            "activity",
            "SELECT body FROM activity WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
            before.map_or(i64::MAX, n),
            tables::limit(limit)
        )
    }

    async fn activity_of_issue(&self, issue: IssueId) -> Result<Vec<Activity>, StoreError> {
        sql!(
            self,
            all,
            "activity",
            "SELECT body FROM activity WHERE issue = $1 ORDER BY seq",
            n(issue)
        )
    }

    async fn activity_of_project(
        &self,
        project: ProjectId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Activity>, StoreError> {
        sql!(
            self,
            all,
            "activity",
            "SELECT body FROM activity WHERE project = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            n(project),
            n(after),
            tables::limit(limit)
        )
    }

    async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
        self.seen(self.reads.events_after(after, limit).await)
    }

    /// The newest change this node has delivered to its listener: what it has caught up to.
    async fn last_seq(&self) -> Result<u64, StoreError> {
        Ok(self.feed.delivered().await)
    }

    async fn jobs(&self, state: Option<JobState>) -> Result<Vec<Job>, StoreError> {
        let wanted = state.map(|s| match s {
            JobState::Running => JobState::Queued,
            other => other,
        });
        let all: Vec<Job> = sql!(self, all, "jobs", "SELECT body FROM jobs ORDER BY id")?;
        Ok(all
            .into_iter()
            .filter(|job| wanted.is_none_or(|w| job.state == w))
            .collect())
    }

    async fn job(&self, id: u64) -> Result<Option<Job>, StoreError> {
        sql!(
            self,
            one,
            "jobs",
            "SELECT body FROM jobs WHERE id = $1",
            n(id)
        )
    }

    async fn due_jobs(&self, now: Timestamp, limit: usize) -> Result<Vec<Job>, StoreError> {
        sql!(
            self,
            all,
            "jobs",
            "SELECT body FROM jobs WHERE due_at <= $1 ORDER BY due_at, id LIMIT $2",
            now,
            tables::limit(limit)
        )
    }

    /// Due jobs nobody holds, and those this node holds already, taken for `lease`. Rows
    /// another node is taking at this moment are skipped, not waited for.
    async fn claim_due_jobs(
        &self,
        now: Timestamp,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<Job>, StoreError> {
        self.seen(
            self.reads
                .claim_due_jobs(now, limit, lease, &self.node)
                .await,
        )
    }

    async fn shared_host_key(&self, candidate: &str) -> Result<Option<String>, StoreError> {
        self.seen(self.reads.shared_host_key(candidate).await)
    }

    async fn claim_session(
        &self,
        session: u64,
        user: UserId,
        limit: usize,
        lease: Duration,
    ) -> Result<Option<bool>, StoreError> {
        let claimed = self
            .reads
            .claim_session(&self.node, session, user, limit, lease);
        self.seen(claimed.await).map(Some)
    }

    async fn release_session(&self, session: u64) -> Result<(), StoreError> {
        self.seen(self.reads.release_session(&self.node, session).await)
    }

    async fn renew_sessions(&self, live: &[u64], lease: Duration) -> Result<(), StoreError> {
        self.seen(self.reads.renew_sessions(&self.node, live, lease).await)
    }

    async fn next_job_at(&self) -> Result<Option<Timestamp>, StoreError> {
        let at: Option<Option<i64>> = self.seen(
            self.reads
                .scalar("SELECT min(due_at) FROM jobs WHERE due_at IS NOT NULL")
                .await,
        )?;
        Ok(at.flatten())
    }

    async fn webhooks_of(&self, project: ProjectId) -> Result<Vec<StoredWebhook>, StoreError> {
        sql!(
            self,
            all,
            "webhooks",
            "SELECT body FROM webhooks WHERE project = $1 ORDER BY id",
            n(project)
        )
    }

    async fn webhook(&self, id: u64) -> Result<Option<StoredWebhook>, StoreError> {
        sql!(
            self,
            one,
            "webhooks",
            "SELECT body FROM webhooks WHERE id = $1",
            n(id)
        )
    }

    async fn deliveries(&self, hook: u64, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        sql!(
            self,
            all,
            "deliveries",
            "SELECT body FROM deliveries WHERE hook = $1 ORDER BY id DESC LIMIT $2",
            n(hook),
            tables::limit(limit)
        )
    }

    async fn views(&self) -> Result<Vec<tack_protocol::SavedView>, StoreError> {
        sql!(self, all, "views", "SELECT body FROM views ORDER BY id")
    }

    fn submit(&self, write: Write) -> Ticket<Vec<Event>> {
        self.writer.submit(write)
    }

    fn set_commit_listener(&self, listener: CommitListener) {
        let mut slot = self
            .feed
            .listener
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Some(listener);
    }

    fn health(&self) -> StoreHealth {
        self.health.get()
    }

    fn backup(&self, path: &Path) -> Ticket<BackupInfo> {
        let (tx, ticket) = Ticket::pending();
        let pool = self.reads.pool.clone();
        let path = path.to_path_buf();
        tokio::spawn(async move {
            let result = crate::backup::write(&pool, &path).await;
            let _ = tx.send(result.map_err(tack_data::WriteError::from));
        });
        ticket
    }

    async fn verify(&self) -> Result<IntegrityReport, StoreError> {
        self.seen(crate::backup::verify(&self.reads.pool).await)
    }

    async fn size_on_disk(&self) -> Result<u64, StoreError> {
        let bytes: Option<i64> = self.seen(
            self.reads
                .scalar("SELECT pg_database_size(current_database())")
                .await,
        )?;
        Ok(bytes.unwrap_or(0) as u64)
    }

    async fn shutdown(&self) {
        let writer = self.writer.clone();
        if let Err(err) = tokio::task::spawn_blocking(move || writer.shutdown()).await {
            tracing::error!(error = %err, "the store's writer did not stop cleanly");
        }
        self.reads.pool.close();
    }
}
