//! The service: authentication, RBAC, validation and the business rules, one file per
//! aggregate. Every request from every tier — the TUI, `tack ctl`, bots — comes through
//! `Service::handle`, with the caller's identity as the transport established it.

mod activity;
mod admin;
mod auth;
pub mod backup_files;
mod cache;
mod comments;
mod dispatch;
pub mod events;
mod insights;
mod invites;
mod issue_lists;
mod issues;
mod jobs;
mod keys;
mod notifications;
mod projects;
mod query_board;
mod search;
mod tokens;
mod totp;
pub mod transfer;
mod users;
pub mod validate;
mod views;
pub mod webhook_target;
mod webhooks;

use std::sync::Arc;

use tack_data::{Follow, Op, Store, StoreError, Write, WriteError};
use tack_protocol::{
    Actor, ApiError, Event, FieldChange, Identity, Issue, Project, ProjectRole, ResponseBody,
    ServerRole, Timestamp, User,
};
use tokio::sync::broadcast;

use crate::runtime::Runtime;

pub use cache::Cache;
pub use events::{Subscription, SubscriptionFilter};

/// Who is asking, as the transport proved it — never as the client claims.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The peer of the local admin socket: a server admin.
    Console,
    /// A person or bot, authenticated by API token or SSH key.
    User { user: User, token: Option<String> },
    /// Authenticated by nothing: may only redeem an invite.
    Anonymous,
    /// A server admin signed in by key on a server that requires two-factor for admins, who has
    /// none yet: may only enrol it (and holds none of an admin's rights meanwhile).
    Enrolling { user: User },
}

impl Caller {
    pub fn actor(&self) -> Option<Actor> {
        match self {
            Caller::Console => Some(Actor::Console),
            Caller::User { user, .. } | Caller::Enrolling { user } => Some(Actor::User(user.id)),
            Caller::Anonymous => None,
        }
    }

    pub fn is_admin(&self) -> bool {
        match self {
            Caller::Console => true,
            Caller::User { user, .. } => user.role == ServerRole::Admin,
            Caller::Anonymous | Caller::Enrolling { .. } => false,
        }
    }

    pub fn user_id(&self) -> Option<u64> {
        match self {
            Caller::User { user, .. } | Caller::Enrolling { user } => Some(user.id),
            _ => None,
        }
    }

    /// A stable key for rate limiting: one bucket per user or token, one for the console.
    pub fn rate_key(&self) -> String {
        match self {
            Caller::Console => "console".into(),
            Caller::User {
                user,
                token: Some(token),
            } => format!("user:{}:token:{token}", user.id),
            Caller::User { user, token: None } | Caller::Enrolling { user } => {
                format!("user:{}", user.id)
            }
            Caller::Anonymous => "anonymous".into(),
        }
    }

    pub fn identity(&self) -> Option<Identity> {
        match self {
            Caller::Console => Some(Identity {
                actor: Actor::Console,
                user: None,
                role: ServerRole::Admin,
            }),
            Caller::User { user, .. } | Caller::Enrolling { user } => Some(Identity {
                actor: Actor::User(user.id),
                user: Some(user.clone()),
                role: user.role,
            }),
            Caller::Anonymous => None,
        }
    }
}

#[derive(Clone)]
pub struct ServiceConfig {
    /// How many events a slow subscriber may fall behind before it is replayed from the log.
    pub event_buffer: usize,
    pub runtime: Arc<Runtime>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            event_buffer: 4096,
            runtime: Arc::new(Runtime::default()),
        }
    }
}

pub struct Service {
    store: Arc<dyn Store>,
    cache: Arc<Cache>,
    events: broadcast::Sender<Arc<Event>>,
    tokens: auth::TokenCache,
    lockouts: totp::Lockouts,
    runtime: Arc<Runtime>,
}

pub fn now_ms() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) fn store_error(err: StoreError) -> ApiError {
    if let StoreError::Unavailable(reason) = err {
        return ApiError::unavailable(reason);
    }
    tracing::error!(error = %err, "store read failed");
    ApiError::internal(format!(
        "the store could not be read ({err}); the server log has details"
    ))
}

pub(crate) fn write_error(err: WriteError) -> ApiError {
    match err {
        WriteError::Conflict { current } => ApiError::Conflict { current },
        WriteError::Taken { field, value } => {
            ApiError::invalid(field, format!("'{value}' is already taken"))
        }
        WriteError::Missing(what) => ApiError::not_found(format!(
            "{what} does not exist (it may have just been deleted)"
        )),
        WriteError::Rejected(reason) => ApiError::invalid("request", reason),
        WriteError::ShuttingDown => {
            ApiError::unavailable("the server is shutting down; retry in a moment")
        }
        WriteError::Unavailable(reason) => ApiError::unavailable(reason),
        WriteError::Store(reason) => {
            tracing::error!(error = %reason, "store write failed");
            ApiError::internal(format!("the change could not be saved ({reason})"))
        }
    }
}

pub fn change(field: &str, before: impl ToString, after: impl ToString) -> FieldChange {
    FieldChange {
        field: field.to_string(),
        before: before.to_string(),
        after: after.to_string(),
    }
}

impl Service {
    pub fn new(store: Arc<dyn Store>, config: ServiceConfig) -> Arc<Service> {
        let cache = Arc::new(Cache::default());
        let (events, _) = broadcast::channel(config.event_buffer.max(16));
        let listener_cache = cache.clone();
        let listener_events = events.clone();
        let listener_runtime = config.runtime.clone();
        // Runs on the store's flusher thread, in commit order, before each write is
        // acknowledged: the cache is never stale after an ack, and events go out in order.
        store.set_commit_listener(Box::new(move |committed: &[Event]| {
            listener_cache.apply(committed);
            for event in committed {
                let _ = listener_events.send(Arc::new(event.clone()));
            }
            // A change may have queued webhook deliveries or emails.
            listener_runtime.jobs.poke();
        }));
        Arc::new(Service {
            store,
            cache,
            events,
            tokens: auth::TokenCache::default(),
            lockouts: totp::Lockouts::default(),
            runtime: config.runtime,
        })
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The newest durable event's sequence.
    pub async fn last_seq(&self) -> Result<u64, ApiError> {
        self.store.last_seq().await.map_err(store_error)
    }

    /// Commits one change and waits until it is durable.
    pub(crate) async fn commit(
        &self,
        caller: &Caller,
        op: Op,
        changes: Vec<FieldChange>,
    ) -> Result<Vec<Event>, ApiError> {
        self.commit_following(caller, op, changes, Follow::default())
            .await
    }

    /// Commits a change to an issue with its inbox side effects.
    pub(crate) async fn commit_following(
        &self,
        caller: &Caller,
        op: Op,
        changes: Vec<FieldChange>,
        follow: Follow,
    ) -> Result<Vec<Event>, ApiError> {
        let actor = caller
            .actor()
            .ok_or_else(|| ApiError::unauthenticated("sign in first"))?;
        let write = Write {
            actor,
            at: now_ms(),
            op,
            changes,
            follow,
        };
        self.store.submit(write).wait().await.map_err(write_error)
    }

    /// Re-reads a user caller, so a disabled account or a changed role takes effect at once.
    async fn refresh(&self, caller: &Caller) -> Result<Caller, ApiError> {
        match caller {
            Caller::User { user, token } => {
                if token.as_deref().is_some_and(|id| self.token_revoked(id)) {
                    return Err(ApiError::unauthenticated(
                        "the API token of this connection was revoked; reconnect with a valid token",
                    ));
                }
                let current = self
                    .user_by_id(user.id)
                    .await?
                    .ok_or_else(|| ApiError::unauthenticated("this account no longer exists"))?;
                if current.disabled {
                    return Err(ApiError::unauthenticated(format!(
                        "the account @{} is disabled; ask a server admin",
                        current.handle
                    )));
                }
                let mut user = (*current).clone();
                if token.is_some()
                    && self.runtime.require_totp_for_admins
                    && user.role == ServerRole::Admin
                {
                    // Admin work needs the second factor, which only an SSH login can give.
                    user.role = ServerRole::User;
                }
                Ok(Caller::User {
                    user,
                    token: token.clone(),
                })
            }
            Caller::Enrolling { user } => match self.user_by_id(user.id).await? {
                Some(current) if !current.disabled => Ok(Caller::Enrolling {
                    user: (*current).clone(),
                }),
                _ => Err(ApiError::unauthenticated(
                    "this account is disabled or gone",
                )),
            },
            other => Ok(other.clone()),
        }
    }

    pub async fn user_by_id(&self, id: u64) -> Result<Option<Arc<User>>, ApiError> {
        if let Some(user) = self.cache.user(id) {
            return Ok(Some(user));
        }
        let generation = self.cache.generation();
        let user = self.store.user(id).await.map_err(store_error)?;
        Ok(user.map(|u| self.cache.fill_user(generation, u)))
    }

    pub(crate) async fn user_by_handle(&self, handle: &str) -> Result<User, ApiError> {
        let handle = handle.trim().trim_start_matches('@').to_string();
        if let Some(user) = self.cache.user_by_handle(&handle) {
            return Ok((*user).clone());
        }
        let shown = validate::clean_line(&handle);
        let generation = self.cache.generation();
        let user = self
            .store
            .user_by_handle(&handle)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no user @{shown}; `tack ctl user list` shows who exists"
                ))
            })?;
        Ok((*self.cache.fill_user(generation, user)).clone())
    }

    /// The user a request names, or the caller when it names nobody.
    pub(crate) async fn target_user(
        &self,
        caller: &Caller,
        handle: Option<String>,
    ) -> Result<User, ApiError> {
        match (handle, caller) {
            (Some(handle), _) => {
                let user = self.user_by_handle(&handle).await?;
                if caller.user_id() != Some(user.id) && !caller.is_admin() {
                    return Err(ApiError::forbidden(
                        "only a server admin can act on another user's keys and tokens",
                    ));
                }
                Ok(user)
            }
            (None, Caller::User { user, .. }) => Ok(user.clone()),
            (None, _) => Err(ApiError::invalid(
                "user",
                "the console has no account of its own; name a user (--user HANDLE)",
            )),
        }
    }

    pub(crate) fn require_admin(&self, caller: &Caller, what: &str) -> Result<(), ApiError> {
        if caller.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "only a server admin can {what}"
            )))
        }
    }

    pub(crate) async fn project_by_key(&self, key: &str) -> Result<Arc<Project>, ApiError> {
        let key = key.trim().to_ascii_uppercase();
        if let Some(project) = self.cache.project_by_key(&key) {
            return Ok(project);
        }
        let generation = self.cache.generation();
        let shown = validate::clean_line(&key);
        let project = self
            .store
            .project_by_key(&key)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no project {shown}; `tack ctl project list` shows yours"
                ))
            })?;
        Ok(self.cache.fill_project(generation, project))
    }

    pub(crate) async fn project_by_id(&self, id: u64) -> Result<Option<Arc<Project>>, ApiError> {
        if let Some(project) = self.cache.project(id) {
            return Ok(Some(project));
        }
        let generation = self.cache.generation();
        let project = self.store.project(id).await.map_err(store_error)?;
        Ok(project.map(|p| self.cache.fill_project(generation, p)))
    }

    /// The caller's role in a project; server admins (and the console) act as owners.
    pub fn role_in(caller: &Caller, project: &Project) -> Option<ProjectRole> {
        match caller {
            Caller::Console => Some(ProjectRole::Owner),
            Caller::User { user, .. } if user.role == ServerRole::Admin => Some(ProjectRole::Owner),
            Caller::User { user, .. } => project.role_of(user.id),
            Caller::Anonymous | Caller::Enrolling { .. } => None,
        }
    }

    pub(crate) fn require_role(
        caller: &Caller,
        project: &Project,
        needed: ProjectRole,
    ) -> Result<(), ApiError> {
        match Self::role_in(caller, project) {
            Some(role) if role >= needed => Ok(()),
            Some(role) => Err(ApiError::forbidden(format!(
                "this needs the {needed} role in {}; you are a {role}; ask a project owner",
                project.key
            ))),
            None => Err(ApiError::forbidden(format!(
                "you are not a member of {}; ask a project owner to add you",
                project.key
            ))),
        }
    }

    /// Resolves a project and checks the caller's role in it.
    pub(crate) async fn project_for(
        &self,
        caller: &Caller,
        key: &str,
        needed: ProjectRole,
    ) -> Result<Arc<Project>, ApiError> {
        let project = self.project_by_key(key).await?;
        Self::require_role(caller, &project, needed)?;
        if needed > ProjectRole::Viewer && project.archived {
            return Err(ApiError::invalid(
                "project",
                format!(
                    "{} is archived; unarchive it before changing it",
                    project.key
                ),
            ));
        }
        Ok(project)
    }

    /// Resolves `TACK-12` to its project and issue, checking the caller's role.
    pub(crate) async fn issue_for(
        &self,
        caller: &Caller,
        key: &str,
        needed: ProjectRole,
    ) -> Result<(Arc<Project>, Issue), ApiError> {
        let (project_key, number) = parse_issue_key(key)?;
        let project = self.project_for(caller, &project_key, needed).await?;
        let issue = self.issue_by_number(&project, number).await?;
        Ok((project, issue))
    }

    pub(crate) async fn issue_by_number(
        &self,
        project: &Project,
        number: u64,
    ) -> Result<Issue, ApiError> {
        if let Some(issue) = self.cache.issue(project.id, number) {
            return Ok((*issue).clone());
        }
        let generation = self.cache.generation();
        let project_id = project.id;
        let issue = self
            .store
            .issue_by_number(project_id, number)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::not_found(format!("no issue {}-{number}", project.key)))?;
        Ok((*self.cache.fill_issue(generation, issue)).clone())
    }

    async fn backup(&self, caller: &Caller, path: String) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "take backups")?;
        // No path: a new file in the backup directory, named by the time.
        let dir = &self.runtime().backup.dir;
        let path = if path.trim().is_empty() {
            dir.join(backup_files::backup_name(chrono::Utc::now()))
        } else {
            self.backup_path(caller, &path)?
        };
        if path.parent() == Some(dir.as_path()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                ApiError::unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let info = self
            .store
            .backup(&path)
            .wait()
            .await
            .map_err(|e| ApiError::unavailable(e.to_string()))?;
        Ok(ResponseBody::Backup(tack_protocol::BackupSummary {
            path: info.path.display().to_string(),
            bytes: info.bytes,
            records: info.records,
            schema_version: info.schema_version,
            checksum: info.checksum,
        }))
    }

    pub(crate) fn cache(&self) -> &Cache {
        &self.cache
    }

    pub fn subscribe_bus(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events.subscribe()
    }
}

/// Splits `TACK-12` (any case) into `("TACK", 12)`.
pub fn parse_issue_key(key: &str) -> Result<(String, u64), ApiError> {
    let key = key.trim();
    let bad = || {
        ApiError::invalid(
            "issue",
            format!(
                "'{}' is not an issue key; keys look like TACK-12",
                validate::clean_line(key)
            ),
        )
    };
    let (project, number) = key.rsplit_once('-').ok_or_else(bad)?;
    let number: u64 = number.parse().map_err(|_| bad())?;
    if project.is_empty() || number == 0 {
        return Err(bad());
    }
    Ok((project.to_ascii_uppercase(), number))
}
