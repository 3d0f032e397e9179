//! `tack ctl export` and `tack ctl import`: a project (or everything) to and from JSON (the
//! documented tack format, docs/export.md), CSV with a column mapping, and GitHub's
//! `gh issue list --json …`. Files are read and written here; the server sees pages of issues.

use std::collections::HashMap;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use tack_protocol::{
    Client, ClientError, ExportedIssue, Priority, Project, ProjectRole, Request, ResponseBody,
    ServerRole, StateCategory, User,
};

mod import;

pub use import::import;

use super::exit;
use super::output::Output;

pub(super) const FORMAT: &str = "tack-export";
pub(super) const VERSION: u32 = 1;
const PAGE: u32 = 200;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// One project; without it, every project you can read.
    #[arg(long)]
    pub project: Option<String>,
    /// json or csv.
    #[arg(long, default_value = "json")]
    pub format: String,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ImportCmd {
    /// A tack export (round trip exact); projects and people it names are created.
    Json { file: PathBuf },
    /// A CSV file: --map names the column of each field (title is required).
    Csv {
        file: PathBuf,
        #[arg(long)]
        project: String,
        /// FIELD=Column,… with fields id, title, description, state, priority, assignees,
        /// labels, estimate, due, created.
        #[arg(long)]
        map: String,
    },
    /// `gh issue list --json number,title,body,state,labels,assignees,comments,createdAt,closedAt`.
    Github {
        file: PathBuf,
        #[arg(long)]
        project: String,
    },
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExportFile {
    pub format: String,
    pub version: u32,
    pub exported_at: i64,
    pub users: Vec<ExportUser>,
    pub projects: Vec<ExportProject>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExportUser {
    pub handle: String,
    pub name: String,
    pub email: Option<String>,
    pub admin: bool,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExportProject {
    pub key: String,
    pub name: String,
    pub description: String,
    pub archived: bool,
    pub states: Vec<ExportState>,
    pub members: Vec<ExportMember>,
    pub issues: Vec<ExportIssue>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExportState {
    pub name: String,
    pub category: StateCategory,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExportMember {
    pub handle: String,
    pub role: ProjectRole,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExportIssue {
    pub number: u64,
    pub title: String,
    pub description: String,
    pub state: String,
    pub priority: Priority,
    pub assignees: Vec<String>,
    pub labels: Vec<String>,
    pub estimate: Option<u32>,
    pub due: Option<String>,
    pub rank: String,
    /// A handle, or `console`.
    pub creator: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub comments: Vec<ExportComment>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExportComment {
    pub author: String,
    pub body: String,
    pub created_at: i64,
    pub edited_at: Option<i64>,
}

/// A failure, already worded for the person at the terminal.
pub(super) struct Failed(pub(super) u8, pub(super) String);

pub(super) fn api(err: ClientError) -> Failed {
    match err {
        ClientError::Api(err) => Failed(exit::REFUSED, format!("tack: {err}")),
        other => Failed(exit::CANNOT_CONNECT, format!("tack: {other}")),
    }
}

pub(super) async fn ask(client: &Client, request: Request) -> Result<ResponseBody, Failed> {
    client.request(request).await.map_err(api)
}

pub(super) fn unexpected(what: &str) -> Failed {
    Failed(exit::REFUSED, format!("tack: unexpected answer to {what}"))
}

pub(super) async fn users(client: &Client) -> Result<Vec<User>, Failed> {
    match ask(client, Request::ListUsers).await? {
        ResponseBody::Users(users) => Ok(users),
        _ => Err(unexpected("the user list")),
    }
}

async fn export_project(
    client: &Client,
    project: &Project,
    handle: &HashMap<u64, String>,
) -> Result<ExportProject, Failed> {
    let name_of = |actor: tack_protocol::Actor| match actor {
        tack_protocol::Actor::User(id) => {
            handle.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))
        }
        tack_protocol::Actor::Console => "console".into(),
    };
    let mut issues = Vec::new();
    let mut after = 0;
    loop {
        let page = match ask(
            client,
            Request::ExportIssues {
                project: project.key.clone(),
                after,
                limit: PAGE,
            },
        )
        .await?
        {
            ResponseBody::Exported(page) => page,
            _ => return Err(unexpected("an export page")),
        };
        let Some(last) = page.last() else { break };
        after = last.issue.number;
        for ExportedIssue { issue, comments } in page {
            issues.push(ExportIssue {
                number: issue.number,
                title: issue.title,
                description: issue.description,
                state: project
                    .state(issue.state)
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                priority: issue.priority,
                assignees: issue
                    .assignees
                    .iter()
                    .filter_map(|id| handle.get(id).cloned())
                    .collect(),
                labels: issue.labels,
                estimate: issue.estimate,
                due: issue.due,
                rank: issue.rank,
                creator: name_of(issue.creator),
                created_at: issue.created_at,
                updated_at: issue.updated_at,
                closed_at: issue.closed_at,
                comments: comments
                    .into_iter()
                    .map(|c| ExportComment {
                        author: name_of(c.author),
                        body: c.body,
                        created_at: c.created_at,
                        edited_at: c.edited_at,
                    })
                    .collect(),
            });
        }
    }
    Ok(ExportProject {
        key: project.key.clone(),
        name: project.name.clone(),
        description: project.description.clone(),
        archived: project.archived,
        states: project
            .states
            .iter()
            .map(|s| ExportState {
                name: s.name.clone(),
                category: s.category,
            })
            .collect(),
        members: project
            .members
            .iter()
            .filter_map(|m| {
                handle.get(&m.user).map(|h| ExportMember {
                    handle: h.clone(),
                    role: m.role,
                })
            })
            .collect(),
        issues,
    })
}

async fn build_export(client: &Client, project: Option<String>) -> Result<ExportFile, Failed> {
    let users = users(client).await?;
    let handle: HashMap<u64, String> = users.iter().map(|u| (u.id, u.handle.clone())).collect();
    let projects = match project {
        Some(key) => match ask(client, Request::GetProject { key }).await? {
            ResponseBody::Project(p) => vec![p],
            _ => return Err(unexpected("the project")),
        },
        None => match ask(
            client,
            Request::ListProjects {
                include_archived: true,
            },
        )
        .await?
        {
            ResponseBody::Projects(all) => all,
            _ => return Err(unexpected("the project list")),
        },
    };
    let mut out = Vec::new();
    for project in &projects {
        out.push(export_project(client, project, &handle).await?);
    }
    Ok(ExportFile {
        format: FORMAT.into(),
        version: VERSION,
        exported_at: chrono::Utc::now().timestamp_millis(),
        users: users
            .iter()
            .map(|u| ExportUser {
                handle: u.handle.clone(),
                name: u.display_name.clone(),
                email: u.email.clone(),
                admin: u.role == ServerRole::Admin,
            })
            .collect(),
        projects: out,
    })
}

fn csv_of(file: &ExportFile) -> Result<String, Failed> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let failed = |e: csv::Error| Failed(exit::REFUSED, format!("tack: cannot write CSV: {e}"));
    writer
        .write_record([
            "project",
            "key",
            "number",
            "title",
            "state",
            "priority",
            "assignees",
            "labels",
            "estimate",
            "due",
            "created_at",
            "updated_at",
            "closed_at",
            "description",
        ])
        .map_err(failed)?;
    for project in &file.projects {
        for i in &project.issues {
            writer
                .write_record([
                    project.key.clone(),
                    format!("{}-{}", project.key, i.number),
                    i.number.to_string(),
                    i.title.clone(),
                    i.state.clone(),
                    i.priority.to_string(),
                    i.assignees.join(" "),
                    i.labels.join(" "),
                    i.estimate.map(|e| e.to_string()).unwrap_or_default(),
                    i.due.clone().unwrap_or_default(),
                    i.created_at.to_string(),
                    i.updated_at.to_string(),
                    i.closed_at.map(|t| t.to_string()).unwrap_or_default(),
                    i.description.clone(),
                ])
                .map_err(failed)?;
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Failed(exit::REFUSED, format!("tack: cannot write CSV: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub async fn export(
    client: &Client,
    args: ExportArgs,
    out: &mut Output,
    io: &super::inputs::CommandIo,
) -> u8 {
    let result = async {
        let file = build_export(client, args.project).await?;
        let text = match args.format.as_str() {
            "json" => serde_json::to_string_pretty(&file)
                .map_err(|e| Failed(exit::REFUSED, format!("tack: {e}")))?,
            "csv" => csv_of(&file)?,
            other => {
                return Err(Failed(
                    exit::USAGE,
                    format!("tack: --format is json or csv, not '{other}'"),
                ));
            }
        };
        let issues: usize = file.projects.iter().map(|p| p.issues.len()).sum();
        match &args.out {
            Some(path) => {
                io.write_file(path, &text)
                    .map_err(|message| Failed(exit::REFUSED, format!("tack: {message}")))?;
                out.say(format!(
                    "exported {} projects, {issues} issues to {}",
                    file.projects.len(),
                    path.display()
                ));
            }
            None => out.stdout.push_str(&text),
        }
        Ok(())
    }
    .await;
    finish(result, out)
}

pub(super) fn finish(result: Result<(), Failed>, out: &mut Output) -> u8 {
    match result {
        Ok(()) => exit::OK,
        Err(Failed(code, message)) => {
            out.complain(message);
            code
        }
    }
}
