//! What the people who run tack see and steer: background jobs, webhooks, email preferences,
//! live sessions, server health and backups.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::api::Event;
use crate::model::{ActivityKind, ProjectId, Timestamp, UserId};

/// Where a job is. Finished jobs leave the queue (a webhook's delivery log keeps their trace).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Encode,
    Decode,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case", ascii_case_insensitive)]
pub enum JobState {
    /// Waiting for its time (a first run, or a retry after a backoff).
    Queued,
    /// Claimed by a worker right now.
    Running,
    /// Gave up after its last attempt (dead-lettered): retry or drop it.
    Failed,
}

/// What a job does.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// POST one event to one webhook.
    Webhook { hook: u64, event: Box<Event> },
    /// Mail one notification to its person.
    Email { user: UserId, notification: u64 },
    /// Mail a person everything since their last digest.
    Digest { user: UserId },
    /// Tell assignees about issues due within a day.
    DueReminders,
    /// Revoke invites past their expiry.
    Expire,
    /// Take a scheduled backup and prune old ones.
    Backup,
}

impl JobKind {
    pub fn name(&self) -> &'static str {
        match self {
            JobKind::Webhook { .. } => "webhook",
            JobKind::Email { .. } => "email",
            JobKind::Digest { .. } => "digest",
            JobKind::DueReminders => "due_reminders",
            JobKind::Expire => "expire",
            JobKind::Backup => "backup",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Job {
    pub id: u64,
    pub kind: JobKind,
    pub state: JobState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it may run next.
    pub run_at: Timestamp,
    pub created_at: Timestamp,
    pub last_error: Option<String>,
    /// Sent with every attempt (`X-Tack-Delivery`, `Message-ID`), so a receiver can drop a
    /// repeat of a delivery that was made but not recorded before a crash.
    pub idempotency_key: String,
}

/// How a person wants notifications by email.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    Encode,
    Decode,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case", ascii_case_insensitive)]
pub enum EmailMode {
    #[default]
    Off,
    Instant,
    Digest,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct UserSettings {
    pub email_notifications: EmailMode,
    /// The last notification a digest included.
    pub digest_watermark: u64,
}

/// A project's webhook. The secret is never sent back.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Webhook {
    pub id: u64,
    pub project: ProjectId,
    pub project_key: String,
    pub url: String,
    /// Event names (`issue.created`, …); empty means every event.
    pub events: Vec<String>,
    /// Only events about issues matching this query (empty: every event).
    pub query: String,
    pub created_at: Timestamp,
}

/// A webhook endpoint's circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    /// Deliveries wait until `until`, then one probe goes through.
    Open {
        until: Timestamp,
    },
    /// One probe is in flight; its outcome closes or reopens the breaker.
    HalfOpen,
}

impl std::fmt::Display for BreakerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BreakerState::Closed => "closed",
            BreakerState::Open { .. } => "open",
            BreakerState::HalfOpen => "half-open",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct WebhookStatus {
    pub hook: Webhook,
    pub breaker: BreakerState,
    pub consecutive_failures: u32,
}

/// One attempt to deliver an event to a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Delivery {
    pub id: u64,
    pub hook: u64,
    pub job: u64,
    pub event: String,
    pub seq: u64,
    pub attempt: u32,
    pub at: Timestamp,
    /// The HTTP status, when the endpoint answered.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, Serialize, Deserialize, strum::Display,
)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SessionKind {
    Ssh,
    Protocol,
    Console,
}

/// A live SSH session or protocol connection.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct SessionInfo {
    pub id: u64,
    pub kind: SessionKind,
    /// `@handle`, or what the connection is still waiting for.
    pub who: String,
    pub peer: String,
    pub since: Timestamp,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Health {
    pub version: String,
    pub uptime_secs: u64,
    pub store_bytes: u64,
    pub ssh_sessions: u32,
    pub connections: u32,
    pub requests_total: u64,
    pub errors_total: u64,
    pub rate_limited_total: u64,
    pub jobs_queued: u32,
    pub jobs_running: u32,
    pub jobs_failed: u32,
    /// Requests per second over the last minutes, oldest first, one sample per 5 s.
    pub requests_history: Vec<u32>,
    pub errors_history: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct BackupFile {
    pub name: String,
    pub bytes: u64,
    pub modified: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Backups {
    pub dir: String,
    /// The cron expression of scheduled backups, if any.
    pub schedule: Option<String>,
    pub retention: u32,
    pub files: Vec<BackupFile>,
}

/// Narrows the audit log. Every field left empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct AuditFilter {
    /// `@handle`, or `console`.
    pub actor: Option<String>,
    pub project: Option<String>,
    pub kind: Option<ActivityKind>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// The name an event goes by in webhook filters and payloads: `issue.created`, …
pub fn event_name(kind: ActivityKind) -> &'static str {
    use ActivityKind::*;
    match kind {
        UserCreated => "user.created",
        UserUpdated => "user.updated",
        KeyAdded => "key.added",
        KeyRemoved => "key.removed",
        TokenCreated => "token.created",
        TokenRevoked => "token.revoked",
        InviteCreated => "invite.created",
        InviteRedeemed => "invite.redeemed",
        InviteRevoked => "invite.revoked",
        ProjectCreated => "project.created",
        ProjectUpdated => "project.updated",
        MemberChanged => "project.member_changed",
        StatesChanged => "project.states_changed",
        IssueCreated => "issue.created",
        IssueUpdated => "issue.updated",
        IssueDeleted => "issue.deleted",
        CommentAdded => "comment.created",
        CommentEdited => "comment.updated",
        CommentDeleted => "comment.deleted",
        UserDeleted => "user.deleted",
        JobChanged => "job.changed",
        WebhookChanged => "webhook.changed",
        DueReminder => "issue.due_soon",
    }
}

/// The events a webhook may subscribe to.
pub const WEBHOOK_EVENTS: [&str; 10] = [
    "issue.created",
    "issue.updated",
    "issue.deleted",
    "issue.due_soon",
    "comment.created",
    "comment.updated",
    "comment.deleted",
    "project.updated",
    "project.member_changed",
    "project.states_changed",
];

#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    Encode,
    Decode,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case", ascii_case_insensitive)]
pub enum Layout {
    #[default]
    List,
    Board,
}

/// A saved query: personal, or shared with a project's members.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct SavedView {
    pub id: u64,
    pub name: String,
    /// Who saved it (0: the console).
    pub owner: UserId,
    /// The project it looks at; `None` looks across every project the viewer can read.
    pub project: Option<ProjectId>,
    pub project_key: Option<String>,
    /// Seen by every member of the project, not only its owner.
    pub shared: bool,
    /// In the query language, sorts included.
    pub query: String,
    pub layout: Layout,
    pub created_at: Timestamp,
}

/// A comment as an import carries it: author by handle (`None`: the console).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ImportComment {
    pub author: Option<String>,
    pub body: String,
    pub created_at: Timestamp,
    pub edited_at: Option<Timestamp>,
}

/// An issue as an import carries it; people by handle, the state by name.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ImportIssue {
    /// What the source calls it (`tack:12`, `github:34`, `csv:ABC-1`): importing the same
    /// source again updates this issue.
    pub source: String,
    /// Keep this number if it is free (a tack export).
    pub number: Option<u64>,
    pub title: String,
    pub description: String,
    /// A state name; `closed: true` without one picks the first done state.
    pub state: Option<String>,
    pub closed: bool,
    pub priority: crate::model::Priority,
    pub assignees: Vec<String>,
    pub labels: Vec<String>,
    pub estimate: Option<u32>,
    pub due: Option<String>,
    pub rank: Option<String>,
    pub creator: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub comments: Vec<ImportComment>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ImportReport {
    pub created: u32,
    pub updated: u32,
    /// Placeholder people made for names the server did not know.
    pub placeholders: Vec<String>,
}

/// An issue and its comments, for an export.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ExportedIssue {
    pub issue: crate::model::Issue,
    pub comments: Vec<crate::model::Comment>,
}

/// Issues created and closed in one week (Monday to Sunday, UTC).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct WeekCount {
    /// The Monday, `YYYY-MM-DD`.
    pub week: String,
    pub created: u32,
    pub closed: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Bucket {
    pub label: String,
    pub count: u32,
}

/// Open issues of the burndown set at the end of one day.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct DayCount {
    pub day: String,
    pub open: u32,
}

/// A project's figures.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Insights {
    pub project: String,
    /// Created and closed per week, oldest first; closed per week is the throughput.
    pub weeks: Vec<WeekCount>,
    /// Cycle time (first started → done) of the issues done in the period.
    pub cycle_time: Vec<Bucket>,
    pub cycle_time_median_hours: Option<u32>,
    /// Open issues per workflow state, in workflow order.
    pub work_in_progress: Vec<Bucket>,
    /// The query the burndown counts (empty: every issue).
    pub burndown_query: String,
    pub burndown: Vec<DayCount>,
}
