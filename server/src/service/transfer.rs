//! Moving issues in and out: pages of a project's issues with their comments for an export,
//! and imports that keep numbers and dates and update rather than duplicate on a re-run.

use std::collections::HashMap;

use tack_data::Op;
use tack_protocol::{
    Actor, ApiError, Comment, ExportedIssue, ImportIssue, ImportReport, Issue, Project,
    ProjectRole, ResponseBody, ServerRole, StateCategory, User, UserId,
};

use super::store_error;
use super::{Caller, Service, change, now_ms, validate};

/// An export page stops growing past this much text, to stay well inside a frame.
const EXPORT_PAGE_BYTES: usize = 384 * 1024;
const MAX_IMPORT_BATCH: usize = 500;

/// A handle from any name: lower case, `[a-z0-9_-]`, starting with a letter, 2–32 long.
pub fn handle_from(name: &str) -> String {
    let mut handle: String = name
        .trim()
        .trim_start_matches('@')
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !handle.starts_with(|c: char| c.is_ascii_lowercase()) {
        handle.insert(0, 'u');
    }
    handle.truncate(32);
    while handle.len() < 2 {
        handle.push('_');
    }
    handle
}

impl Service {
    pub(crate) async fn export_issues(
        &self,
        caller: &Caller,
        project: String,
        after: u64,
        limit: u32,
    ) -> Result<ResponseBody, ApiError> {
        let project = self
            .project_for(caller, &project, ProjectRole::Viewer)
            .await?;
        let mut issues: Vec<Issue> = self
            .board(&project)
            .await?
            .iter()
            .filter(|i| i.number > after)
            .cloned()
            .collect();
        issues.sort_by_key(|i| i.number);
        issues.truncate(limit.clamp(1, 1000) as usize);
        let ids: Vec<u64> = issues.iter().map(|i| i.id).collect();
        let store = &self.store;
        let comments =
            futures::future::try_join_all(ids.into_iter().map(|id| store.comments_of(id)))
                .await
                .map_err(store_error)?;
        let mut page = Vec::new();
        let mut bytes = 0;
        for (issue, comments) in issues.into_iter().zip(comments) {
            bytes += issue.title.len()
                + issue.description.len()
                + comments.iter().map(|c| c.body.len() + 64).sum::<usize>()
                + 256;
            if !page.is_empty() && bytes > EXPORT_PAGE_BYTES {
                break;
            }
            page.push(ExportedIssue { issue, comments });
        }
        Ok(ResponseBody::Exported(page))
    }

    /// The ids of `handles`, making placeholders for unknown ones when allowed.
    async fn people(
        &self,
        caller: &Caller,
        handles: &[String],
        placeholders: bool,
        report: &mut ImportReport,
    ) -> Result<HashMap<String, UserId>, ApiError> {
        let mut known: HashMap<String, UserId> = self
            .store
            .users()
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|u| (u.handle, u.id))
            .collect();
        for name in handles {
            let handle = handle_from(name);
            if known.contains_key(&handle) {
                continue;
            }
            if !placeholders {
                return Err(ApiError::invalid(
                    "people",
                    format!(
                        "nobody here is called @{handle}; create them first, or import with --placeholders (server admins) and merge them later"
                    ),
                ));
            }
            let user = User {
                id: 0,
                handle: handle.clone(),
                display_name: format!("{} (imported)", validate::clean_line(name)),
                email: None,
                role: ServerRole::User,
                disabled: true,
                created_at: now_ms(),
            };
            self.commit(
                caller,
                Op::CreateUser {
                    user,
                    key: None,
                    token: None,
                    invite: None,
                },
                vec![change("placeholder", "", &handle)],
            )
            .await?;
            let id = self.user_by_handle(&handle).await?.id;
            known.insert(handle.clone(), id);
            report.placeholders.push(handle);
        }
        Ok(known)
    }

    fn import_state(project: &Project, item: &ImportIssue, at: usize) -> Result<u32, ApiError> {
        if let Some(name) = &item.state {
            return project.state_named(name).map(|s| s.id).ok_or_else(|| {
                let names: Vec<&str> = project.states.iter().map(|s| s.name.as_str()).collect();
                ApiError::invalid(
                    format!("issues[{at}].state"),
                    format!(
                        "{} has no state '{}'; its states are {}",
                        project.key,
                        validate::clean_line(name),
                        names.join(", ")
                    ),
                )
            });
        }
        let category = if item.closed {
            StateCategory::Done
        } else {
            StateCategory::Unstarted
        };
        project
            .first_state_in(category)
            .or_else(|| project.states.first())
            .map(|s| s.id)
            .ok_or_else(|| ApiError::invalid("state", "the project has no states"))
    }

    pub(crate) async fn import_issues(
        &self,
        caller: &Caller,
        project: String,
        items: Vec<ImportIssue>,
        placeholders: bool,
    ) -> Result<ResponseBody, ApiError> {
        let project = self
            .project_for(caller, &project, ProjectRole::Owner)
            .await?;
        if placeholders {
            self.require_admin(caller, "create placeholder people")?;
        }
        if items.len() > MAX_IMPORT_BATCH {
            return Err(ApiError::invalid(
                "issues",
                format!("send at most {MAX_IMPORT_BATCH} issues at a time"),
            ));
        }
        let mut report = ImportReport::default();
        // Who wrote what is kept only when a server admin imports: anyone else could otherwise
        // make an issue or a comment look written by any person, at any date. Their imports
        // are credited to them, with the original names kept in the text.
        let keep_authors = caller.is_admin();
        let importer = caller
            .actor()
            .ok_or_else(|| ApiError::unauthenticated("sign in first"))?;
        let mut names: Vec<String> = Vec::new();
        for item in &items {
            names.extend(item.assignees.iter().cloned());
            if keep_authors {
                names.extend(item.creator.iter().cloned());
                names.extend(item.comments.iter().filter_map(|c| c.author.clone()));
            }
        }
        names.sort();
        names.dedup();
        names.retain(|n| !n.eq_ignore_ascii_case("console"));
        let people = self
            .people(caller, &names, placeholders, &mut report)
            .await?;
        let person = |name: &Option<String>| -> Actor {
            if !keep_authors {
                return importer;
            }
            match name {
                Some(name) if !name.eq_ignore_ascii_case("console") => people
                    .get(&handle_from(name))
                    .map_or(Actor::Console, |id| Actor::User(*id)),
                _ => Actor::Console,
            }
        };
        // The original author, as text, when the record is credited to the importer instead.
        let credited = |name: &Option<String>| -> Option<String> {
            match name {
                Some(name) if !keep_authors && !name.trim().is_empty() => {
                    Some(validate::clean_line(name.trim()))
                }
                _ => None,
            }
        };
        let now = now_ms();
        // Every item is checked before any is written: a refused batch changes nothing.
        let mut ready = Vec::with_capacity(items.len());
        for (at, item) in items.into_iter().enumerate() {
            let field = |name: &str| format!("issues[{at}].{name}");
            let state = Self::import_state(&project, &item, at)?;
            let closed = project.state(state).is_some_and(|s| s.category.is_closed());
            let created_at = item.created_at.unwrap_or(now);
            let title = validate::title(&item.title)
                .map_err(|e| ApiError::invalid(field("title"), e.to_string()))?;
            let issue = Issue {
                id: 0,
                project: project.id,
                number: item.number.unwrap_or(0),
                key: String::new(),
                title,
                description: validate::body(
                    "description",
                    &match credited(&item.creator) {
                        Some(name) => format!(
                            "{}\n\n(imported; originally created by {name})",
                            item.description
                        ),
                        None => item.description.clone(),
                    },
                    true,
                )
                .map_err(|e| ApiError::invalid(field("description"), e.to_string()))?,
                state,
                priority: item.priority,
                assignees: item
                    .assignees
                    .iter()
                    .filter_map(|h| people.get(&handle_from(h)).copied())
                    .collect(),
                labels: validate::labels(&item.labels)
                    .map_err(|e| ApiError::invalid(field("labels"), e.to_string()))?,
                estimate: item.estimate,
                due: validate::due(item.due.as_deref())
                    .map_err(|e| ApiError::invalid(field("due"), e.to_string()))?,
                parent: None,
                blocked_by: Vec::new(),
                rank: item.rank.clone().unwrap_or_default(),
                created_at,
                updated_at: item.updated_at.unwrap_or(created_at),
                closed_at: closed.then(|| item.closed_at.or(item.updated_at).unwrap_or(created_at)),
                creator: person(&item.creator),
                version: 0,
            };
            let mut comments = Vec::new();
            for (n, c) in item.comments.iter().enumerate() {
                comments.push(Comment {
                    id: 0,
                    issue: 0,
                    project: project.id,
                    author: person(&c.author),
                    body: validate::body(
                        "body",
                        &match credited(&c.author) {
                            Some(name) => {
                                format!("(imported; originally written by {name})\n\n{}", c.body)
                            }
                            None => c.body.clone(),
                        },
                        false,
                    )
                    .map_err(|e| {
                        ApiError::invalid(format!("issues[{at}].comments[{n}].body"), e.to_string())
                    })?,
                    created_at: c.created_at,
                    edited_at: c.edited_at,
                });
            }
            ready.push((issue, comments, validate::clean_line(&item.source)));
        }
        for (issue, comments, source) in ready {
            let events = self
                .commit(
                    caller,
                    Op::ImportIssue {
                        issue,
                        comments,
                        source: source.clone(),
                    },
                    if keep_authors {
                        vec![change("imported", "", &source)]
                    } else {
                        vec![
                            change("imported", "", &source),
                            change("authorship", "as in the file", "credited to the importer"),
                        ]
                    },
                )
                .await?;
            match events.last().map(|e| e.activity.kind) {
                Some(tack_protocol::ActivityKind::IssueCreated) => report.created += 1,
                _ => report.updated += 1,
            }
        }
        Ok(ResponseBody::Imported(report))
    }

    pub(crate) async fn merge_user(
        &self,
        caller: &Caller,
        from: String,
        into: String,
    ) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "merge people")?;
        let (from, into) = (
            self.user_by_handle(&from).await?,
            self.user_by_handle(&into).await?,
        );
        if from.id == into.id {
            return Err(ApiError::invalid("into", "merge two different people"));
        }
        self.commit(
            caller,
            Op::MergeUser {
                from: from.id,
                into: into.id,
            },
            vec![change(
                "merged",
                format!("@{}", from.handle),
                format!("@{}", into.handle),
            )],
        )
        .await?;
        Ok(ResponseBody::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::handle_from;

    #[test]
    fn any_name_becomes_a_valid_handle() {
        assert_eq!(handle_from("octocat"), "octocat");
        assert_eq!(handle_from("Mona.Lisa"), "mona-lisa");
        assert_eq!(handle_from("42bot"), "u42bot");
        assert_eq!(handle_from("x"), "x_");
    }
}
