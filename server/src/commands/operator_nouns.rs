//! The operators' nouns of `tack ctl`: sessions, jobs, backups, the audit log, webhooks and
//! server health — everything the admin console does, for scripts.

use clap::{Args, Subcommand};
use tack_protocol::{ActivityKind, AuditFilter, JobState, Request};

use super::requests::Usage;

#[derive(Debug, Subcommand)]
pub enum SessionCmd {
    /// Live SSH sessions and protocol connections.
    List,
    /// End a session or connection at once.
    Kick { id: u64 },
}

#[derive(Debug, Subcommand)]
pub enum JobCmd {
    List {
        /// queued, running or failed.
        #[arg(long)]
        state: Option<JobState>,
    },
    /// Put a failed job back in the queue.
    Retry { id: u64 },
    /// Remove a job from the queue.
    Drop { id: u64 },
    /// Run a scheduled job now: digest, due_reminders, expire or backup.
    Run { kind: String },
}

#[derive(Debug, Subcommand)]
pub enum BackupCmd {
    /// Backups in the backup directory, and the schedule.
    List,
    /// Take a backup now (into the backup directory, or to --out PATH on the server).
    Create {
        #[arg(long)]
        out: Option<String>,
    },
    /// Check a backup's header and checksum without restoring it.
    Verify { name: String },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// @handle or console.
    #[arg(long)]
    pub actor: Option<String>,
    #[arg(long)]
    pub project: Option<String>,
    /// An activity kind, e.g. issue_updated, key_removed.
    #[arg(long)]
    pub kind: Option<String>,
    /// Only entries at or after this date (YYYY-MM-DD, UTC).
    #[arg(long)]
    pub since: Option<String>,
    /// Only entries on or before this date (YYYY-MM-DD, UTC).
    #[arg(long)]
    pub until: Option<String>,
    /// Entries older than this sequence number.
    #[arg(long)]
    pub before: Option<u64>,
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
}

#[derive(Debug, Subcommand)]
pub enum WebhookCmd {
    /// POST a project's events to a URL, signed with the secret.
    Create {
        project: String,
        #[arg(long)]
        url: String,
        #[arg(long)]
        secret: String,
        /// Comma-separated event names (issue.created, issue.updated, …); default all.
        #[arg(long, default_value = "")]
        events: String,
        /// Only events about issues matching this query (`label:bug priority:>=high`).
        #[arg(long, short)]
        query: Option<String>,
    },
    List {
        project: String,
    },
    Delete {
        id: u64,
    },
    /// The delivery log: every attempt, its status and error.
    Deliveries {
        project: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum ViewCmd {
    /// Save a query under a name (saving the same name again replaces it).
    Save {
        name: String,
        #[arg(long, short)]
        query: String,
        /// The project it looks at; without it, every project you can read.
        #[arg(long)]
        project: Option<String>,
        /// list or board.
        #[arg(long, default_value = "list")]
        layout: tack_protocol::Layout,
        /// Let every member of the project see it.
        #[arg(long)]
        shared: bool,
    },
    List {
        #[arg(long)]
        project: Option<String>,
    },
    /// The issues the view shows now.
    Show {
        name: String,
    },
    Delete {
        name: String,
    },
}

pub fn view_request(cmd: ViewCmd) -> Request {
    match cmd {
        ViewCmd::Save {
            name,
            query,
            project,
            layout,
            shared,
        } => Request::SaveView {
            name,
            project,
            query,
            layout,
            shared,
        },
        ViewCmd::List { project } => Request::ListViews { project },
        ViewCmd::Show { name } => Request::ShowView { name },
        ViewCmd::Delete { name } => Request::DeleteView { name },
    }
}

fn day_ms(value: &str, end_of_day: bool) -> Result<i64, Usage> {
    let date = chrono::NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| Usage(format!("'{value}' is not a date; write YYYY-MM-DD")))?;
    let time = if end_of_day {
        date.and_hms_milli_opt(23, 59, 59, 999)
    } else {
        date.and_hms_opt(0, 0, 0)
    };
    time.map(|t| t.and_utc().timestamp_millis())
        .ok_or_else(|| Usage(format!("'{value}' is not a date")))
}

fn activity_kind(value: &str) -> Result<ActivityKind, Usage> {
    value
        .trim()
        .replace(['-', '.'], "_")
        .parse()
        .map_err(|_| {
            Usage(format!(
                "'{value}' is not an activity kind; e.g. issue_created, issue_updated, comment_added, key_removed, user_updated"
            ))
        })
}

pub fn audit_request(args: AuditArgs) -> Result<Request, Usage> {
    Ok(Request::Audit {
        filter: AuditFilter {
            actor: args.actor,
            project: args.project,
            kind: args.kind.as_deref().map(activity_kind).transpose()?,
            since: args
                .since
                .as_deref()
                .map(|d| day_ms(d, false))
                .transpose()?,
            until: args.until.as_deref().map(|d| day_ms(d, true)).transpose()?,
        },
        before: args.before,
        limit: args.limit,
    })
}

pub fn session_request(cmd: SessionCmd) -> Request {
    match cmd {
        SessionCmd::List => Request::ListSessions,
        SessionCmd::Kick { id } => Request::KickSession { id },
    }
}

pub fn job_request(cmd: JobCmd) -> Request {
    match cmd {
        JobCmd::List { state } => Request::ListJobs { state },
        JobCmd::Retry { id } => Request::RetryJob { id },
        JobCmd::Drop { id } => Request::DropJob { id },
        JobCmd::Run { kind } => Request::RunJob { kind },
    }
}

pub fn backup_request(cmd: BackupCmd) -> Request {
    match cmd {
        BackupCmd::List => Request::ListBackups,
        BackupCmd::Create { out } => Request::Backup {
            path: out.unwrap_or_default(),
        },
        BackupCmd::Verify { name } => Request::VerifyBackup { name },
    }
}

pub fn webhook_request(cmd: WebhookCmd) -> Request {
    match cmd {
        WebhookCmd::Create {
            project,
            url,
            secret,
            events,
            query,
        } => Request::CreateWebhook {
            project,
            url,
            secret,
            query,
            events: events
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_string)
                .collect(),
        },
        WebhookCmd::List { project } => Request::ListWebhooks { project },
        WebhookCmd::Delete { id } => Request::DeleteWebhook { id },
        WebhookCmd::Deliveries { project, limit } => Request::WebhookDeliveries { project, limit },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_dates_and_kinds_are_read_or_refused_with_advice() {
        assert_eq!(day_ms("1970-01-02", false).ok(), Some(86_400_000));
        assert_eq!(day_ms("1970-01-01", true).ok(), Some(86_399_999));
        assert!(
            day_ms("yesterday", false)
                .unwrap_err()
                .0
                .contains("YYYY-MM-DD")
        );
        assert_eq!(
            activity_kind("key-removed").ok(),
            Some(ActivityKind::KeyRemoved)
        );
        assert!(
            activity_kind("nonsense")
                .unwrap_err()
                .0
                .contains("issue_created")
        );
    }
}
