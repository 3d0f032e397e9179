//! How `tack ctl` shows answers: aligned tables for people, JSON for scripts.

use std::collections::HashMap;

use serde::Serialize;
use tack_protocol::{Activity, Actor, Client, Issue, Project, Request, ResponseBody, User};

/// What a command prints, collected so the same command can answer on a terminal or over an
/// SSH exec channel.
#[derive(Default)]
pub struct Output {
    pub json: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn say(&mut self, line: impl AsRef<str>) {
        self.stdout.push_str(line.as_ref());
        self.stdout.push('\n');
    }

    pub fn complain(&mut self, line: impl AsRef<str>) {
        self.stderr.push_str(line.as_ref());
        self.stderr.push('\n');
    }
}

macro_rules! outln {
    ($o:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($o.stdout, $($arg)*);
    }};
}

macro_rules! errln {
    ($o:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($o.stderr, $($arg)*);
    }};
}

fn json<T: Serialize>(o: &mut Output, value: &T) {
    outln!(
        o,
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// Prints rows under a header with each column as wide as its widest cell.
pub(super) fn table(o: &mut Output, header: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        outln!(o, "(none)");
        return;
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut line = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        let text: Vec<String> = cells
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    c
                } else {
                    format!("{c:<width$}", width = widths[i])
                }
            })
            .collect();
        outln!(o, "{}", text.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row);
    }
}

/// `YYYY-MM-DD HH:MM` in UTC.
pub(super) fn date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|at| at.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| format!("(time {ms})"))
}

/// Names for ids: fetched once per command, only when a human table needs them.
struct Names {
    users: HashMap<u64, String>,
    projects: HashMap<String, Project>,
}

impl Names {
    async fn load(client: &Client, issues: &[Issue]) -> Names {
        let users = match client.request(Request::ListUsers).await {
            Ok(ResponseBody::Users(users)) => users.into_iter().map(|u| (u.id, u.handle)).collect(),
            _ => HashMap::new(),
        };
        let mut projects = HashMap::new();
        for issue in issues {
            let key = issue
                .key
                .rsplit_once('-')
                .map(|(p, _)| p.to_string())
                .unwrap_or_default();
            if !projects.contains_key(&key)
                && let Ok(ResponseBody::Project(project)) = client
                    .request(Request::GetProject { key: key.clone() })
                    .await
            {
                projects.insert(key, project);
            }
        }
        Names { users, projects }
    }

    fn user(&self, id: u64) -> String {
        self.users
            .get(&id)
            .map_or_else(|| format!("user#{id}"), |h| format!("@{h}"))
    }

    fn actor(&self, actor: Actor) -> String {
        match actor {
            Actor::Console => "console".into(),
            Actor::User(id) => self.user(id),
        }
    }

    fn state(&self, issue: &Issue) -> String {
        let key = issue
            .key
            .rsplit_once('-')
            .map(|(p, _)| p)
            .unwrap_or_default();
        self.projects
            .get(key)
            .and_then(|p| p.state(issue.state))
            .map_or_else(|| format!("state#{}", issue.state), |s| s.name.clone())
    }

    fn assignees(&self, issue: &Issue) -> String {
        issue
            .assignees
            .iter()
            .map(|id| self.user(*id))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn user_rows(users: &[User]) -> Vec<Vec<String>> {
    users
        .iter()
        .map(|u| {
            let status = if u.disabled { "disabled" } else { "active" };
            vec![
                format!("@{}", u.handle),
                u.display_name.clone(),
                u.role.to_string(),
                status.into(),
                u.email.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

fn print_project(o: &mut Output, project: &Project, names: &Names) {
    outln!(
        o,
        "{}  {}{}",
        project.key,
        project.name,
        if project.archived { "  (archived)" } else { "" }
    );
    if !project.description.is_empty() {
        outln!(o, "\n{}\n", project.description);
    }
    let states: Vec<String> = project
        .states
        .iter()
        .map(|s| format!("{} ({})", s.name, s.category))
        .collect();
    outln!(o, "states:  {}", states.join(" → "));
    let members: Vec<String> = project
        .members
        .iter()
        .map(|m| format!("{} {}", names.user(m.user), m.role))
        .collect();
    outln!(
        o,
        "members: {}",
        if members.is_empty() {
            "(none)".into()
        } else {
            members.join(", ")
        }
    );
    outln!(
        o,
        "issues:  {} created",
        project.next_issue_number.saturating_sub(1)
    );
}

fn print_issue(o: &mut Output, issue: &Issue, names: &Names) {
    outln!(o, "{}  {}", issue.key, issue.title);
    outln!(o, "state:     {}", names.state(issue));
    outln!(o, "priority:  {}", issue.priority);
    outln!(o, "assignees: {}", names.assignees(issue));
    outln!(o, "labels:    {}", issue.labels.join(", "));
    if let Some(estimate) = issue.estimate {
        outln!(o, "estimate:  {estimate}");
    }
    if let Some(due) = &issue.due {
        outln!(o, "due:       {due}");
    }
    outln!(
        o,
        "created:   {} by {}",
        date(issue.created_at),
        names.actor(issue.creator)
    );
    outln!(o, "updated:   {}", date(issue.updated_at));
    if let Some(closed) = issue.closed_at {
        outln!(o, "closed:    {}", date(closed));
    }
    outln!(o, "version:   {}", issue.version);
    if !issue.description.is_empty() {
        outln!(o, "\n{}", issue.description);
    }
}

fn activity_rows(entries: &[Activity], names: &Names) -> Vec<Vec<String>> {
    entries
        .iter()
        .map(|a| {
            let changes: Vec<String> = a
                .changes
                .iter()
                .map(|c| {
                    if c.before.is_empty() {
                        format!("{}: {}", c.field, c.after)
                    } else {
                        format!("{}: {} → {}", c.field, c.before, c.after)
                    }
                })
                .collect();
            vec![
                a.seq.to_string(),
                date(a.at),
                names.actor(a.actor),
                a.kind.to_string(),
                a.subject.clone(),
                changes.join("; "),
            ]
        })
        .collect()
}

fn issue_table(o: &mut Output, issues: &[Issue], names: &Names) {
    table(
        o,
        &["KEY", "STATE", "PRIORITY", "ASSIGNEES", "LABELS", "TITLE"],
        issues
            .iter()
            .map(|i| {
                vec![
                    i.key.clone(),
                    names.state(i),
                    i.priority.to_string(),
                    names.assignees(i),
                    i.labels.join(","),
                    i.title.clone(),
                ]
            })
            .collect(),
    )
}

pub async fn print(client: &Client, o: &mut Output, body: ResponseBody) {
    if o.json {
        match &body {
            ResponseBody::Done => json(o, &serde_json::json!({ "ok": true })),
            ResponseBody::Whoami(v) => json(o, v),
            ResponseBody::User(v) => json(o, v),
            ResponseBody::Users(v) => json(o, v),
            ResponseBody::Key(v) => json(o, v),
            ResponseBody::Keys(v) => json(o, v),
            ResponseBody::TokenCreated { token, secret } => {
                json(o, &serde_json::json!({ "token": token, "secret": secret }))
            }
            ResponseBody::Tokens(v) => json(o, v),
            ResponseBody::InviteCreated { invite, code } => {
                json(o, &serde_json::json!({ "invite": invite, "code": code }))
            }
            ResponseBody::Invites(v) => json(o, v),
            ResponseBody::Redeemed { user, token } => {
                json(o, &serde_json::json!({ "user": user, "token": token }))
            }
            ResponseBody::Project(v) => json(o, v),
            ResponseBody::Projects(v) => json(o, v),
            ResponseBody::Issue(v) => json(o, v),
            ResponseBody::Issues(v) => json(o, v),
            ResponseBody::Comment(v) => json(o, v),
            ResponseBody::Comments(v) => json(o, v),
            ResponseBody::Activity(v) => json(o, v),
            ResponseBody::Subscribed { seq } => json(o, &serde_json::json!({ "seq": seq })),
            ResponseBody::Notifications(v) => json(o, v),
            ResponseBody::TotpSetup { uri, secret } => {
                json(o, &serde_json::json!({ "uri": uri, "secret": secret }))
            }
            ResponseBody::Totp { enabled } => json(o, &serde_json::json!({ "totp": enabled })),
            ResponseBody::Backup(v) => json(o, v),
            ResponseBody::UserSettings { user, settings } => json(
                o,
                &serde_json::json!({ "user": user, "settings": settings }),
            ),
            ResponseBody::Sessions(v) => json(o, v),
            ResponseBody::Jobs(v) => json(o, v),
            ResponseBody::Job(v) => json(o, v),
            ResponseBody::Webhook(v) => json(o, v),
            ResponseBody::Webhooks(v) => json(o, v),
            ResponseBody::Deliveries(v) => json(o, v),
            ResponseBody::Health(v) => json(o, v),
            ResponseBody::Backups(v) => json(o, v),
            ResponseBody::SearchHits(v) => json(o, v),
            ResponseBody::Views(v) => json(o, v),
            ResponseBody::Exported(v) => json(o, v),
            ResponseBody::Imported(v) => json(o, v),
            ResponseBody::Insights(v) => json(o, v),
            ResponseBody::KeyPending { key, code } => json(
                o,
                &serde_json::json!({ "key": key, "pending": true, "code": code }),
            ),
            ResponseBody::View { view, issues } => {
                json(o, &serde_json::json!({ "view": view, "issues": issues }))
            }
        }
        return;
    }
    let issues: Vec<Issue> = match &body {
        ResponseBody::Issue(issue) => vec![issue.clone()],
        ResponseBody::Issues(issues) | ResponseBody::View { issues, .. } => issues.clone(),
        _ => Vec::new(),
    };
    let names = Names::load(client, &issues).await;
    match body {
        ResponseBody::Done => outln!(o, "done"),
        ResponseBody::Whoami(identity) => match identity.user {
            Some(user) => outln!(
                o,
                "@{} ({}), server role {}",
                user.handle,
                user.display_name,
                identity.role
            ),
            None => outln!(o, "the admin console (server role {})", identity.role),
        },
        ResponseBody::User(user) => table(
            o,
            &["HANDLE", "NAME", "ROLE", "STATUS", "EMAIL"],
            user_rows(&[user]),
        ),
        ResponseBody::Users(users) => table(
            o,
            &["HANDLE", "NAME", "ROLE", "STATUS", "EMAIL"],
            user_rows(&users),
        ),
        ResponseBody::Key(key) => outln!(
            o,
            "{} {} {} (owner {})",
            key.fingerprint,
            key.algorithm,
            key.comment,
            names.user(key.owner)
        ),
        ResponseBody::Keys(keys) => table(
            o,
            &["FINGERPRINT", "TYPE", "COMMENT", "ADDED", "LAST USED"],
            keys.iter()
                .map(|k| {
                    vec![
                        k.fingerprint.clone(),
                        k.algorithm.clone(),
                        k.comment.clone(),
                        date(k.added_at),
                        k.last_used_at.map(date).unwrap_or_else(|| "never".into()),
                    ]
                })
                .collect(),
        ),
        ResponseBody::KeyPending { key, code } => {
            outln!(
                o,
                "{} {} {} waits for its first login: ssh in with this key and enter the code {code}",
                key.fingerprint,
                key.algorithm,
                key.comment,
            );
            errln!(
                o,
                "until then it logs nobody in; the code is shown only now"
            );
        }
        ResponseBody::TokenCreated { token, secret } => {
            outln!(o, "{secret}");
            errln!(
                o,
                "token '{}' ({}) created for {}; this is the only time it is shown",
                token.name,
                token.id,
                names.user(token.user)
            );
        }
        ResponseBody::Tokens(tokens) => table(
            o,
            &["ID", "NAME", "USER", "CREATED", "STATUS"],
            tokens
                .iter()
                .map(|t| {
                    vec![
                        t.id.clone(),
                        t.name.clone(),
                        names.user(t.user),
                        date(t.created_at),
                        if t.revoked {
                            "revoked".into()
                        } else {
                            "active".into()
                        },
                    ]
                })
                .collect(),
        ),
        ResponseBody::InviteCreated { invite, code } => {
            outln!(o, "{code}");
            errln!(
                o,
                "invite {} for a new {} expires {}; the code is shown only now",
                invite.id,
                invite.role,
                date(invite.expires_at)
            );
        }
        ResponseBody::Invites(invites) => table(
            o,
            &["ID", "ROLE", "CREATED", "EXPIRES", "STATUS"],
            invites
                .iter()
                .map(|i| {
                    let status = match (i.revoked, i.redeemed_by) {
                        (true, _) => "revoked".to_string(),
                        (false, Some(user)) => format!("used by {}", names.user(user)),
                        (false, None) => "open".into(),
                    };
                    vec![
                        i.id.clone(),
                        i.role.to_string(),
                        date(i.created_at),
                        date(i.expires_at),
                        status,
                    ]
                })
                .collect(),
        ),
        ResponseBody::Redeemed { user, token } => {
            outln!(o, "welcome, @{} ({})", user.handle, user.display_name);
            if let Some(token) = token {
                outln!(o, "{token}");
                errln!(o, "this API token is shown only now");
            }
        }
        ResponseBody::Project(project) => print_project(o, &project, &names),
        ResponseBody::Projects(projects) => table(
            o,
            &["KEY", "NAME", "ISSUES", "STATUS"],
            projects
                .iter()
                .map(|p| {
                    vec![
                        p.key.clone(),
                        p.name.clone(),
                        p.next_issue_number.saturating_sub(1).to_string(),
                        if p.archived {
                            "archived".into()
                        } else {
                            "active".into()
                        },
                    ]
                })
                .collect(),
        ),
        ResponseBody::Issue(issue) => print_issue(o, &issue, &names),
        ResponseBody::Issues(issues) => issue_table(o, &issues, &names),
        ResponseBody::View { view, issues } => {
            outln!(
                o,
                "{} ({}, {}): {}",
                view.name,
                view.project_key.as_deref().unwrap_or("every project"),
                view.layout,
                view.query
            );
            issue_table(o, &issues, &names);
        }
        ResponseBody::Comment(comment) => outln!(
            o,
            "comment #{} added by {}",
            comment.id,
            names.actor(comment.author)
        ),
        ResponseBody::Comments(comments) => {
            if comments.is_empty() {
                outln!(o, "(no comments)");
            }
            for c in comments {
                let edited = if c.edited_at.is_some() {
                    " (edited)"
                } else {
                    ""
                };
                outln!(
                    o,
                    "#{} {} {}{edited}\n{}\n",
                    c.id,
                    names.actor(c.author),
                    date(c.created_at),
                    c.body
                );
            }
        }
        ResponseBody::Activity(entries) => table(
            o,
            &["SEQ", "WHEN", "WHO", "WHAT", "SUBJECT", "CHANGES"],
            activity_rows(&entries, &names),
        ),
        ResponseBody::Subscribed { seq } => outln!(o, "subscribed at event {seq}"),
        ResponseBody::Notifications(notifications) => table(
            o,
            &["ID", "WHEN", "ISSUE", "WHAT", "WHO", ""],
            notifications
                .iter()
                .map(|n| {
                    let what = match n.kind {
                        tack_protocol::NotificationKind::Assigned => "assigned to you",
                        tack_protocol::NotificationKind::Mentioned => "mentioned you",
                        tack_protocol::NotificationKind::Commented => "new comment",
                        tack_protocol::NotificationKind::StateChanged => "state changed",
                        tack_protocol::NotificationKind::DueSoon => "due soon",
                    };
                    vec![
                        n.id.to_string(),
                        date(n.at),
                        n.issue_key.clone(),
                        what.into(),
                        names.actor(n.actor),
                        if n.read {
                            String::new()
                        } else {
                            "unread".into()
                        },
                    ]
                })
                .collect(),
        ),
        ResponseBody::TotpSetup { uri, secret } => {
            outln!(o, "{uri}");
            errln!(
                o,
                "secret {secret}; add it to your authenticator app, then confirm with a code"
            );
        }
        ResponseBody::Totp { enabled } => {
            outln!(o, "two-factor is {}", if enabled { "on" } else { "off" })
        }
        ResponseBody::Backup(summary) => outln!(
            o,
            "backup {} ({} bytes, {} records, schema {}, sha256 {})",
            summary.path,
            summary.bytes,
            summary.records,
            summary.schema_version,
            summary.checksum
        ),
        other => super::operator_tables::print(o, other),
    }
}

#[cfg(test)]
mod tests {
    use super::date;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(date(0), "1970-01-01 00:00");
        assert_eq!(date(1_764_115_200_000), "2025-11-26 00:00");
    }
}
