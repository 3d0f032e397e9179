//! Human tables and summaries of the domain's records for `tack ctl`: people, projects,
//! issues and activity, with ids shown as the names people know them by.

use std::collections::HashMap;

use tack_protocol::{Activity, Actor, Client, Issue, Project, Request, ResponseBody, User};

use super::output::{Output, date, table};

/// Names for ids: fetched once per command, only when a human table needs them.
pub(super) struct Names {
    users: HashMap<u64, String>,
    projects: HashMap<String, Project>,
}

impl Names {
    pub(super) async fn load(client: &Client, issues: &[Issue]) -> Names {
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

    pub(super) fn user(&self, id: u64) -> String {
        self.users
            .get(&id)
            .map_or_else(|| format!("user#{id}"), |h| format!("@{h}"))
    }

    pub(super) fn actor(&self, actor: Actor) -> String {
        match actor {
            Actor::Console => "console".into(),
            Actor::User(id) => self.user(id),
        }
    }

    pub(super) fn state(&self, issue: &Issue) -> String {
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

    pub(super) fn assignees(&self, issue: &Issue) -> String {
        issue
            .assignees
            .iter()
            .map(|id| self.user(*id))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

pub(super) fn user_rows(users: &[User]) -> Vec<Vec<String>> {
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

pub(super) fn print_project(o: &mut Output, project: &Project, names: &Names) {
    o.say(format!(
        "{}  {}{}",
        project.key,
        project.name,
        if project.archived { "  (archived)" } else { "" }
    ));
    if !project.description.is_empty() {
        o.say(format!("\n{}\n", project.description));
    }
    let states: Vec<String> = project
        .states
        .iter()
        .map(|s| format!("{} ({})", s.name, s.category))
        .collect();
    o.say(format!("states:  {}", states.join(" → ")));
    let members: Vec<String> = project
        .members
        .iter()
        .map(|m| format!("{} {}", names.user(m.user), m.role))
        .collect();
    o.say(format!(
        "members: {}",
        if members.is_empty() {
            "(none)".into()
        } else {
            members.join(", ")
        }
    ));
    o.say(format!(
        "issues:  {} created",
        project.next_issue_number.saturating_sub(1)
    ));
}

pub(super) fn print_issue(o: &mut Output, issue: &Issue, names: &Names) {
    o.say(format!("{}  {}", issue.key, issue.title));
    o.say(format!("state:     {}", names.state(issue)));
    o.say(format!("priority:  {}", issue.priority));
    o.say(format!("assignees: {}", names.assignees(issue)));
    o.say(format!("labels:    {}", issue.labels.join(", ")));
    if let Some(estimate) = issue.estimate {
        o.say(format!("estimate:  {estimate}"));
    }
    if let Some(due) = &issue.due {
        o.say(format!("due:       {due}"));
    }
    o.say(format!(
        "created:   {} by {}",
        date(issue.created_at),
        names.actor(issue.creator)
    ));
    o.say(format!("updated:   {}", date(issue.updated_at)));
    if let Some(closed) = issue.closed_at {
        o.say(format!("closed:    {}", date(closed)));
    }
    o.say(format!("version:   {}", issue.version));
    if !issue.description.is_empty() {
        o.say(format!("\n{}", issue.description));
    }
}

pub(super) fn activity_rows(entries: &[Activity], names: &Names) -> Vec<Vec<String>> {
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

pub(super) fn issue_table(o: &mut Output, issues: &[Issue], names: &Names) {
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
