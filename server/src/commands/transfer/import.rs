//! Imports: a tack export (projects, states, members and people it names are created), a CSV
//! file through a column mapping, and GitHub's issue list. Batches go to the server whole; a
//! refusal names the line (CSV) or the JSON path at fault.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use tack_protocol::{
    ApiError, Client, ClientError, ImportComment, ImportIssue, ImportReport, Priority, Request,
    ResponseBody, ServerRole,
};

use super::{ExportFile, FORMAT, Failed, ImportCmd, VERSION, api, ask, finish, unexpected, users};
use crate::commands::CommandIo;
use crate::commands::Output;
use crate::commands::exit;

const BATCH: usize = 100;

fn read(io: &CommandIo, path: &Path) -> Result<String, Failed> {
    io.read_file(path)
        .map_err(|message| Failed(exit::REFUSED, format!("tack: {message}")))
}

/// Sends issues in batches; a refusal names the line or path of the item at fault.
async fn send(
    client: &Client,
    project: &str,
    items: Vec<ImportIssue>,
    places: &[String],
    placeholders: bool,
    report: &mut ImportReport,
) -> Result<(), Failed> {
    for (batch, chunk) in items.chunks(BATCH).enumerate() {
        let answer = client
            .request(Request::ImportIssues {
                project: project.to_string(),
                issues: chunk.to_vec(),
                placeholders,
            })
            .await;
        match answer {
            Ok(ResponseBody::Imported(done)) => {
                report.created += done.created;
                report.updated += done.updated;
                report.placeholders.extend(done.placeholders);
            }
            Ok(_) => return Err(unexpected("an import")),
            Err(ClientError::Api(ApiError::Invalid { field, reason })) => {
                let at = field
                    .strip_prefix("issues[")
                    .and_then(|rest| rest.split(']').next())
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|n| places.get(batch * BATCH + n));
                let message = match at {
                    Some(place) => format!("tack: {place}: {reason}"),
                    None => format!("tack: invalid {field}: {reason}"),
                };
                return Err(Failed(exit::REFUSED, message));
            }
            Err(err) => return Err(api(err)),
        }
    }
    Ok(())
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str, path: &Path) -> Result<T, Failed> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = e.path().to_string();
        let inner = e.into_inner();
        Failed(
            exit::REFUSED,
            format!(
                "tack: {} line {} column {}, at {}: {inner}",
                path.display(),
                inner.line(),
                inner.column(),
                if at == "." { "the top".into() } else { at }
            ),
        )
    })
}

async fn import_tack(
    client: &Client,
    (path, text): (&Path, &str),
    report: &mut ImportReport,
) -> Result<(), Failed> {
    let file: ExportFile = parse_json(text, path)?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(Failed(
            exit::REFUSED,
            format!(
                "tack: {} is format '{}' version {}; this tack reads {FORMAT} version {VERSION}",
                path.display(),
                file.format,
                file.version
            ),
        ));
    }
    let known: Vec<String> = users(client).await?.into_iter().map(|u| u.handle).collect();
    for user in file.users.iter().filter(|u| !known.contains(&u.handle)) {
        ask(
            client,
            Request::CreateUser {
                handle: user.handle.clone(),
                display_name: user.name.clone(),
                email: user.email.clone(),
                role: if user.admin {
                    ServerRole::Admin
                } else {
                    ServerRole::User
                },
            },
        )
        .await?;
    }
    for (p, project) in file.projects.iter().enumerate() {
        let existing = match client
            .request(Request::GetProject {
                key: project.key.clone(),
            })
            .await
        {
            Ok(ResponseBody::Project(existing)) => existing,
            Err(ClientError::Api(ApiError::NotFound { .. })) => match ask(
                client,
                Request::CreateProject {
                    key: project.key.clone(),
                    name: project.name.clone(),
                    description: project.description.clone(),
                },
            )
            .await?
            {
                ResponseBody::Project(created) => created,
                _ => return Err(unexpected("a new project")),
            },
            Ok(_) => return Err(unexpected("the project")),
            Err(err) => return Err(api(err)),
        };
        for state in &project.states {
            if existing.state_named(&state.name).is_none() {
                ask(
                    client,
                    Request::AddState {
                        project: project.key.clone(),
                        name: state.name.clone(),
                        category: state.category,
                        position: None,
                    },
                )
                .await?;
            }
        }
        for member in &project.members {
            ask(
                client,
                Request::SetMember {
                    project: project.key.clone(),
                    handle: member.handle.clone(),
                    role: member.role,
                },
            )
            .await?;
        }
        let places: Vec<String> = (0..project.issues.len())
            .map(|i| format!("{} at projects[{p}].issues[{i}]", path.display()))
            .collect();
        let items = project
            .issues
            .iter()
            .map(|i| ImportIssue {
                source: format!("tack:{}", i.number),
                number: Some(i.number),
                title: i.title.clone(),
                description: i.description.clone(),
                state: Some(i.state.clone()),
                closed: i.closed_at.is_some(),
                priority: i.priority,
                assignees: i.assignees.clone(),
                labels: i.labels.clone(),
                estimate: i.estimate,
                due: i.due.clone(),
                rank: Some(i.rank.clone()),
                creator: Some(i.creator.clone()),
                created_at: Some(i.created_at),
                updated_at: Some(i.updated_at),
                closed_at: i.closed_at,
                comments: i
                    .comments
                    .iter()
                    .map(|c| ImportComment {
                        author: Some(c.author.clone()),
                        body: c.body.clone(),
                        created_at: c.created_at,
                        edited_at: c.edited_at,
                    })
                    .collect(),
            })
            .collect();
        send(client, &project.key, items, &places, false, report).await?;
        if project.archived && !existing.archived {
            ask(
                client,
                Request::SetProjectArchived {
                    key: project.key.clone(),
                    archived: true,
                },
            )
            .await?;
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct GhUser {
    login: String,
}

#[derive(Deserialize)]
struct GhLabel {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GhComment {
    author: Option<GhUser>,
    body: String,
    created_at: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GhIssue {
    number: u64,
    title: String,
    #[serde(default)]
    body: Option<String>,
    state: String,
    #[serde(default)]
    labels: Vec<GhLabel>,
    #[serde(default)]
    assignees: Vec<GhUser>,
    #[serde(default)]
    comments: Vec<GhComment>,
    created_at: String,
    #[serde(default)]
    closed_at: Option<String>,
}

fn time_of(text: &str, place: &str) -> Result<i64, Failed> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|e| {
            Failed(
                exit::REFUSED,
                format!("tack: {place}: '{text}' is not a time ({e})"),
            )
        })
}

async fn import_github(
    client: &Client,
    (path, text): (&Path, &str),
    project: &str,
    report: &mut ImportReport,
) -> Result<(), Failed> {
    let issues: Vec<GhIssue> = parse_json(text, path)?;
    let mut items = Vec::new();
    let mut places = Vec::new();
    for (n, gh) in issues.into_iter().enumerate() {
        let place = format!("{} at [{n}] (#{})", path.display(), gh.number);
        let created_at = time_of(&gh.created_at, &place)?;
        let closed_at = match gh.closed_at.as_deref().filter(|t| !t.is_empty()) {
            Some(t) => Some(time_of(t, &place)?),
            None => None,
        };
        let mut comments = Vec::new();
        for c in gh.comments {
            comments.push(ImportComment {
                author: Some(c.author.map_or_else(|| "ghost".into(), |a| a.login)),
                body: c.body,
                created_at: time_of(&c.created_at, &place)?,
                edited_at: None,
            });
        }
        items.push(ImportIssue {
            source: format!("github:{}", gh.number),
            number: None,
            title: gh.title,
            description: gh.body.unwrap_or_default(),
            state: None,
            closed: gh.state.eq_ignore_ascii_case("closed"),
            priority: Priority::None,
            assignees: gh.assignees.into_iter().map(|a| a.login).collect(),
            labels: gh.labels.into_iter().map(|l| l.name).collect(),
            estimate: None,
            due: None,
            rank: None,
            creator: None,
            created_at: Some(created_at),
            updated_at: Some(closed_at.unwrap_or(created_at)),
            closed_at,
            comments,
        });
        places.push(place);
    }
    send(client, project, items, &places, true, report).await
}

/// `FIELD=Column,…` → field → column index.
fn mapping(map: &str, headers: &csv::StringRecord) -> Result<HashMap<String, usize>, Failed> {
    const FIELDS: [&str; 10] = [
        "id",
        "title",
        "description",
        "state",
        "priority",
        "assignees",
        "labels",
        "estimate",
        "due",
        "created",
    ];
    let mut out = HashMap::new();
    for pair in map.split(',').filter(|p| !p.trim().is_empty()) {
        let Some((field, column)) = pair.split_once('=') else {
            return Err(Failed(
                exit::USAGE,
                format!("tack: --map takes FIELD=Column pairs; '{pair}' has no '='"),
            ));
        };
        let field = field.trim().to_ascii_lowercase();
        if !FIELDS.contains(&field.as_str()) {
            return Err(Failed(
                exit::USAGE,
                format!("tack: '{field}' is not a field; map {}", FIELDS.join(", ")),
            ));
        }
        let column = column.trim();
        let index = headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(column))
            .ok_or_else(|| {
                let all: Vec<&str> = headers.iter().collect();
                Failed(
                    exit::USAGE,
                    format!(
                        "tack: the file has no column '{column}'; its columns are {}",
                        all.join(", ")
                    ),
                )
            })?;
        out.insert(field, index);
    }
    if !out.contains_key("title") {
        return Err(Failed(
            exit::USAGE,
            "tack: --map must name the title column (title=…)".into(),
        ));
    }
    Ok(out)
}

fn words(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

async fn import_csv(
    client: &Client,
    (path, text): (&Path, &str),
    project: &str,
    map: &str,
    report: &mut ImportReport,
) -> Result<(), Failed> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| Failed(exit::REFUSED, format!("tack: {}: {e}", path.display())))?
        .clone();
    let map = mapping(map, &headers)?;
    let mut items = Vec::new();
    let mut places = Vec::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| Failed(exit::REFUSED, format!("tack: {}: {e}", path.display())))?;
        let line = record.position().map_or(0, |p| p.line());
        let place = format!("{} line {line}", path.display());
        let get = |field: &str| {
            map.get(field)
                .and_then(|i| record.get(*i))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let fail = |what: String| Failed(exit::REFUSED, format!("tack: {place}: {what}"));
        let title = get("title").ok_or_else(|| fail("the title is empty".into()))?;
        let priority = match get("priority") {
            Some(p) => p.parse::<Priority>().map_err(|_| {
                fail(format!(
                    "'{p}' is not a priority (none, low, medium, high, urgent)"
                ))
            })?,
            None => Priority::None,
        };
        let estimate = match get("estimate") {
            Some(e) => Some(
                e.parse::<u32>()
                    .map_err(|_| fail(format!("'{e}' is not a number of points")))?,
            ),
            None => None,
        };
        let created_at = match get("created") {
            Some(t) => Some(time_of(&t, &place)?),
            None => None,
        };
        items.push(ImportIssue {
            source: format!("csv:{}", get("id").unwrap_or_else(|| title.clone())),
            number: None,
            title,
            description: get("description").unwrap_or_default(),
            state: get("state"),
            closed: false,
            priority,
            assignees: get("assignees").map(|a| words(&a)).unwrap_or_default(),
            labels: get("labels").map(|l| words(&l)).unwrap_or_default(),
            estimate,
            due: get("due"),
            rank: None,
            creator: None,
            created_at,
            updated_at: created_at,
            closed_at: None,
            comments: Vec::new(),
        });
        places.push(place);
    }
    send(client, project, items, &places, false, report).await
}

pub async fn import(client: &Client, cmd: ImportCmd, out: &mut Output, io: &CommandIo) -> u8 {
    let mut report = ImportReport::default();
    let result = async {
        match &cmd {
            ImportCmd::Json { file } => {
                let text = read(io, file)?;
                import_tack(client, (file, &text), &mut report).await
            }
            ImportCmd::Csv { file, project, map } => {
                let text = read(io, file)?;
                import_csv(client, (file, &text), project, map, &mut report).await
            }
            ImportCmd::Github { file, project } => {
                let text = read(io, file)?;
                import_github(client, (file, &text), project, &mut report).await
            }
        }
    }
    .await;
    if out.json {
        out.say(serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        out.say(format!(
            "imported: {} created, {} updated",
            report.created, report.updated
        ));
        if !report.placeholders.is_empty() {
            out.say(format!(
                "placeholders for people this server did not know: @{} (merge each with `tack ctl user merge PLACEHOLDER --into HANDLE`)",
                report.placeholders.join(", @")
            ));
        }
    }
    finish(result, out)
}
