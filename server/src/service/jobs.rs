//! The job queue as admins see it: list, retry a failed job, drop one, or run a scheduled
//! job now.

use tack_data::Op;
use tack_protocol::{ApiError, JobKind, JobState, ResponseBody};

use super::store_error;
use super::{Caller, Service, change, now_ms};

impl Service {
    pub(crate) async fn list_jobs(
        &self,
        caller: &Caller,
        state: Option<JobState>,
    ) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "see the job queue")?;
        let running = self.runtime().jobs.running();
        let mut jobs = self.store.jobs(None).await.map_err(store_error)?;
        for job in &mut jobs {
            if job.state == JobState::Queued && running.contains(&job.id) {
                job.state = JobState::Running;
            }
        }
        jobs.retain(|job| state.is_none_or(|s| job.state == s));
        Ok(ResponseBody::Jobs(jobs))
    }

    /// (queued, running, failed).
    pub async fn job_counts(&self) -> (u32, u32, u32) {
        let running = self.runtime().jobs.running().len() as u32;
        let jobs = self
            .store
            .jobs(None)
            .await
            .map_err(store_error)
            .unwrap_or_default();
        let failed = jobs.iter().filter(|j| j.state == JobState::Failed).count() as u32;
        let queued = (jobs.len() as u32).saturating_sub(failed + running);
        (queued, running, failed)
    }

    async fn job_or_not_found(&self, id: u64) -> Result<tack_protocol::Job, ApiError> {
        self.store.job(id).await.map_err(store_error)?.ok_or_else(|| {
            ApiError::not_found(format!(
                "no job #{id} (finished jobs leave the queue); `tack ctl job list` shows the queue"
            ))
        })
    }

    pub(crate) async fn retry_job(
        &self,
        caller: &Caller,
        id: u64,
    ) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "retry jobs")?;
        let job = self.job_or_not_found(id).await?;
        if job.state != JobState::Failed {
            return Err(ApiError::invalid(
                "job",
                format!("job #{id} has not failed; it is {}", job.state),
            ));
        }
        self.commit(
            caller,
            Op::RetryJob { id },
            vec![change("state", "failed", "queued")],
        )
        .await?;
        self.runtime().jobs.poke();
        Ok(ResponseBody::Job(self.job_or_not_found(id).await?))
    }

    pub(crate) async fn drop_job(
        &self,
        caller: &Caller,
        id: u64,
    ) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "drop jobs")?;
        let job = self.job_or_not_found(id).await?;
        if self.runtime().jobs.is_running(id) {
            return Err(ApiError::invalid(
                "job",
                format!("job #{id} is running; drop it once it has finished or failed"),
            ));
        }
        self.commit(
            caller,
            Op::DropJob { id },
            vec![change("job", job.kind.name(), "dropped")],
        )
        .await?;
        Ok(ResponseBody::Job(job))
    }

    pub(crate) async fn run_job(
        &self,
        caller: &Caller,
        kind: String,
    ) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "run scheduled jobs")?;
        let kinds: Vec<JobKind> = match kind.trim() {
            "due_reminders" | "reminders" => vec![JobKind::DueReminders],
            "expire" => vec![JobKind::Expire],
            "backup" => vec![JobKind::Backup],
            "digest" => self
                .digest_readers()
                .await
                .into_iter()
                .map(|user| JobKind::Digest { user })
                .collect(),
            other => {
                return Err(ApiError::invalid(
                    "kind",
                    format!(
                        "'{}' is not a scheduled job; run one of digest, due_reminders, expire, backup",
                        super::validate::clean_line(other)
                    ),
                ));
            }
        };
        let at = now_ms();
        for (n, kind) in kinds.into_iter().enumerate() {
            let key = format!("{}-now-{at}-{n}", kind.name());
            self.commit(
                caller,
                Op::EnqueueJob {
                    kind,
                    key,
                    run_at: at,
                },
                Vec::new(),
            )
            .await?;
        }
        self.runtime().jobs.poke();
        self.list_jobs(caller, Some(JobState::Queued)).await
    }
}
