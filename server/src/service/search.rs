//! Full-text search and the query language on the server: ranked hits with snippets, and the
//! facts a query is evaluated against.

use std::collections::HashMap;
use std::sync::Arc;

use tack_protocol::query::{self, Facts, Key, Query, Term, Value};
use tack_protocol::{
    ApiError, Issue, IssueId, Project, ProjectId, ProjectRole, ResponseBody, SearchHit, Timestamp,
    UserId,
};

use super::notifications::mention_handles;
use super::store_error;
use super::{Caller, Service, now_ms, validate};
use crate::search_index::highlight::snippet;

/// How much of the text a snippet shows.
const SNIPPET_WIDTH: usize = 120;
/// The console, where a query names people.
const CONSOLE: UserId = 0;

pub(crate) fn parse_query(text: &str) -> Result<Query, ApiError> {
    query::parse(text).map_err(|e| ApiError::invalid("query", e.to_string()))
}

/// What the server knows, gathered before a query is evaluated.
pub(crate) struct ServerFacts {
    me: Option<UserId>,
    users: HashMap<String, UserId>,
    projects: HashMap<ProjectId, Arc<Project>>,
    issues: HashMap<IssueId, (String, bool)>,
    now: Timestamp,
    /// Issues each text term matched in the index; `None`: no index, match substrings.
    text: Option<HashMap<String, crate::search_index::IdSet>>,
    commenters: HashMap<IssueId, Vec<UserId>>,
    mentions: HashMap<IssueId, Vec<UserId>>,
    watchers: HashMap<IssueId, Vec<UserId>>,
}

impl Facts for ServerFacts {
    fn me(&self) -> Option<UserId> {
        self.me
    }
    fn user(&self, handle: &str) -> Option<UserId> {
        self.users.get(&handle.to_ascii_lowercase()).copied()
    }
    fn project(&self, id: u64) -> Option<&Project> {
        self.projects.get(&id).map(|p| p.as_ref())
    }
    fn issue_key(&self, id: IssueId) -> Option<(String, bool)> {
        self.issues.get(&id).cloned()
    }
    fn now(&self) -> Timestamp {
        self.now
    }
    fn text_match(&self, issue: &Issue, text: &str) -> bool {
        match &self.text {
            Some(hits) => hits.get(text).is_some_and(|ids| ids.contains(issue.id)),
            None => {
                let text = text.to_lowercase();
                issue.title.to_lowercase().contains(&text)
                    || issue.description.to_lowercase().contains(&text)
            }
        }
    }
    fn commenters(&self, issue: &Issue) -> Vec<UserId> {
        self.commenters.get(&issue.id).cloned().unwrap_or_default()
    }
    fn mentions(&self, issue: &Issue) -> Vec<UserId> {
        self.mentions.get(&issue.id).cloned().unwrap_or_default()
    }
    fn watchers(&self, issue: &Issue) -> Vec<UserId> {
        self.watchers.get(&issue.id).cloned().unwrap_or_default()
    }
}

impl Service {
    /// Gathers what `query` needs to be evaluated over `candidates`.
    pub(crate) async fn query_facts(
        &self,
        caller: &Caller,
        query: &Query,
        candidates: &[(&Arc<Project>, &Issue)],
    ) -> Result<ServerFacts, ApiError> {
        let terms = query.terms();
        let uses = |key: Key| {
            terms.iter().any(|t| match t {
                Term::Match { key: k, .. } | Term::No(k) | Term::Has(k) => *k == key,
                _ => false,
            })
        };
        let mut users = self
            .store
            .users()
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|u| (u.handle.clone(), u.id))
            .collect::<HashMap<_, _>>();
        // The console acts too (it writes comments); user ids start at 1.
        users.insert("console".into(), CONSOLE);
        for term in &terms {
            if let Term::Match { key, values } = term
                && matches!(
                    key,
                    Key::Assignee | Key::Mentions | Key::Commenter | Key::Watcher
                )
            {
                for value in values {
                    if let Value::Word(handle) = value {
                        let handle = handle.trim_start_matches('@').to_ascii_lowercase();
                        if !users.contains_key(&handle) {
                            return Err(ApiError::invalid(
                                "query",
                                format!(
                                    "no user @{}; `tack ctl user list` shows who exists",
                                    validate::clean_line(&handle)
                                ),
                            ));
                        }
                    }
                }
            }
        }
        let mut projects: HashMap<ProjectId, Arc<Project>> = HashMap::new();
        for (p, _) in candidates {
            projects.entry(p.id).or_insert_with(|| (*p).clone());
        }
        // Keys and open-ness of linked issues, only when the query follows links.
        let links = terms.iter().any(|t| match t {
            Term::Match { key, .. } | Term::No(key) | Term::Has(key) => {
                matches!(key, Key::Parent | Key::BlockedBy)
            }
            Term::Is(flag) => *flag == query::Flag::Blocked,
            _ => false,
        });
        let mut issues: HashMap<IssueId, (String, bool)> = HashMap::new();
        let mut missing: Vec<IssueId> = Vec::new();
        if links {
            issues = candidates
                .iter()
                .map(|(p, i)| {
                    let open = p.state(i.state).is_none_or(|s| !s.category.is_closed());
                    (i.id, (i.key.clone(), open))
                })
                .collect();
            // Parents and blockers outside the candidates (another project, say).
            missing = candidates
                .iter()
                .flat_map(|(_, i)| i.blocked_by.iter().copied().chain(i.parent))
                .filter(|id| !issues.contains_key(id))
                .collect();
        }
        for id in missing {
            if let Some(issue) = self.store.issue(id).await.map_err(store_error)?
                && let Some(project) = self.project_by_id(issue.project).await?
            {
                let open = project
                    .state(issue.state)
                    .is_none_or(|s| !s.category.is_closed());
                issues.insert(id, (issue.key.clone(), open));
            }
        }
        let text = match self.runtime().search.get() {
            Some(index) => {
                let readable: Vec<ProjectId> = projects.keys().copied().collect();
                let mut hits = HashMap::new();
                for word in query.text() {
                    let index = index.clone();
                    let (words, readable) = (word.to_string(), readable.clone());
                    let found =
                        tokio::task::spawn_blocking(move || index.matching(&words, &readable))
                            .await
                            .map_err(|e| ApiError::internal(e.to_string()))?
                            .map_err(|e| ApiError::unavailable(e.to_string()))?;
                    hits.insert(word.to_string(), found);
                }
                Some(hits)
            }
            None => None,
        };
        let mut facts = ServerFacts {
            me: caller.user_id(),
            users,
            projects,
            issues,
            now: now_ms(),
            text,
            commenters: HashMap::new(),
            mentions: HashMap::new(),
            watchers: HashMap::new(),
        };
        let (commenters, mentions, watchers) = (
            uses(Key::Commenter),
            uses(Key::Mentions),
            uses(Key::Watcher),
        );
        if commenters || mentions || watchers {
            let ids: Vec<(IssueId, String)> = candidates
                .iter()
                .map(|(_, i)| (i.id, i.description.clone()))
                .collect();
            let store = &self.store;
            let gathered = futures::future::try_join_all(ids.into_iter().map(
                |(id, description)| async move {
                    let comments = if commenters || mentions {
                        store.comments_of(id).await?
                    } else {
                        Vec::new()
                    };
                    let watching = if watchers {
                        store.watchers(id).await?
                    } else {
                        Vec::new()
                    };
                    Ok::<_, tack_data::StoreError>((id, description, comments, watching))
                },
            ))
            .await
            .map_err(store_error)?;
            for (id, description, comments, watching) in gathered {
                let mut said = description;
                let mut by = Vec::new();
                for comment in comments {
                    by.push(match comment.author {
                        tack_protocol::Actor::User(author) => author,
                        tack_protocol::Actor::Console => CONSOLE,
                    });
                    said.push('\n');
                    said.push_str(&comment.body);
                }
                let named: Vec<UserId> = mention_handles(&said)
                    .iter()
                    .filter_map(|h| facts.users.get(h).copied())
                    .collect();
                facts.commenters.insert(id, by);
                facts.mentions.insert(id, named);
                facts.watchers.insert(id, watching);
            }
        }
        Ok(facts)
    }

    pub(crate) async fn search(
        &self,
        caller: &Caller,
        text: String,
        project: Option<String>,
        limit: u32,
    ) -> Result<ResponseBody, ApiError> {
        let Some(index) = self.runtime().search.get().cloned() else {
            return Err(ApiError::unavailable(
                "full-text search is not running on this server",
            ));
        };
        let text = validate::clean_line(&text);
        if text.trim().is_empty() {
            return Err(ApiError::invalid("text", "type some words to search for"));
        }
        let projects: Vec<Project> = match project {
            Some(key) => {
                vec![(*self.project_for(caller, &key, ProjectRole::Viewer).await?).clone()]
            }
            None => self.readable_projects(caller, false).await?,
        };
        let readable: Vec<ProjectId> = projects.iter().map(|p| p.id).collect();
        let limit = limit.clamp(1, 200) as usize;
        let words = index.words(&text);
        let found = {
            let (index, text) = (index.clone(), text.clone());
            tokio::task::spawn_blocking(move || {
                let hits = index.search(&text, &readable, limit)?;
                let mut out = Vec::new();
                for (id, score) in hits {
                    out.push((id, score, index.stored(id)?));
                }
                Ok::<_, crate::search_index::SearchError>(out)
            })
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(|e| ApiError::unavailable(e.to_string()))?
        };
        let mut hits = Vec::new();
        for (id, score, stored) in found {
            // The index may trail the store by a moment: the store has the last word.
            let Some(issue) = self.store.issue(id).await.map_err(store_error)? else {
                continue;
            };
            if !readable_contains(&projects, issue.project) {
                continue;
            }
            let (field, snippet) = stored
                .and_then(|t| {
                    [
                        ("title", t.title),
                        ("description", t.description),
                        ("comment", t.comments),
                    ]
                    .into_iter()
                    .find_map(|(field, text)| {
                        snippet(&text, &words, SNIPPET_WIDTH).map(|s| (field, s))
                    })
                })
                .unwrap_or(("title", (issue.title.clone(), Vec::new())));
            hits.push(SearchHit {
                issue,
                score: (score * 1000.0) as u32,
                field: field.to_string(),
                snippet: snippet.0,
                highlights: snippet.1,
            });
        }
        Ok(ResponseBody::SearchHits(hits))
    }
}

fn readable_contains(projects: &[Project], id: ProjectId) -> bool {
    projects.iter().any(|p| p.id == id)
}
