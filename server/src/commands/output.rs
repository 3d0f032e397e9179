//! How `tack ctl` shows answers: aligned tables for people, JSON for scripts.

use serde::Serialize;
use tack_protocol::{Client, Issue, ResponseBody};

use super::record_tables::{
    Names, activity_rows, issue_table, print_issue, print_project, user_rows,
};

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
