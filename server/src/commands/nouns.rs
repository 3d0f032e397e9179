//! The `tack ctl` command tree: nouns and verbs, as clap parses them (`requests` turns each
//! into the request it sends).

use std::path::PathBuf;

use clap::Subcommand;

use super::operator_nouns::{AuditArgs, BackupCmd, JobCmd, SessionCmd, ViewCmd, WebhookCmd};
use tack_protocol::{Priority, ProjectRole, StateCategory};

#[derive(Debug, Subcommand)]
pub enum Noun {
    /// Who this connection is.
    Whoami,
    #[command(subcommand)]
    User(UserCmd),
    #[command(subcommand)]
    Key(KeyCmd),
    #[command(subcommand)]
    Token(TokenCmd),
    #[command(subcommand)]
    Invite(InviteCmd),
    #[command(subcommand)]
    Project(ProjectCmd),
    #[command(subcommand)]
    Issue(IssueCmd),
    #[command(subcommand)]
    Comment(CommentCmd),
    #[command(subcommand)]
    Activity(ActivityCmd),
    /// Your notifications; `inbox read` marks them read.
    Inbox {
        #[command(subcommand)]
        action: Option<InboxCmd>,
        /// Only unread ones.
        #[arg(long)]
        unread: bool,
    },
    #[command(subcommand)]
    Session(SessionCmd),
    #[command(subcommand)]
    Job(JobCmd),
    #[command(subcommand)]
    Backup(BackupCmd),
    /// The audit log, newest first, narrowed by actor, project, kind and dates (server admins).
    Audit(AuditArgs),
    #[command(subcommand)]
    Webhook(WebhookCmd),
    /// Version, uptime, store size, sessions, requests, errors and the job queue.
    Health,
    /// Saved views: named queries, personal or shared with a project.
    #[command(subcommand)]
    View(ViewCmd),
    /// A project's figures: created vs closed per week, cycle time, work in progress, burndown.
    Insights {
        project: String,
        /// The issues the burndown counts (default: all).
        #[arg(long, short)]
        query: Option<String>,
        #[arg(long, default_value_t = 12)]
        weeks: u32,
    },
    /// A project (or everything) as JSON (docs/export.md) or CSV.
    Export(super::transfer::ExportArgs),
    /// Issues from a tack export, a CSV file, or GitHub's issue list; re-running updates.
    #[command(subcommand)]
    Import(super::transfer::ImportCmd),
    /// Full-text search over titles, descriptions and comments, best match first.
    Search {
        text: Vec<String>,
        #[arg(long)]
        project: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Print events as JSON lines as they happen; reconnects and resumes where it left off.
    Watch {
        #[arg(long)]
        project: Option<String>,
        /// Replay events after this sequence number first.
        #[arg(long)]
        after: Option<u64>,
        /// Only events about issues that match this query.
        #[arg(long, short)]
        query: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    Create {
        handle: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Make the user a server admin.
        #[arg(long)]
        admin: bool,
    },
    List,
    Disable {
        handle: String,
    },
    Enable {
        handle: String,
    },
    /// Change a person's name, email, role or email notifications.
    Update {
        handle: String,
        #[arg(long)]
        name: Option<String>,
        /// An address, or "none".
        #[arg(long)]
        email: Option<String>,
        /// admin or user.
        #[arg(long)]
        role: Option<String>,
        /// off, instant or digest.
        #[arg(long)]
        email_notifications: Option<tack_protocol::EmailMode>,
    },
    /// Delete an account; its assignments move to --reassign-to (or are dropped).
    Delete {
        handle: String,
        #[arg(long)]
        reassign_to: Option<String>,
    },
    /// A person's email notification setting.
    Settings {
        handle: Option<String>,
    },
    /// Give a placeholder's issues and comments to a real account, and remove the placeholder.
    Merge {
        from: String,
        #[arg(long)]
        into: String,
    },
    /// Lift the lock that too many wrong two-factor codes put on an account.
    Unlock {
        handle: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Add an SSH public key: pass the authorized_keys line, - to read it from standard input,
    /// or --file PATH (on your machine; over ssh, pipe it in).
    Add {
        line: Option<String>,
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long)]
        user: Option<String>,
    },
    List {
        #[arg(long)]
        user: Option<String>,
        /// Every user's keys (server admins).
        #[arg(long, conflicts_with = "user")]
        all: bool,
    },
    Remove {
        fingerprint: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Create an API token; it is printed once and never again.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        user: Option<String>,
    },
    List {
        #[arg(long)]
        user: Option<String>,
    },
    Revoke {
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum InviteCmd {
    Create {
        /// The invited person becomes a server admin.
        #[arg(long)]
        admin: bool,
        /// How long the code stays valid: 30m, 12h, 7d.
        #[arg(long, default_value = "7d")]
        expires: String,
    },
    List,
    Revoke {
        id: String,
    },
    /// Redeem a code: creates the account (and, with --token-name, prints an API token).
    Redeem {
        code: String,
        #[arg(long)]
        handle: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        key: Option<String>,
        #[arg(long)]
        token_name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCmd {
    Create {
        key: String,
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    List {
        /// Include archived projects.
        #[arg(long)]
        all: bool,
    },
    Show {
        key: String,
    },
    Update {
        key: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    Archive {
        key: String,
    },
    Unarchive {
        key: String,
    },
    /// Add a member or change their role (viewer, member, owner).
    Member {
        key: String,
        handle: String,
        role: ProjectRole,
    },
    RemoveMember {
        key: String,
        handle: String,
    },
    #[command(subcommand)]
    State(StateCmd),
}

#[derive(Debug, Subcommand)]
pub enum StateCmd {
    Add {
        project: String,
        name: String,
        /// backlog, unstarted, started, done or canceled.
        #[arg(long)]
        category: StateCategory,
        #[arg(long)]
        position: Option<u32>,
    },
    Rename {
        project: String,
        state: String,
        name: String,
    },
    Move {
        project: String,
        state: String,
        position: u32,
    },
    /// Remove a state; its issues move to --move-to.
    Remove {
        project: String,
        state: String,
        #[arg(long)]
        move_to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum IssueCmd {
    Create {
        project: String,
        title: String,
        /// Text, or - to read it from stdin.
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value = "none")]
        priority: Priority,
        #[arg(long = "label")]
        labels: Vec<String>,
        #[arg(long = "assignee")]
        assignees: Vec<String>,
        #[arg(long)]
        estimate: Option<u32>,
        #[arg(long)]
        due: Option<String>,
        #[arg(long)]
        parent: Option<String>,
    },
    List {
        project: Option<String>,
        #[arg(long)]
        state: Option<String>,
        /// A handle, or @me.
        #[arg(long)]
        assignee: Option<String>,
        #[arg(long)]
        label: Option<String>,
        #[arg(long)]
        priority: Option<Priority>,
        #[arg(long)]
        search: Option<String>,
        #[arg(long, conflicts_with = "closed")]
        open: bool,
        #[arg(long)]
        closed: bool,
        #[arg(long)]
        limit: Option<u32>,
        /// A query: `is:open label:bug assignee:@me due:<=@today+3d sort:priority-desc`.
        #[arg(long, short)]
        query: Option<String>,
    },
    Show {
        key: String,
    },
    /// Change fields; --version names the version you are editing (see `issue show`).
    Update {
        key: String,
        #[arg(long)]
        version: u64,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        priority: Option<Priority>,
        /// Comma-separated handles; empty to clear.
        #[arg(long)]
        assignees: Option<String>,
        /// Comma-separated labels; empty to clear.
        #[arg(long)]
        labels: Option<String>,
        /// Points, or "none".
        #[arg(long)]
        estimate: Option<String>,
        /// YYYY-MM-DD, or "none".
        #[arg(long)]
        due: Option<String>,
        /// An issue key, or "none".
        #[arg(long)]
        parent: Option<String>,
        /// Comma-separated issue keys; empty to clear.
        #[arg(long)]
        blocked_by: Option<String>,
    },
    /// Move to a workflow state (names match case-insensitively).
    Move {
        key: String,
        state: String,
    },
    /// Place within a column, after and/or before other issues.
    Rank {
        key: String,
        #[arg(long)]
        after: Option<String>,
        #[arg(long)]
        before: Option<String>,
    },
    Assign {
        key: String,
        handles: Vec<String>,
        #[arg(long = "remove")]
        remove: Vec<String>,
    },
    Label {
        key: String,
        labels: Vec<String>,
        #[arg(long = "remove")]
        remove: Vec<String>,
    },
    Close {
        key: String,
    },
    Reopen {
        key: String,
    },
    /// Hear about the issue's comments and state changes in your inbox.
    Watch {
        key: String,
    },
    Unwatch {
        key: String,
    },
    Delete {
        key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum InboxCmd {
    /// Mark notifications read (all of them without ids).
    Read { ids: Vec<u64> },
}

#[derive(Debug, Subcommand)]
pub enum CommentCmd {
    /// Add a comment; the body may be - to read stdin.
    Add {
        issue: String,
        body: String,
    },
    List {
        issue: String,
    },
    Edit {
        id: u64,
        body: String,
    },
    Delete {
        id: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum ActivityCmd {
    Issue {
        key: String,
    },
    Project {
        key: String,
        #[arg(long)]
        after: Option<u64>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// The whole audit log (server admins).
    All {
        #[arg(long)]
        after: Option<u64>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}
