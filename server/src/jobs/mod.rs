//! Background jobs: a durable queue in the store, worked by a few workers. A job is queued in
//! the same transaction as the change that causes it, survives restarts and kill -9 (it runs at
//! least once; its idempotency key lets a receiver drop a repeat), retries with exponential
//! backoff and jitter, and after its last attempt waits in the console as failed.

mod email;
mod schedule;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use tack_data::{JobOutcome, Op, Write};
use tack_protocol::{Actor, Delivery, Job, JobKind, JobState, Timestamp};
use tokio_util::sync::CancellationToken;

use crate::runtime::JobsState;
pub use email::{Mailer, MailerError};
pub use schedule::Schedule;
pub use webhook::WebhookClient;

use crate::service::{Service, now_ms};

#[derive(Debug, Clone)]
pub struct JobSettings {
    pub concurrency: usize,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How long a claimed job is this node's alone (several nodes on one database).
    pub lease: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            concurrency: 4,
            max_attempts: 8,
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
            lease: Duration::from_secs(300),
        }
    }
}

/// How one run of a job went.
pub(crate) enum Ran {
    Done,
    /// Worth another attempt.
    Failed(String),
    /// Retrying cannot help (no SMTP configured, say): dead-letter it now.
    Hopeless(String),
    /// Not attempted; try at this time without counting an attempt.
    Postpone(Timestamp),
}

/// The wait before the next attempt: base · 2^attempts, capped, times a jitter in [0.5, 1.0)
/// so that jobs failing together do not retry together.
pub fn backoff(settings: &JobSettings, attempts: u32) -> Duration {
    let exp = settings
        .retry_base
        .saturating_mul(2u32.saturating_pow(attempts.min(30)));
    let capped = exp.min(settings.retry_max);
    capped.mul_f64(rand::random_range(0.5..1.0))
}

pub struct Workers {
    service: Arc<Service>,
    settings: JobSettings,
    webhooks: WebhookClient,
    mailer: Option<Mailer>,
    schedule: Schedule,
}

impl Workers {
    pub fn new(
        service: Arc<Service>,
        settings: JobSettings,
        webhooks: WebhookClient,
        mailer: Option<Mailer>,
        schedule: Schedule,
    ) -> Arc<Workers> {
        Arc::new(Workers {
            service,
            settings,
            webhooks,
            mailer,
            schedule,
        })
    }

    fn state(&self) -> &JobsState {
        &self.service.runtime().jobs
    }

    /// Claims due jobs while there are free workers; sleeps until the next is due or one is
    /// queued. Stops taking jobs at shutdown (a job cut short runs again after the restart).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        self.state().set_workers_running(true);
        tokio::spawn(self.clone().schedule_loop(shutdown.clone()));
        let slots = Arc::new(tokio::sync::Semaphore::new(
            self.settings.concurrency.max(1),
        ));
        loop {
            let free = slots.available_permits();
            let mut next_wake = Duration::from_secs(60);
            if free > 0 {
                let store = self.service.store();
                let wanted = free + self.state().running().len();
                let now = now_ms();
                let found = futures::future::try_join(
                    store.claim_due_jobs(now, wanted, self.settings.lease),
                    store.next_job_at(),
                )
                .await;
                match found {
                    Ok((due, next)) => {
                        for job in due {
                            let Ok(permit) = slots.clone().try_acquire_owned() else {
                                break;
                            };
                            if !self.state().claim(job.id) {
                                continue;
                            }
                            let workers = self.clone();
                            tokio::spawn(async move {
                                // The queue was read before the claim: a run that finished in
                                // between has recorded its outcome, so read the job again
                                // rather than run it twice.
                                match workers.service.store().job(job.id).await {
                                    Ok(Some(current))
                                        if current.state == JobState::Queued
                                            && current.attempts == job.attempts
                                            && current.run_at <= now_ms() =>
                                    {
                                        workers.clone().work(current).await;
                                    }
                                    _ => workers.state().release(job.id),
                                }
                                drop(permit);
                                workers.state().poke();
                            });
                        }
                        if let Some(next) = next {
                            let wait = (next - now_ms()).clamp(0, 60_000) as u64;
                            next_wake = Duration::from_millis(wait.max(20));
                        }
                    }
                    Err(err) => tracing::error!(error = %err, "cannot read the job queue"),
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.state().wake.notified() => {}
                _ = tokio::time::sleep(next_wake) => {}
            }
        }
        self.state().set_workers_running(false);
    }

    /// Runs one job in its own task, so that a panic fails the job, not the worker.
    async fn work(self: Arc<Self>, job: Job) {
        let id = job.id;
        let kind = job.kind.name();
        let span = tracing::info_span!("job", job = id, kind, attempt = job.attempts + 1);
        let runner = self.clone();
        let run_job = job.clone();
        let result = tokio::spawn(tracing::Instrument::instrument(
            async move { runner.execute(&run_job).await },
            span,
        ))
        .await;
        let (ran, delivery) = match result {
            Ok(ran) => ran,
            Err(err) => {
                tracing::error!(job = id, kind, error = %err, "job panicked");
                (Ran::Failed(format!("the job panicked: {err}")), None)
            }
        };
        let outcome = self.outcome(&job, ran);
        if let JobOutcome::Failed { error } = &outcome {
            tracing::warn!(job = id, kind, error = %error, "job failed for the last time");
        }
        let write = Write {
            actor: Actor::Console,
            at: now_ms(),
            op: Op::FinishJob {
                id,
                outcome,
                delivery,
            },
            changes: Vec::new(),
            follow: Default::default(),
        };
        if let Err(err) = self.service.store().submit(write).wait().await {
            tracing::error!(job = id, error = %err, "cannot record a job's outcome; it will run again");
        }
        self.state().release(id);
    }

    fn outcome(&self, job: &Job, ran: Ran) -> JobOutcome {
        match ran {
            Ran::Done => JobOutcome::Done,
            Ran::Postpone(run_at) => JobOutcome::Postpone { run_at },
            Ran::Hopeless(error) => JobOutcome::Failed { error },
            Ran::Failed(error) if job.attempts + 1 >= self.settings.max_attempts => {
                JobOutcome::Failed {
                    error: format!(
                        "{error} (gave up after {} attempts)",
                        self.settings.max_attempts
                    ),
                }
            }
            Ran::Failed(error) => {
                let wait = backoff(&self.settings, job.attempts);
                tracing::info!(job = job.id, error = %error, retry_in_ms = wait.as_millis() as u64, "job failed; will retry");
                JobOutcome::Retry {
                    run_at: now_ms() + wait.as_millis() as i64,
                    error,
                }
            }
        }
    }

    async fn execute(&self, job: &Job) -> (Ran, Option<Delivery>) {
        match &job.kind {
            JobKind::Webhook { hook, event } => {
                webhook::deliver(&self.service, &self.webhooks, job, *hook, event).await
            }
            JobKind::Email { user, notification } => (
                email::send_notification(
                    &self.service,
                    self.mailer.as_ref(),
                    job,
                    *user,
                    *notification,
                )
                .await,
                None,
            ),
            JobKind::Digest { user } => (
                email::send_digest(&self.service, self.mailer.as_ref(), job, *user).await,
                None,
            ),
            JobKind::DueReminders => (
                schedule::due_reminders(&self.service, &self.schedule).await,
                None,
            ),
            JobKind::Expire => (schedule::expire(&self.service).await, None),
            JobKind::Backup => (schedule::backup(&self.service, &self.schedule).await, None),
        }
    }

    async fn schedule_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let mut schedule = self.schedule.clone();
        loop {
            schedule.tick(&self.service).await;
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_stops_at_the_cap() {
        let settings = JobSettings {
            retry_base: Duration::from_millis(100),
            retry_max: Duration::from_secs(1),
            ..Default::default()
        };
        for attempts in 0..4 {
            let full = Duration::from_millis(100 * 2u64.pow(attempts));
            let wait = backoff(&settings, attempts);
            assert!(wait >= full / 2 && wait < full, "{attempts}: {wait:?}");
        }
        assert!(backoff(&settings, 40) < Duration::from_secs(1));
    }
}
