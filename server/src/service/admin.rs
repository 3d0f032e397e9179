//! What the console shows about the running server: live sessions (and ending one), health,
//! backups, every key, and the audit log.

use std::path::PathBuf;

use tack_protocol::{
    Activity, Actor, ApiError, AuditFilter, BackupFile, Backups, Health, ResponseBody, SessionKind,
};

use super::store_error;
use super::{Caller, Service};

/// How far back one audit query reads before it answers with what it found.
const AUDIT_SCAN: usize = 200_000;

impl Service {
    pub(crate) fn list_sessions(&self, caller: &Caller) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "see live sessions")?;
        Ok(ResponseBody::Sessions(self.runtime().sessions.list()))
    }

    pub(crate) fn kick_session(&self, caller: &Caller, id: u64) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "end sessions")?;
        if self.runtime().sessions.kick(id) {
            tracing::info!(session = id, by = %caller.rate_key(), "session ended by an admin");
            Ok(ResponseBody::Done)
        } else {
            Err(ApiError::not_found(format!(
                "no live session #{id}; `tack ctl session list` shows them"
            )))
        }
    }

    pub(crate) async fn health(&self, caller: &Caller) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "see server health")?;
        let runtime = self.runtime();
        let (jobs_queued, jobs_running, jobs_failed) = self.job_counts().await;
        let (requests_history, errors_history) = runtime.metrics.history();
        let store_bytes = self.store.size_on_disk().await.map_err(store_error)?;
        Ok(ResponseBody::Health(Health {
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_secs: runtime.started.elapsed().as_secs(),
            store_bytes,
            ssh_sessions: runtime.sessions.count(SessionKind::Ssh) as u32,
            connections: (runtime.sessions.count(SessionKind::Protocol)
                + runtime.sessions.count(SessionKind::Console)) as u32,
            requests_total: runtime.metrics.requests_total(),
            errors_total: runtime.metrics.errors_total(),
            rate_limited_total: runtime.metrics.rate_limited_total(),
            jobs_queued,
            jobs_running,
            jobs_failed,
            requests_history,
            errors_history,
        }))
    }

    pub(crate) fn list_backups(&self, caller: &Caller) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "see backups")?;
        let settings = &self.runtime().backup;
        let files = super::backup_files::backup_files(&settings.dir)
            .into_iter()
            .rev()
            .map(|(name, meta)| BackupFile {
                name,
                bytes: meta.len(),
                modified: meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_millis() as i64),
            })
            .collect();
        Ok(ResponseBody::Backups(Backups {
            dir: settings.dir.display().to_string(),
            schedule: settings.schedule.clone(),
            retention: settings.retention,
            files,
        }))
    }

    /// Where a backup named `name` lives. A plain file name is in the backup directory. Only
    /// the console (whoever can open the admin socket is the server's own user) may name a path
    /// elsewhere: a server admin over the network must not write or probe the server's files.
    pub(crate) fn backup_path(&self, caller: &Caller, name: &str) -> Result<PathBuf, ApiError> {
        let name = name.trim();
        if matches!(caller, Caller::Console) && name.contains('/') {
            return Ok(PathBuf::from(name));
        }
        let plain = !name.is_empty()
            && !name.contains('/')
            && !name.contains('\\')
            && !name.starts_with('.')
            && name.len() <= 255
            && name.chars().all(|c| !c.is_control());
        if !plain {
            return Err(ApiError::invalid(
                "path",
                "name a file in the backup directory (no '/', not starting with '.'); `tack ctl backup list` shows them, and `tack backup FILE` on the server machine writes anywhere",
            ));
        }
        Ok(self.runtime().backup.dir.join(name))
    }

    pub(crate) async fn verify_backup(
        &self,
        caller: &Caller,
        name: String,
    ) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "verify backups")?;
        let path = self.backup_path(caller, &name)?;
        let info = tokio::task::spawn_blocking(move || tack_data::backup_file::verify(&path))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(|e| ApiError::invalid("backup", e.to_string()))?;
        Ok(ResponseBody::Backup(tack_protocol::BackupSummary {
            path: info.path.display().to_string(),
            bytes: info.bytes,
            records: info.records,
            schema_version: info.schema_version,
            checksum: info.checksum,
        }))
    }

    pub(crate) async fn all_keys(&self, caller: &Caller) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "see everyone's keys")?;
        let mut keys = self.store.all_keys().await.map_err(store_error)?;
        keys.sort_by(|a, b| a.owner.cmp(&b.owner).then(a.added_at.cmp(&b.added_at)));
        Ok(ResponseBody::Keys(keys))
    }

    pub(crate) async fn audit(
        &self,
        caller: &Caller,
        filter: AuditFilter,
        before: Option<u64>,
        limit: u32,
    ) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "read the audit log")?;
        let actor = match filter.actor.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("console") => Some(Actor::Console),
            Some(handle) => Some(Actor::User(self.user_by_handle(handle).await?.id)),
        };
        let project = match filter.project.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(key) => Some(self.project_by_key(key).await?.id),
        };
        if let (Some(since), Some(until)) = (filter.since, filter.until)
            && since > until
        {
            return Err(ApiError::invalid(
                "since",
                "the start of the range is after its end",
            ));
        }
        let matches = move |a: &Activity| {
            actor.is_none_or(|x| a.actor == x)
                && project.is_none_or(|p| a.project == Some(p))
                && filter.kind.is_none_or(|k| a.kind == k)
                && filter.since.is_none_or(|t| a.at >= t)
                && filter.until.is_none_or(|t| a.at <= t)
        };
        let limit = limit.clamp(1, 1000) as usize;
        let mut found = Vec::new();
        let mut cursor = before;
        let mut scanned = 0;
        while found.len() < limit && scanned < AUDIT_SCAN {
            let chunk = self
                .store
                .activity_before(cursor, 1000)
                .await
                .map_err(store_error)?;
            let Some(last) = chunk.last() else { break };
            cursor = Some(last.seq);
            // The log is in time order: past `since`, nothing older can match.
            let past_since = filter.since.is_some_and(|t| last.at < t);
            scanned += chunk.len();
            found.extend(chunk.into_iter().filter(|a| matches(a)));
            if past_since {
                break;
            }
        }
        found.truncate(limit);
        Ok(ResponseBody::Activity(found))
    }
}
