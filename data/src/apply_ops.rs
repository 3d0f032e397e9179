//! Applying the operational writes — jobs, webhooks, email settings, account deletion and due
//! reminders — and queueing the jobs a change causes, in the change's own transaction.

use tack_protocol::{
    ActivityKind, Delivery, EmailMode, Event, Issue, IssueId, Job, JobKind, JobState, Timestamp,
    UserId, UserSettings, WEBHOOK_EVENTS, event_name,
};

use crate::apply::{Counters, Entry, Tx};
use crate::keys;
use crate::records::{StoredToken, StoredWebhook};
use crate::trees::T;
use crate::{JobOutcome, Write, WriteError};

/// How many delivery attempts a webhook's log keeps.
const DELIVERY_LOG: usize = 200;

pub fn job_due_key(run_at: Timestamp, id: u64) -> [u8; 16] {
    keys::pair(run_at.max(0) as u64, id)
}

impl Tx<'_> {
    pub(crate) fn require_job(&self, id: u64) -> Result<Job, WriteError> {
        self.get(T::Jobs, &keys::id(id))?
            .ok_or_else(|| WriteError::Missing(format!("job #{id}")))
    }

    fn put_job(&self, job: &Job) -> Result<(), WriteError> {
        self.put(T::Jobs, &keys::id(job.id), job)?;
        if job.state == JobState::Queued {
            self.put_raw(T::JobsDue, &job_due_key(job.run_at, job.id), &[])?;
        }
        Ok(())
    }

    fn remove_job(&self, job: &Job) -> Result<(), WriteError> {
        self.del(T::Jobs, &keys::id(job.id))?;
        self.del(T::JobsDue, &job_due_key(job.run_at, job.id))
    }

    /// Queues a job; returns it.
    pub(crate) fn enqueue(
        &self,
        c: &mut Counters,
        kind: JobKind,
        key: String,
        at: Timestamp,
        run_at: Timestamp,
    ) -> Result<Job, WriteError> {
        let job = Job {
            id: c.next_job,
            kind,
            state: JobState::Queued,
            attempts: 0,
            run_at,
            created_at: at,
            last_error: None,
            idempotency_key: key,
        };
        c.next_job += 1;
        self.put_job(&job)?;
        Ok(job)
    }

    /// Queues a job unless one with the same key was queued before (scheduled jobs).
    pub(crate) fn enqueue_once(
        &self,
        c: &mut Counters,
        kind: JobKind,
        key: &str,
        at: Timestamp,
        run_at: Timestamp,
    ) -> Result<(), WriteError> {
        if self.get_raw(T::Dedupe, key.as_bytes())?.is_some() {
            return Ok(());
        }
        self.put_raw(T::Dedupe, key.as_bytes(), &at.to_be_bytes())?;
        self.enqueue(c, kind, key.to_string(), at, run_at)?;
        Ok(())
    }

    pub(crate) fn finish_job(
        &self,
        c: &mut Counters,
        id: u64,
        outcome: &JobOutcome,
        delivery: Option<&Delivery>,
    ) -> Result<(), WriteError> {
        // A job dropped by an admin while it ran is gone: its outcome has nowhere to go.
        let Some(mut job) = self.get::<Job>(T::Jobs, &keys::id(id))? else {
            return Ok(());
        };
        self.del(T::JobsDue, &job_due_key(job.run_at, job.id))?;
        match outcome {
            JobOutcome::Done => self.remove_job(&job)?,
            JobOutcome::Retry { run_at, error } => {
                job.attempts += 1;
                job.run_at = *run_at;
                job.last_error = Some(error.clone());
                self.put_job(&job)?;
            }
            JobOutcome::Failed { error } => {
                job.attempts += 1;
                job.state = JobState::Failed;
                job.last_error = Some(error.clone());
                self.put_job(&job)?;
            }
            JobOutcome::Postpone { run_at } => {
                job.run_at = *run_at;
                self.put_job(&job)?;
            }
        }
        if let Some(delivery) = delivery {
            let mut delivery = delivery.clone();
            delivery.id = c.next_delivery;
            c.next_delivery += 1;
            self.put(
                T::Deliveries,
                &keys::pair(delivery.hook, delivery.id),
                &delivery,
            )?;
            let kept = self.keys_with_prefix(T::Deliveries, &keys::id(delivery.hook))?;
            for old in kept.iter().take(kept.len().saturating_sub(DELIVERY_LOG)) {
                self.del(T::Deliveries, old)?;
            }
        }
        Ok(())
    }

    /// A failed job back in the queue, from its first attempt.
    pub(crate) fn retry_job(&self, id: u64, at: Timestamp) -> Result<Job, WriteError> {
        let mut job = self.require_job(id)?;
        self.del(T::JobsDue, &job_due_key(job.run_at, job.id))?;
        job.state = JobState::Queued;
        job.attempts = 0;
        job.run_at = at;
        self.put_job(&job)?;
        Ok(job)
    }

    pub(crate) fn drop_job(&self, id: u64) -> Result<Job, WriteError> {
        let job = self.require_job(id)?;
        self.remove_job(&job)?;
        Ok(job)
    }

    pub(crate) fn put_webhook(
        &self,
        c: &mut Counters,
        hook: &StoredWebhook,
    ) -> Result<StoredWebhook, WriteError> {
        let mut hook = hook.clone();
        if hook.hook.id == 0 {
            hook.hook.id = c.next_webhook;
            c.next_webhook += 1;
        }
        self.put(
            T::Webhooks,
            &keys::pair(hook.hook.project, hook.hook.id),
            &hook,
        )?;
        Ok(hook)
    }

    pub(crate) fn delete_webhook(
        &self,
        project: u64,
        id: u64,
    ) -> Result<StoredWebhook, WriteError> {
        let hook: StoredWebhook = self
            .get(T::Webhooks, &keys::pair(project, id))?
            .ok_or_else(|| WriteError::Missing(format!("webhook #{id}")))?;
        self.del(T::Webhooks, &keys::pair(project, id))?;
        for key in self.keys_with_prefix(T::Deliveries, &keys::id(id))? {
            self.del(T::Deliveries, &key)?;
        }
        Ok(hook)
    }

    pub(crate) fn settings_of(&self, user: UserId) -> Result<UserSettings, WriteError> {
        Ok(self
            .get(T::UserSettings, &keys::id(user))?
            .unwrap_or_default())
    }

    pub(crate) fn put_settings(
        &self,
        user: UserId,
        settings: &UserSettings,
    ) -> Result<(), WriteError> {
        self.put(T::UserSettings, &keys::id(user), settings)
    }

    /// Removes an account and what only it owned; its assignments move to `reassign_to`.
    pub(crate) fn delete_user(
        &self,
        c: &mut Counters,
        write: &Write,
        id: UserId,
        reassign_to: Option<UserId>,
    ) -> Result<Vec<Event>, WriteError> {
        let user = self.require_user(id)?;
        if let Some(to) = reassign_to {
            self.require_user(to)?;
        }
        let mut events = Vec::new();
        for key in self.keys_with_prefix(T::IdxAssignee, &keys::id(id))? {
            let Some(issue_id) = keys::trailing_id(&key) else {
                continue;
            };
            let current = self.require_issue(issue_id)?;
            let mut next: Issue = current.clone();
            next.assignees.retain(|u| *u != id);
            if let Some(to) = reassign_to
                && !next.assignees.contains(&to)
            {
                next.assignees.push(to);
            }
            next.updated_at = write.at;
            let next = self.replace_issue(&current, next)?;
            events.push(self.log(c, write, Entry::issue(ActivityKind::IssueUpdated, next))?);
        }
        for key in self.keys_with_prefix(T::KeysByUser, &keys::id(id))? {
            self.del(T::KeysByUser, &key)?;
            if let Some(fingerprint) = key.get(8..).and_then(|f| std::str::from_utf8(f).ok()) {
                self.del(T::Keys, fingerprint.as_bytes())?;
            }
        }
        for key in self.keys_with_prefix(T::Notifications, &keys::id(id))? {
            self.del(T::Notifications, &key)?;
        }
        self.del(T::Totp, &keys::id(id))?;
        self.del(T::UserSettings, &keys::id(id))?;
        self.del(T::Users, &keys::id(id))?;
        self.del(T::UsersByHandle, user.handle.as_bytes())?;
        events.push(self.log(
            c,
            write,
            Entry::account(ActivityKind::UserDeleted, format!("@{}", user.handle)),
        )?);
        Ok(events)
    }

    /// Revokes every token of a deleted account (their records stay, for the audit trail).
    pub(crate) fn revoke_tokens(&self, tokens: &[StoredToken]) -> Result<(), WriteError> {
        for stored in tokens {
            let mut stored = stored.clone();
            stored.token.revoked = true;
            self.put(T::Tokens, stored.token.id.as_bytes(), &stored)?;
        }
        Ok(())
    }

    /// Logs a due-date reminder for an issue once per due date; `None` when it was sent before.
    pub(crate) fn remind(
        &self,
        c: &mut Counters,
        write: &Write,
        issue: IssueId,
        due: &str,
    ) -> Result<Vec<Event>, WriteError> {
        let key = format!("due/{issue}/{due}");
        if self.get_raw(T::Dedupe, key.as_bytes())?.is_some() {
            return Ok(Vec::new());
        }
        self.put_raw(T::Dedupe, key.as_bytes(), &write.at.to_be_bytes())?;
        let issue = self.require_issue(issue)?;
        Ok(vec![self.log(
            c,
            write,
            Entry::issue(ActivityKind::DueReminder, issue),
        )?])
    }
}

/// The jobs a committed change causes: a delivery per matching webhook, and an email per
/// notification to a person who wants them instantly.
pub fn enqueue_followups(
    tx: &Tx<'_>,
    write: &Write,
    events: &[Event],
    c: &mut Counters,
) -> Result<(), WriteError> {
    for event in events {
        let Some(project) = event.activity.project else {
            continue;
        };
        let name = event_name(event.activity.kind);
        if !WEBHOOK_EVENTS.contains(&name) {
            continue;
        }
        for key in tx.keys_with_prefix(T::Webhooks, &keys::id(project))? {
            let Some(hook) = tx.get::<StoredWebhook>(T::Webhooks, &key)? else {
                continue;
            };
            if !hook.hook.events.is_empty() && !hook.hook.events.iter().any(|e| e == name) {
                continue;
            }
            tx.enqueue(
                c,
                JobKind::Webhook {
                    hook: hook.hook.id,
                    event: Box::new(event.clone()),
                },
                format!("webhook-{}-{}", hook.hook.id, event.seq),
                write.at,
                write.at,
            )?;
        }
    }
    if let Some(last) = events.last() {
        for (user, _) in &write.follow.notify {
            if tx.settings_of(*user)?.email_notifications == EmailMode::Instant {
                tx.enqueue(
                    c,
                    JobKind::Email {
                        user: *user,
                        notification: last.seq,
                    },
                    format!("email-{user}-{}", last.seq),
                    write.at,
                    write.at,
                )?;
            }
        }
    }
    Ok(())
}
