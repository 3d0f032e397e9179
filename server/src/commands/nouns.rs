//! The `tack ctl` command tree: nouns and verbs, and the request each one sends.

use std::path::PathBuf;

use clap::Subcommand;

use super::inputs::CommandIo;
use super::operator_nouns::{
    AuditArgs, BackupCmd, JobCmd, SessionCmd, ViewCmd, WebhookCmd, audit_request, backup_request,
    job_request, session_request, view_request, webhook_request,
};
use tack_protocol::{
    IssueFilter, IssuePatch, NewIssue, Priority, ProjectRole, Request, ServerRole, StateCategory,
};

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

/// A command-line mistake found before anything is sent.
pub struct Usage(pub String);

impl From<String> for Usage {
    fn from(message: String) -> Self {
        Usage(message)
    }
}

fn list_arg(value: Option<String>) -> Option<Vec<String>> {
    value.map(|v| {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    })
}

fn clearable(value: Option<String>) -> Option<Option<String>> {
    value.map(|v| {
        if v.eq_ignore_ascii_case("none") || v.is_empty() {
            None
        } else {
            Some(v)
        }
    })
}

fn duration_secs(value: &str) -> Result<u64, Usage> {
    let value = value.trim();
    let (number, unit) = value.split_at(
        value
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(value.len()),
    );
    let number: u64 = number.parse().map_err(|_| {
        Usage(format!(
            "'{value}' is not a duration; use e.g. 30m, 12h or 7d"
        ))
    })?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" | "" => 3600,
        "d" => 86400,
        _ => {
            return Err(Usage(format!(
                "'{value}' is not a duration; use e.g. 30m, 12h or 7d"
            )));
        }
    };
    Ok(number * scale)
}

pub fn request_for(noun: Noun, io: &CommandIo) -> Result<Request, Usage> {
    Ok(match noun {
        Noun::Whoami => Request::Whoami,
        Noun::User(cmd) => match cmd {
            UserCmd::Create {
                handle,
                name,
                email,
                admin,
            } => Request::CreateUser {
                display_name: name.unwrap_or_else(|| handle.clone()),
                handle,
                email,
                role: if admin {
                    ServerRole::Admin
                } else {
                    ServerRole::User
                },
            },
            UserCmd::List => Request::ListUsers,
            UserCmd::Disable { handle } => Request::SetUserDisabled {
                handle,
                disabled: true,
            },
            UserCmd::Update {
                handle,
                name,
                email,
                role,
                email_notifications,
            } => Request::UpdateUser {
                handle,
                display_name: name,
                email: clearable(email),
                role: match role.as_deref().map(str::trim) {
                    None => None,
                    Some("admin") => Some(ServerRole::Admin),
                    Some("user") => Some(ServerRole::User),
                    Some(other) => {
                        return Err(Usage(format!("'{other}' is not a role; use admin or user")));
                    }
                },
                email_notifications,
            },
            UserCmd::Delete {
                handle,
                reassign_to,
            } => Request::DeleteUser {
                handle,
                reassign_to,
            },
            UserCmd::Settings { handle } => Request::UserSettings { handle },
            UserCmd::Merge { from, into } => Request::MergeUser { from, into },
            UserCmd::Unlock { handle } => Request::UnlockUser { handle },
            UserCmd::Enable { handle } => Request::SetUserDisabled {
                handle,
                disabled: false,
            },
        },
        Noun::Key(cmd) => match cmd {
            KeyCmd::Add { line, file, user } => {
                let public_key = match (line, file) {
                    (Some(line), None) => io.text(line)?,
                    (None, Some(file)) => io.read_file(&file)?,
                    _ => {
                        return Err(Usage(
                            "pass the key line, - to read it from standard input, or --file PATH (not both)".into(),
                        ));
                    }
                };
                Request::AddKey { user, public_key }
            }
            KeyCmd::List { all: true, .. } => Request::AllKeys,
            KeyCmd::List { user, .. } => Request::ListKeys { user },
            KeyCmd::Remove { fingerprint } => Request::RemoveKey { fingerprint },
        },
        Noun::Token(cmd) => match cmd {
            TokenCmd::Create { name, user } => Request::CreateToken { user, name },
            TokenCmd::List { user } => Request::ListTokens { user },
            TokenCmd::Revoke { id } => Request::RevokeToken { id },
        },
        Noun::Invite(cmd) => match cmd {
            InviteCmd::Create { admin, expires } => Request::CreateInvite {
                role: if admin {
                    ServerRole::Admin
                } else {
                    ServerRole::User
                },
                expires_in_secs: duration_secs(&expires)?,
            },
            InviteCmd::List => Request::ListInvites,
            InviteCmd::Revoke { id } => Request::RevokeInvite { id },
            InviteCmd::Redeem {
                code,
                handle,
                name,
                key,
                token_name,
            } => Request::RedeemInvite {
                code,
                handle,
                display_name: name,
                public_key: key,
                token_name,
            },
        },
        Noun::Project(cmd) => match cmd {
            ProjectCmd::Create {
                key,
                name,
                description,
            } => Request::CreateProject {
                key,
                name,
                description: io.text(description)?,
            },
            ProjectCmd::List { all } => Request::ListProjects {
                include_archived: all,
            },
            ProjectCmd::Show { key } => Request::GetProject { key },
            ProjectCmd::Update {
                key,
                name,
                description,
            } => Request::UpdateProject {
                key,
                name,
                description: description.map(|d| io.text(d)).transpose()?,
            },
            ProjectCmd::Archive { key } => Request::SetProjectArchived {
                key,
                archived: true,
            },
            ProjectCmd::Unarchive { key } => Request::SetProjectArchived {
                key,
                archived: false,
            },
            ProjectCmd::Member { key, handle, role } => Request::SetMember {
                project: key,
                handle,
                role,
            },
            ProjectCmd::RemoveMember { key, handle } => Request::RemoveMember {
                project: key,
                handle,
            },
            ProjectCmd::State(state) => match state {
                StateCmd::Add {
                    project,
                    name,
                    category,
                    position,
                } => Request::AddState {
                    project,
                    name,
                    category,
                    position,
                },
                StateCmd::Rename {
                    project,
                    state,
                    name,
                } => Request::RenameState {
                    project,
                    state,
                    name,
                },
                StateCmd::Move {
                    project,
                    state,
                    position,
                } => Request::MoveState {
                    project,
                    state,
                    position,
                },
                StateCmd::Remove {
                    project,
                    state,
                    move_to,
                } => Request::RemoveState {
                    project,
                    state,
                    move_to,
                },
            },
        },
        Noun::Issue(cmd) => {
            match cmd {
                IssueCmd::Create {
                    project,
                    title,
                    description,
                    state,
                    priority,
                    labels,
                    assignees,
                    estimate,
                    due,
                    parent,
                } => Request::CreateIssue(NewIssue {
                    project,
                    title,
                    description: io.text(description)?,
                    state,
                    priority,
                    assignees,
                    labels,
                    estimate,
                    due,
                    parent,
                }),
                IssueCmd::List {
                    project,
                    state,
                    assignee,
                    label,
                    priority,
                    search,
                    open,
                    closed,
                    limit,
                    query,
                } => Request::ListIssues {
                    project,
                    filter: IssueFilter {
                        state,
                        assignee,
                        label,
                        priority,
                        text: search,
                        open: if open {
                            Some(true)
                        } else if closed {
                            Some(false)
                        } else {
                            None
                        },
                        limit,
                        query,
                    },
                },
                IssueCmd::Show { key } => Request::GetIssue { key },
                IssueCmd::Update {
                    key,
                    version,
                    title,
                    description,
                    state,
                    priority,
                    assignees,
                    labels,
                    estimate,
                    due,
                    parent,
                    blocked_by,
                } => {
                    let estimate = match clearable(estimate) {
                        Some(Some(points)) => Some(Some(points.parse::<u32>().map_err(|_| {
                            Usage(format!(
                                "--estimate '{points}' is not a whole number (or none)"
                            ))
                        })?)),
                        Some(None) => Some(None),
                        None => None,
                    };
                    let patch = IssuePatch {
                        title,
                        description: description.map(|d| io.text(d)).transpose()?,
                        state,
                        priority,
                        assignees: list_arg(assignees),
                        labels: list_arg(labels),
                        estimate,
                        due: clearable(due),
                        parent: clearable(parent),
                        blocked_by: list_arg(blocked_by),
                    };
                    if patch == IssuePatch::default() {
                        return Err(Usage("nothing to change: pass at least one of --title, --state, --priority, …".into()));
                    }
                    Request::UpdateIssue {
                        key,
                        version,
                        patch,
                    }
                }
                IssueCmd::Move { key, state } => Request::MoveIssue { key, state },
                IssueCmd::Rank { key, after, before } => Request::RankIssue { key, after, before },
                IssueCmd::Assign {
                    key,
                    handles,
                    remove,
                } => Request::AssignIssue {
                    key,
                    add: handles,
                    remove,
                },
                IssueCmd::Label {
                    key,
                    labels,
                    remove,
                } => Request::LabelIssue {
                    key,
                    add: labels,
                    remove,
                },
                IssueCmd::Close { key } => Request::CloseIssue { key },
                IssueCmd::Reopen { key } => Request::ReopenIssue { key },
                IssueCmd::Watch { key } => Request::WatchIssue { key, watch: true },
                IssueCmd::Unwatch { key } => Request::WatchIssue { key, watch: false },
                IssueCmd::Delete { key } => Request::DeleteIssue { key },
            }
        }
        Noun::Comment(cmd) => match cmd {
            CommentCmd::Add { issue, body } => Request::AddComment {
                issue,
                body: io.text(body)?,
            },
            CommentCmd::List { issue } => Request::ListComments { issue },
            CommentCmd::Edit { id, body } => Request::EditComment {
                id,
                body: io.text(body)?,
            },
            CommentCmd::Delete { id } => Request::DeleteComment { id },
        },
        Noun::Activity(cmd) => match cmd {
            ActivityCmd::Issue { key } => Request::IssueActivity { key },
            ActivityCmd::Project { key, after, limit } => Request::ProjectActivity {
                project: key,
                after,
                limit,
            },
            ActivityCmd::All { after, limit } => Request::AllActivity { after, limit },
        },
        Noun::Inbox {
            action: Some(InboxCmd::Read { ids }),
            ..
        } => Request::MarkNotificationsRead { ids },
        Noun::Inbox {
            action: None,
            unread,
        } => Request::ListNotifications {
            unread_only: unread,
        },
        Noun::Session(cmd) => session_request(cmd),
        Noun::Job(cmd) => job_request(cmd),
        Noun::Backup(cmd) => backup_request(cmd),
        Noun::Audit(args) => audit_request(args)?,
        Noun::Webhook(cmd) => webhook_request(cmd),
        Noun::Health => Request::Health,
        Noun::View(cmd) => view_request(cmd),
        Noun::Insights {
            project,
            query,
            weeks,
        } => Request::Insights {
            project,
            query,
            weeks,
        },
        Noun::Export(_) | Noun::Import(_) => {
            return Err(Usage("export and import are not single requests".into()));
        }
        Noun::Search {
            text,
            project,
            limit,
        } => Request::Search {
            text: text.join(" "),
            project,
            limit,
        },
        Noun::Watch { .. } => return Err(Usage("watch is not a single request".into())),
    })
}
