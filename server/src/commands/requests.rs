//! What each `tack ctl` command sends: the request for a parsed command, or the usage mistake
//! found before anything is sent.

use super::inputs::CommandIo;
use super::nouns::{
    ActivityCmd, CommentCmd, InboxCmd, InviteCmd, IssueCmd, KeyCmd, Noun, ProjectCmd, StateCmd,
    TokenCmd, UserCmd,
};
use super::operator_nouns::{
    audit_request, backup_request, job_request, session_request, view_request, webhook_request,
};
use tack_protocol::{IssueFilter, IssuePatch, NewIssue, Request, ServerRole};

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
