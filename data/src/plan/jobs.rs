//! Jobs, webhooks and due reminders, and the jobs a change causes, queued in the change's own
//! transaction: a delivery per matching webhook, an email per notification to a person who
//! wants them instantly.

use tack_protocol::{
    ActivityKind, Delivery, EmailMode, Event, IssueId, Job, JobKind, JobState, ProjectId,
    Timestamp, WEBHOOK_EVENTS, event_name,
};

use super::{Counter, Entry, Record, RecordKey, Scan, WriteTx, log};
use crate::records::StoredWebhook;
use crate::{JobOutcome, Write, WriteError};

/// How many delivery attempts a webhook's log keeps.
const DELIVERY_LOG: usize = 200;

fn enqueue(
    tx: &mut dyn WriteTx,
    kind: JobKind,
    key: String,
    at: Timestamp,
    run_at: Timestamp,
) -> Result<(), WriteError> {
    let job = Job {
        id: tx.next_id(Counter::Job),
        kind,
        state: JobState::Queued,
        attempts: 0,
        run_at,
        created_at: at,
        last_error: None,
        idempotency_key: key,
    };
    tx.insert(Record::Job(job))
}

/// Whether `key` happened before; if not, it has now.
fn first_time(tx: &mut dyn WriteTx, key: String, at: Timestamp) -> Result<bool, WriteError> {
    if tx.exists(&RecordKey::Dedupe(key.clone()))? {
        return Ok(false);
    }
    tx.put(Record::Dedupe { key, at })?;
    Ok(true)
}

/// Queues a scheduled job unless one with the same key was queued before.
pub(super) fn enqueue_once(
    tx: &mut dyn WriteTx,
    kind: JobKind,
    key: &str,
    at: Timestamp,
    run_at: Timestamp,
) -> Result<(), WriteError> {
    if first_time(tx, key.to_owned(), at)? {
        enqueue(tx, kind, key.to_owned(), at, run_at)?;
    }
    Ok(())
}

/// Records a job's outcome, and a webhook's delivery attempt in its log.
pub(super) fn finish_job(
    tx: &mut dyn WriteTx,
    id: u64,
    outcome: &JobOutcome,
    delivery: Option<&Delivery>,
) -> Result<(), WriteError> {
    // A job dropped by an admin while it ran is gone: its outcome has nowhere to go.
    let Some(mut job) = tx.job(id)? else {
        return Ok(());
    };
    match outcome {
        JobOutcome::Done => tx.delete(&RecordKey::Job(id))?,
        JobOutcome::Retry { run_at, error } => {
            job.attempts += 1;
            job.run_at = *run_at;
            job.last_error = Some(error.clone());
            tx.put(Record::Job(job))?;
        }
        JobOutcome::Failed { error } => {
            job.attempts += 1;
            job.state = JobState::Failed;
            job.last_error = Some(error.clone());
            tx.put(Record::Job(job))?;
        }
        JobOutcome::Postpone { run_at } => {
            job.run_at = *run_at;
            tx.put(Record::Job(job))?;
        }
    }
    if let Some(delivery) = delivery {
        let mut delivery = delivery.clone();
        delivery.id = tx.next_id(Counter::Delivery);
        let hook = delivery.hook;
        tx.insert(Record::Delivery(delivery))?;
        let kept = tx.scan(Scan::DeliveriesOf(hook))?;
        for old in kept.iter().take(kept.len().saturating_sub(DELIVERY_LOG)) {
            tx.delete(old)?;
        }
    }
    Ok(())
}

/// A failed job back in the queue, from its first attempt.
pub(super) fn retry_job(tx: &mut dyn WriteTx, id: u64, at: Timestamp) -> Result<Job, WriteError> {
    let mut job = tx.require_job(id)?;
    job.state = JobState::Queued;
    job.attempts = 0;
    job.run_at = at;
    tx.put(Record::Job(job.clone()))?;
    Ok(job)
}

/// A webhook with id 0 is new; returns its id.
pub(super) fn put_webhook(tx: &mut dyn WriteTx, hook: &StoredWebhook) -> Result<u64, WriteError> {
    let mut hook = hook.clone();
    if hook.hook.id == 0 {
        hook.hook.id = tx.next_id(Counter::Webhook);
    }
    let id = hook.hook.id;
    tx.put(Record::Webhook(hook))?;
    Ok(id)
}

/// Removes a webhook and its delivery log.
pub(super) fn delete_webhook(
    tx: &mut dyn WriteTx,
    project: ProjectId,
    id: u64,
) -> Result<(), WriteError> {
    if tx.webhook(project, id)?.is_none() {
        return Err(WriteError::Missing(format!("webhook #{id}")));
    }
    tx.delete(&RecordKey::Webhook { project, id })?;
    for delivery in tx.scan(Scan::DeliveriesOf(id))? {
        tx.delete(&delivery)?;
    }
    Ok(())
}

/// Logs a due-date reminder for an issue once per due date.
pub(super) fn remind(
    tx: &mut dyn WriteTx,
    write: &Write,
    issue: IssueId,
    due: &str,
) -> Result<Vec<Event>, WriteError> {
    if !first_time(tx, format!("due/{issue}/{due}"), write.at)? {
        return Ok(Vec::new());
    }
    let issue = tx.require_issue(issue)?;
    Ok(vec![log(
        tx,
        write,
        Entry::issue(ActivityKind::DueReminder, issue),
    )?])
}

/// Queues what the committed events cause: a delivery per webhook that wants the event, and an
/// email per notification to a person who wants them instantly.
pub(super) fn enqueue_followups(
    tx: &mut dyn WriteTx,
    write: &Write,
    events: &[Event],
) -> Result<(), WriteError> {
    for event in events {
        let Some(project) = event.activity.project else {
            continue;
        };
        let name = event_name(event.activity.kind);
        if !WEBHOOK_EVENTS.contains(&name) {
            continue;
        }
        for key in tx.scan(Scan::WebhooksOf(project))? {
            let RecordKey::Webhook { project, id } = key else {
                continue;
            };
            let Some(hook) = tx.webhook(project, id)? else {
                continue;
            };
            if !hook.hook.events.is_empty() && !hook.hook.events.iter().any(|e| e == name) {
                continue;
            }
            enqueue(
                tx,
                JobKind::Webhook {
                    hook: id,
                    event: Box::new(event.clone()),
                },
                format!("webhook-{id}-{}", event.seq),
                write.at,
                write.at,
            )?;
        }
    }
    if let Some(last) = events.last() {
        for (user, _) in &write.follow.notify {
            if tx.settings(*user)?.email_notifications == EmailMode::Instant {
                enqueue(
                    tx,
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
