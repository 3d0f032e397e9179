//! The sled engine's reads of the operational collections: the job queue, webhooks and their delivery log,
//! email settings, and the audit log read newest first.

use tack_protocol::{Activity, Delivery, Job, JobState, SshKey, Timestamp, UserId, UserSettings};

use crate::engine::SledEngine;
use crate::engine_error;
use crate::records::{StoredWebhook, decode};
use crate::trees::{self, T};
use crate::{StoreError, keys};

impl SledEngine {
    pub fn jobs(&self, state: Option<JobState>) -> Result<Vec<Job>, StoreError> {
        let wanted = state.map(|s| match s {
            JobState::Running => JobState::Queued,
            other => other,
        });
        Ok(self
            .all::<Job>(T::Jobs)?
            .into_iter()
            .filter(|job| wanted.is_none_or(|w| job.state == w))
            .collect())
    }

    pub fn job(&self, id: u64) -> Result<Option<Job>, StoreError> {
        self.get(T::Jobs, &keys::id(id))
    }

    pub fn due_jobs(&self, now: Timestamp, limit: usize) -> Result<Vec<Job>, StoreError> {
        let end = keys::pair(now.max(0) as u64 + 1, 0);
        let mut out = Vec::new();
        for key in self.trees.get(T::JobsDue).range(..end).keys().take(limit) {
            if let Some(id) = keys::trailing_id(&key.map_err(engine_error)?)
                && let Some(job) = self.job(id)?
                && job.state == JobState::Queued
            {
                out.push(job);
            }
        }
        Ok(out)
    }

    pub fn next_job_at(&self) -> Result<Option<Timestamp>, StoreError> {
        Ok(self
            .trees
            .get(T::JobsDue)
            .first()
            .map_err(engine_error)?
            .and_then(|(key, _)| keys::read_u64(&key, 0))
            .map(|at| at as Timestamp))
    }

    pub fn webhooks_of(&self, project: u64) -> Result<Vec<StoredWebhook>, StoreError> {
        self.trees
            .get(T::Webhooks)
            .scan_prefix(keys::id(project))
            .values()
            .map(|v| decode(trees::name(T::Webhooks), &v.map_err(engine_error)?))
            .collect()
    }

    pub fn webhook(&self, id: u64) -> Result<Option<StoredWebhook>, StoreError> {
        Ok(self
            .all::<StoredWebhook>(T::Webhooks)?
            .into_iter()
            .find(|h| h.hook.id == id))
    }

    pub fn deliveries(&self, hook: u64, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        self.trees
            .get(T::Deliveries)
            .scan_prefix(keys::id(hook))
            .values()
            .rev()
            .take(limit)
            .map(|v| decode(trees::name(T::Deliveries), &v.map_err(engine_error)?))
            .collect()
    }

    pub fn user_settings(&self, user: UserId) -> Result<UserSettings, StoreError> {
        Ok(self
            .get(T::UserSettings, &keys::id(user))?
            .unwrap_or_default())
    }

    pub fn all_keys(&self) -> Result<Vec<SshKey>, StoreError> {
        self.all(T::Keys)
    }

    pub fn views(&self) -> Result<Vec<tack_protocol::SavedView>, StoreError> {
        self.all(T::Views)
    }

    pub fn activity_before(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Activity>, StoreError> {
        let end = keys::id(before.unwrap_or(u64::MAX));
        self.trees
            .get(T::Activity)
            .range(..end)
            .values()
            .rev()
            .take(limit)
            .map(|v| decode(trees::name(T::Activity), &v.map_err(engine_error)?))
            .collect()
    }
}
