//! The sled engine behind the `Store` trait.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tack_data::event_record;
use tack_data::stored::Stored;
use tack_protocol::{
    Activity, Comment, CommentId, Event, EventRecord, Issue, IssueId, Project, ProjectId, SshKey,
    User, UserId,
};

use crate::BackupInfo;
use crate::IntegrityReport;
use crate::StoreHealth;
use crate::durable_mark::{self, DurableMark};
use crate::engine_error;
use crate::health::{DiskReserve, HealthState};
use crate::records::{PendingKey, StoredInvite, StoredToken, TotpRecord, decode};
use crate::trees::{self, T, Trees};
use crate::verify;
use crate::write_tx::Counters;
use crate::writer::{Guards, Writer};
use crate::{CommitListener, Ticket};
use crate::{StoreError, Write, keys, migrate};

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub path: PathBuf,
    /// sled's page cache; its default (1 GiB) is far more than tack needs.
    pub cache_capacity: u64,
    /// Share one flush among all writes applied while the previous flush ran. Off only for
    /// the baseline in benchmarks.
    pub group_commit: bool,
    /// Writes are refused while the volume has less than this free (at most a tenth of it).
    pub min_free_bytes: u64,
    /// A flush that takes longer fails the store (the disk is full or failing).
    pub flush_timeout: std::time::Duration,
    /// Record the last durable event beside the store after each flush. Off only for the
    /// baseline in benchmarks.
    pub durable_mark: bool,
}

impl StoreConfig {
    pub const DEFAULT_CACHE_CAPACITY: u64 = 128 * 1024 * 1024;
    pub const DEFAULT_MIN_FREE: u64 = 256 * 1024 * 1024;
    pub const DEFAULT_FLUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

    pub fn new(path: impl Into<PathBuf>) -> Self {
        StoreConfig {
            path: path.into(),
            cache_capacity: Self::DEFAULT_CACHE_CAPACITY,
            group_commit: true,
            min_free_bytes: Self::DEFAULT_MIN_FREE,
            flush_timeout: Self::DEFAULT_FLUSH_TIMEOUT,
            durable_mark: true,
        }
    }
}

/// The sled engine: its trees, writer thread and health. Its reads are synchronous; the
/// [`SledStore`](crate::SledStore) handle runs them on the blocking pool behind the async trait.
pub struct SledEngine {
    db: sled::Db,
    pub(crate) trees: Arc<Trees>,
    writer: Writer,
    health: HealthState,
    closed: Arc<AtomicBool>,
}

/// How long opening waits for the store's file lock: a handle just dropped in this process
/// (or a server just exiting) lets go of it from sled's own thread a moment later.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

pub(crate) fn open_db(path: &Path, cache_capacity: u64) -> Result<sled::Db, StoreError> {
    let started = std::time::Instant::now();
    loop {
        match sled::Config::new()
            .path(path)
            .cache_capacity(cache_capacity)
            .open()
        {
            Ok(db) => return Ok(db),
            Err(e) if e.to_string().contains("lock") && started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) if e.to_string().contains("lock") => {
                return Err(StoreError::InUse {
                    path: path.display().to_string(),
                });
            }
            Err(e) => {
                return Err(StoreError::Engine(format!(
                    "cannot open the store at {}: {e}",
                    path.display()
                )));
            }
        }
    }
}

fn meta_u64(trees: &Trees, key: &[u8], default: u64) -> Result<u64, StoreError> {
    Ok(trees
        .get(T::Meta)
        .get(key)
        .map_err(engine_error)?
        .and_then(|v| keys::read_u64(&v, 0))
        .unwrap_or(default))
}

/// Snapshots sled began and never finished (a start on a full disk leaves an empty one, and
/// sled then refuses the store as corrupt): they hold nothing the log does not.
fn remove_unfinished_snapshots(path: &Path) {
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => {
                    tracing::warn!(file = %entry.path().display(), "removed an unfinished snapshot")
                }
                Err(err) => {
                    tracing::warn!(file = %entry.path().display(), error = %err, "cannot remove an unfinished snapshot")
                }
            }
        }
    }
}

/// Opens the sled database and its trees, turning a panic inside sled (a damaged log) into an
/// error that names the store and the way out.
pub(crate) fn open_trees(
    path: &Path,
    cache_capacity: u64,
) -> Result<(sled::Db, Trees), StoreError> {
    remove_unfinished_snapshots(path);
    let opened = std::panic::catch_unwind(|| {
        let db = open_db(path, cache_capacity)?;
        let trees = Trees::open(&db).map_err(engine_error)?;
        Ok::<_, StoreError>((db, trees))
    });
    match opened {
        Ok(result) => result,
        Err(panic) => {
            let reason = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".into());
            tracing::error!(path = %path.display(), %reason, "sled failed opening the store");
            Err(StoreError::Unopenable {
                path: path.display().to_string(),
                reason,
            })
        }
    }
}

impl SledEngine {
    pub fn open(config: &StoreConfig) -> Result<SledEngine, StoreError> {
        let (db, trees) = open_trees(&config.path, config.cache_capacity)?;
        let trees = Arc::new(trees);
        migrate::run(&db, &trees, &config.path)?;
        let counters = Counters {
            next_user: meta_u64(&trees, trees::NEXT_USER, 1)?,
            next_project: meta_u64(&trees, trees::NEXT_PROJECT, 1)?,
            next_issue: meta_u64(&trees, trees::NEXT_ISSUE, 1)?,
            next_comment: meta_u64(&trees, trees::NEXT_COMMENT, 1)?,
            next_job: meta_u64(&trees, trees::NEXT_JOB, 1)?,
            next_webhook: meta_u64(&trees, trees::NEXT_WEBHOOK, 1)?,
            next_delivery: meta_u64(&trees, trees::NEXT_DELIVERY, 1)?,
            next_view: meta_u64(&trees, trees::NEXT_VIEW, 1)?,
            last_seq: meta_u64(&trees, trees::LAST_SEQ, 0)?,
        };
        if let Some(acked) = durable_mark::read(&config.path)
            && acked > counters.last_seq
        {
            return Err(StoreError::LostTail {
                path: config.path.display().to_string(),
                store_seq: counters.last_seq,
                acked_seq: acked,
            });
        }
        let health = HealthState::new();
        let closed = Arc::new(AtomicBool::new(false));
        health.start_watchdog(config.flush_timeout, closed.clone());
        let guards = Guards {
            reserve: DiskReserve::new(config.path.clone(), config.min_free_bytes),
            health: health.clone(),
            mark: if config.durable_mark {
                Some(DurableMark::open(&config.path)?)
            } else {
                None
            },
        };
        let writer = Writer::start(
            db.clone(),
            trees.clone(),
            counters,
            config.group_commit,
            guards,
        )?;
        Ok(SledEngine {
            db,
            trees,
            writer,
            health,
            closed,
        })
    }

    pub(crate) fn get<V: Stored>(&self, tree: T, key: &[u8]) -> Result<Option<V>, StoreError> {
        match self.trees.get(tree).get(key).map_err(engine_error)? {
            Some(bytes) => decode(trees::name(tree), &bytes).map(Some),
            None => Ok(None),
        }
    }

    pub(crate) fn all<V: Stored>(&self, tree: T) -> Result<Vec<V>, StoreError> {
        self.trees
            .get(tree)
            .iter()
            .values()
            .map(|v| decode(trees::name(tree), &v.map_err(engine_error)?))
            .collect()
    }

    /// The ids at the end of every index key under `prefix`, in key order.
    fn ids_under(&self, tree: T, prefix: &[u8]) -> Result<Vec<u64>, StoreError> {
        let mut ids = Vec::new();
        for entry in self.trees.get(tree).scan_prefix(prefix).keys() {
            if let Some(id) = keys::trailing_id(&entry.map_err(engine_error)?) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    fn load_many<V: Stored>(&self, tree: T, ids: &[u64]) -> Result<Vec<V>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(value) = self.get(tree, &keys::id(*id))? {
                out.push(value);
            }
        }
        Ok(out)
    }

    fn record_for(&self, activity: &Activity) -> Result<EventRecord, StoreError> {
        let subject = event_record::subject_of(activity);
        let issue = subject
            .issue
            .map(|id| self.issue(id))
            .transpose()?
            .flatten();
        let comment = subject
            .comment
            .map(|id| self.comment(id))
            .transpose()?
            .flatten();
        let project = subject
            .project
            .map(|id| self.project(id))
            .transpose()?
            .flatten();
        Ok(event_record::event_record(
            activity, issue, comment, project,
        ))
    }
}

/// Reads, writes and upkeep, synchronously.
impl SledEngine {
    pub fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.get(T::Users, &keys::id(id))
    }

    pub fn user_by_handle(&self, handle: &str) -> Result<Option<User>, StoreError> {
        match self
            .trees
            .get(T::UsersByHandle)
            .get(handle.as_bytes())
            .map_err(engine_error)?
        {
            Some(id) => self.user(keys::read_u64(&id, 0).unwrap_or(0)),
            None => Ok(None),
        }
    }

    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        self.all(T::Users)
    }

    pub fn key(&self, fingerprint: &str) -> Result<Option<SshKey>, StoreError> {
        self.get(T::Keys, fingerprint.as_bytes())
    }

    pub fn keys_of(&self, user: UserId) -> Result<Vec<SshKey>, StoreError> {
        let mut out = Vec::new();
        for entry in self
            .trees
            .get(T::KeysByUser)
            .scan_prefix(keys::id(user))
            .keys()
        {
            let entry = entry.map_err(engine_error)?;
            let fingerprint = String::from_utf8_lossy(&entry[8..]).into_owned();
            if let Some(key) = self.key(&fingerprint)? {
                out.push(key);
            }
        }
        Ok(out)
    }

    pub fn pending_keys(&self, fingerprint: &str) -> Result<Vec<PendingKey>, StoreError> {
        let mut out = Vec::new();
        for entry in self
            .trees
            .get(T::PendingKeys)
            .scan_prefix(keys::pending_key_prefix(fingerprint))
            .values()
        {
            out.push(decode(
                trees::name(T::PendingKeys),
                &entry.map_err(engine_error)?,
            )?);
        }
        Ok(out)
    }

    pub fn token(&self, id: &str) -> Result<Option<StoredToken>, StoreError> {
        self.get(T::Tokens, id.as_bytes())
    }

    pub fn tokens(&self, user: Option<UserId>) -> Result<Vec<StoredToken>, StoreError> {
        let all: Vec<StoredToken> = self.all(T::Tokens)?;
        Ok(all
            .into_iter()
            .filter(|t| user.is_none_or(|u| t.token.user == u))
            .collect())
    }

    pub fn invite(&self, id: &str) -> Result<Option<StoredInvite>, StoreError> {
        self.get(T::Invites, id.as_bytes())
    }

    pub fn invites(&self) -> Result<Vec<StoredInvite>, StoreError> {
        self.all(T::Invites)
    }

    pub fn watchers(&self, issue: IssueId) -> Result<Vec<UserId>, StoreError> {
        self.ids_under(T::Watchers, &keys::id(issue))
    }

    pub fn notifications(
        &self,
        user: UserId,
        unread_only: bool,
        limit: usize,
    ) -> Result<Vec<tack_protocol::Notification>, StoreError> {
        let mut out = Vec::new();
        for value in self
            .trees
            .get(T::Notifications)
            .scan_prefix(keys::id(user))
            .values()
            .rev()
        {
            let notification: tack_protocol::Notification =
                decode(trees::name(T::Notifications), &value.map_err(engine_error)?)?;
            if unread_only && notification.read {
                continue;
            }
            out.push(notification);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    pub fn totp(&self, user: UserId) -> Result<Option<TotpRecord>, StoreError> {
        self.get(T::Totp, &keys::id(user))
    }

    pub fn project(&self, id: ProjectId) -> Result<Option<Project>, StoreError> {
        self.get(T::Projects, &keys::id(id))
    }

    pub fn project_by_key(&self, key: &str) -> Result<Option<Project>, StoreError> {
        match self
            .trees
            .get(T::ProjectsByKey)
            .get(key.as_bytes())
            .map_err(engine_error)?
        {
            Some(id) => self.project(keys::read_u64(&id, 0).unwrap_or(0)),
            None => Ok(None),
        }
    }

    pub fn projects(&self) -> Result<Vec<Project>, StoreError> {
        self.all(T::Projects)
    }

    pub fn issue(&self, id: IssueId) -> Result<Option<Issue>, StoreError> {
        self.get(T::Issues, &keys::id(id))
    }

    pub fn issues_by_id(&self, ids: &[IssueId]) -> Result<Vec<Issue>, StoreError> {
        self.load_many(T::Issues, ids)
    }

    pub fn issue_by_number(
        &self,
        project: ProjectId,
        number: u64,
    ) -> Result<Option<Issue>, StoreError> {
        match self
            .trees
            .get(T::IssuesByNumber)
            .get(keys::pair(project, number))
            .map_err(engine_error)?
        {
            Some(id) => self.issue(keys::read_u64(&id, 0).unwrap_or(0)),
            None => Ok(None),
        }
    }

    pub fn issues_of_project(&self, project: ProjectId) -> Result<Vec<Issue>, StoreError> {
        let ids = self.ids_under(T::IdxBoard, &keys::id(project))?;
        self.load_many(T::Issues, &ids)
    }

    pub fn issues_in_state(
        &self,
        project: ProjectId,
        state: u32,
    ) -> Result<Vec<Issue>, StoreError> {
        let ids = self.ids_under(T::IdxBoard, &keys::board_column(project, state))?;
        self.load_many(T::Issues, &ids)
    }

    pub fn issues_assigned_to(&self, user: UserId) -> Result<Vec<Issue>, StoreError> {
        let ids = self.ids_under(T::IdxAssignee, &keys::id(user))?;
        self.load_many(T::Issues, &ids)
    }

    pub fn issues_labelled(
        &self,
        project: ProjectId,
        label: &str,
    ) -> Result<Vec<Issue>, StoreError> {
        let ids = self.ids_under(T::IdxLabel, &keys::label_prefix(project, label))?;
        self.load_many(T::Issues, &ids)
    }

    pub fn comment(&self, id: CommentId) -> Result<Option<Comment>, StoreError> {
        self.get(T::Comments, &keys::id(id))
    }

    pub fn comments_of(&self, issue: IssueId) -> Result<Vec<Comment>, StoreError> {
        let ids = self.ids_under(T::CommentsByIssue, &keys::id(issue))?;
        self.load_many(T::Comments, &ids)
    }

    pub fn activity_after(&self, after: u64, limit: usize) -> Result<Vec<Activity>, StoreError> {
        let start = keys::id(after.saturating_add(1));
        self.trees
            .get(T::Activity)
            .range(start..)
            .values()
            .take(limit)
            .map(|v| decode(trees::name(T::Activity), &v.map_err(engine_error)?))
            .collect()
    }

    pub fn activity_of_issue(&self, issue: IssueId) -> Result<Vec<Activity>, StoreError> {
        let seqs = self.ids_under(T::ActivityByIssue, &keys::id(issue))?;
        self.load_many(T::Activity, &seqs)
    }

    pub fn activity_of_project(
        &self,
        project: ProjectId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Activity>, StoreError> {
        let start = keys::pair(project, after.saturating_add(1));
        let end = keys::pair(project, u64::MAX);
        let mut seqs = Vec::new();
        for entry in self
            .trees
            .get(T::ActivityByProject)
            .range(start..=end)
            .keys()
            .take(limit)
        {
            if let Some(seq) = keys::trailing_id(&entry.map_err(engine_error)?) {
                seqs.push(seq);
            }
        }
        self.load_many(T::Activity, &seqs)
    }

    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
        let durable = self.last_seq();
        let mut events = Vec::new();
        for activity in self.activity_after(after, limit)? {
            // Applied but not yet durable: not acknowledged, so not announced either.
            if activity.seq > durable {
                break;
            }
            let record = self.record_for(&activity)?;
            events.push(Event {
                seq: activity.seq,
                activity,
                record,
            });
        }
        Ok(events)
    }

    pub fn last_seq(&self) -> u64 {
        self.writer.durable_seq.load(Ordering::Acquire)
    }

    pub fn submit(&self, write: Write) -> Ticket<Vec<Event>> {
        self.writer.submit(write)
    }

    pub fn set_commit_listener(&self, listener: CommitListener) {
        let mut slot = self
            .writer
            .listener
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Some(listener);
    }

    pub fn backup(&self, path: &Path) -> Ticket<BackupInfo> {
        self.writer.backup(path.to_path_buf())
    }

    pub fn verify(&self) -> Result<IntegrityReport, StoreError> {
        verify::check(&self.trees)
    }

    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.size_on_disk().map_err(engine_error)
    }

    pub fn shutdown(&self) {
        self.writer.shutdown();
        if let Err(err) = self.db.flush() {
            tracing::error!(error = %err, "final flush failed");
        }
        self.closed.store(true, Ordering::Release);
    }

    pub fn health(&self) -> StoreHealth {
        self.health.get()
    }
}
