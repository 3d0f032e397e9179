//! Stored forms of the job queue, webhooks and their deliveries, and people's settings.

use tack_protocol as wire;

use super::issues::Event;
use super::{Stored, stored_enum, stored_struct};
use crate::records;

stored_enum! {
    wire::JobState => JobState { Queued, Running, Failed, }
}

/// What a job does.
#[derive(Debug, Clone, bincode::Encode, bincode::Decode)]
pub enum JobKind {
    Webhook { hook: u64, event: Box<Event> },
    Email { user: u64, notification: u64 },
    Digest { user: u64 },
    DueReminders,
    Expire,
    Backup,
}

impl Stored for wire::JobKind {
    type Form = JobKind;
    fn to_form(&self) -> JobKind {
        match self {
            wire::JobKind::Webhook { hook, event } => JobKind::Webhook {
                hook: *hook,
                event: event.to_form(),
            },
            wire::JobKind::Email { user, notification } => JobKind::Email {
                user: *user,
                notification: *notification,
            },
            wire::JobKind::Digest { user } => JobKind::Digest { user: *user },
            wire::JobKind::DueReminders => JobKind::DueReminders,
            wire::JobKind::Expire => JobKind::Expire,
            wire::JobKind::Backup => JobKind::Backup,
        }
    }
    fn from_form(form: JobKind) -> Self {
        match form {
            JobKind::Webhook { hook, event } => wire::JobKind::Webhook {
                hook,
                event: Stored::from_form(event),
            },
            JobKind::Email { user, notification } => wire::JobKind::Email { user, notification },
            JobKind::Digest { user } => wire::JobKind::Digest { user },
            JobKind::DueReminders => wire::JobKind::DueReminders,
            JobKind::Expire => wire::JobKind::Expire,
            JobKind::Backup => wire::JobKind::Backup,
        }
    }
}

stored_struct! {
    wire::Job => Job {
        id: u64,
        kind: JobKind,
        state: JobState,
        attempts: u32,
        run_at: i64,
        created_at: i64,
        last_error: Option<String>,
        idempotency_key: String,
    }
}

stored_struct! {
    wire::Webhook => Webhook {
        id: u64,
        project: u64,
        project_key: String,
        url: String,
        events: Vec<String>,
        query: String,
        created_at: i64,
    }
}

stored_struct! {
    records::StoredWebhook => WebhookRecord {
        hook: Webhook,
        secret: String,
    }
}

stored_struct! {
    wire::Delivery => Delivery {
        id: u64,
        hook: u64,
        job: u64,
        event: String,
        seq: u64,
        attempt: u32,
        at: i64,
        status: Option<u16>,
        error: Option<String>,
        duration_ms: u64,
    }
}

stored_enum! {
    wire::EmailMode => EmailMode { Off, Instant, Digest, }
}

stored_struct! {
    wire::UserSettings => UserSettings {
        email_notifications: EmailMode,
        digest_watermark: u64,
    }
}
