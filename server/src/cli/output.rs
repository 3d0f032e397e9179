//! How `tack ctl` shows answers: aligned tables for people, JSON for scripts.

use std::collections::HashMap;

use serde::Serialize;
use tack_protocol::{Activity, Actor, Client, Issue, Project, Request, ResponseBody, User};

pub struct Output {
    pub json: bool,
}

fn json<T: Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// Prints rows under a header with each column as wide as its widest cell.
fn table(header: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        println!("(none)");
        return;
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
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
        println!("{}", text.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row);
    }
}

fn date(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86400);
    let (h, m) = (secs.rem_euclid(86400) / 3600, secs.rem_euclid(3600) / 60);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02}")
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

fn print_project(project: &Project, names: &Names) {
    println!(
        "{}  {}{}",
        project.key,
        project.name,
        if project.archived { "  (archived)" } else { "" }
    );
    if !project.description.is_empty() {
        println!("\n{}\n", project.description);
    }
    let states: Vec<String> = project
        .states
        .iter()
        .map(|s| format!("{} ({})", s.name, s.category))
        .collect();
    println!("states:  {}", states.join(" → "));
    let members: Vec<String> = project
        .members
        .iter()
        .map(|m| format!("{} {}", names.user(m.user), m.role))
        .collect();
    println!(
        "members: {}",
        if members.is_empty() {
            "(none)".into()
        } else {
            members.join(", ")
        }
    );
    println!(
        "issues:  {} created",
        project.next_issue_number.saturating_sub(1)
    );
}

fn print_issue(issue: &Issue, names: &Names) {
    println!("{}  {}", issue.key, issue.title);
    println!("state:     {}", names.state(issue));
    println!("priority:  {}", issue.priority);
    println!("assignees: {}", names.assignees(issue));
    println!("labels:    {}", issue.labels.join(", "));
    if let Some(estimate) = issue.estimate {
        println!("estimate:  {estimate}");
    }
    if let Some(due) = &issue.due {
        println!("due:       {due}");
    }
    println!(
        "created:   {} by {}",
        date(issue.created_at),
        names.actor(issue.creator)
    );
    println!("updated:   {}", date(issue.updated_at));
    if let Some(closed) = issue.closed_at {
        println!("closed:    {}", date(closed));
    }
    println!("version:   {}", issue.version);
    if !issue.description.is_empty() {
        println!("\n{}", issue.description);
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
                format!("{:?}", a.kind),
                a.subject.clone(),
                changes.join("; "),
            ]
        })
        .collect()
}

pub async fn print(client: &Client, out: &Output, body: ResponseBody) {
    if out.json {
        match &body {
            ResponseBody::Done => json(&serde_json::json!({ "ok": true })),
            ResponseBody::Whoami(v) => json(v),
            ResponseBody::User(v) => json(v),
            ResponseBody::Users(v) => json(v),
            ResponseBody::Key(v) => json(v),
            ResponseBody::Keys(v) => json(v),
            ResponseBody::TokenCreated { token, secret } => {
                json(&serde_json::json!({ "token": token, "secret": secret }))
            }
            ResponseBody::Tokens(v) => json(v),
            ResponseBody::InviteCreated { invite, code } => {
                json(&serde_json::json!({ "invite": invite, "code": code }))
            }
            ResponseBody::Invites(v) => json(v),
            ResponseBody::Redeemed { user, token } => {
                json(&serde_json::json!({ "user": user, "token": token }))
            }
            ResponseBody::Project(v) => json(v),
            ResponseBody::Projects(v) => json(v),
            ResponseBody::Issue(v) => json(v),
            ResponseBody::Issues(v) => json(v),
            ResponseBody::Comment(v) => json(v),
            ResponseBody::Comments(v) => json(v),
            ResponseBody::Activity(v) => json(v),
            ResponseBody::Subscribed { seq } => json(&serde_json::json!({ "seq": seq })),
            ResponseBody::Backup(v) => json(v),
        }
        return;
    }
    let issues: Vec<Issue> = match &body {
        ResponseBody::Issue(issue) => vec![issue.clone()],
        ResponseBody::Issues(issues) => issues.clone(),
        _ => Vec::new(),
    };
    let names = Names::load(client, &issues).await;
    match body {
        ResponseBody::Done => println!("done"),
        ResponseBody::Whoami(identity) => match identity.user {
            Some(user) => println!(
                "@{} ({}), server role {}",
                user.handle, user.display_name, identity.role
            ),
            None => println!("the admin console (server role {})", identity.role),
        },
        ResponseBody::User(user) => table(
            &["HANDLE", "NAME", "ROLE", "STATUS", "EMAIL"],
            user_rows(&[user]),
        ),
        ResponseBody::Users(users) => table(
            &["HANDLE", "NAME", "ROLE", "STATUS", "EMAIL"],
            user_rows(&users),
        ),
        ResponseBody::Key(key) => println!(
            "{} {} {} (owner {})",
            key.fingerprint,
            key.algorithm,
            key.comment,
            names.user(key.owner)
        ),
        ResponseBody::Keys(keys) => table(
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
        ResponseBody::TokenCreated { token, secret } => {
            println!("{secret}");
            eprintln!(
                "token '{}' ({}) created for {}; this is the only time it is shown",
                token.name,
                token.id,
                names.user(token.user)
            );
        }
        ResponseBody::Tokens(tokens) => table(
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
            println!("{code}");
            eprintln!(
                "invite {} for a new {} expires {}; the code is shown only now",
                invite.id,
                invite.role,
                date(invite.expires_at)
            );
        }
        ResponseBody::Invites(invites) => table(
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
            println!("welcome, @{} ({})", user.handle, user.display_name);
            if let Some(token) = token {
                println!("{token}");
                eprintln!("this API token is shown only now");
            }
        }
        ResponseBody::Project(project) => print_project(&project, &names),
        ResponseBody::Projects(projects) => table(
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
        ResponseBody::Issue(issue) => print_issue(&issue, &names),
        ResponseBody::Issues(issues) => table(
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
        ),
        ResponseBody::Comment(comment) => println!(
            "comment #{} added by {}",
            comment.id,
            names.actor(comment.author)
        ),
        ResponseBody::Comments(comments) => {
            if comments.is_empty() {
                println!("(no comments)");
            }
            for c in comments {
                let edited = if c.edited_at.is_some() {
                    " (edited)"
                } else {
                    ""
                };
                println!(
                    "#{} {} {}{edited}\n{}\n",
                    c.id,
                    names.actor(c.author),
                    date(c.created_at),
                    c.body
                );
            }
        }
        ResponseBody::Activity(entries) => table(
            &["SEQ", "WHEN", "WHO", "WHAT", "SUBJECT", "CHANGES"],
            activity_rows(&entries, &names),
        ),
        ResponseBody::Subscribed { seq } => println!("subscribed at event {seq}"),
        ResponseBody::Backup(summary) => println!(
            "backup written to {} ({} bytes)",
            summary.path, summary.bytes
        ),
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
