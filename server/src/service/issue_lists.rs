//! Reading issues: a project's board (full and slim, cached), a person's open issues, and
//! filtered lists.

use std::sync::Arc;

use tack_protocol::{
    ApiError, Issue, IssueFilter, Priority, Project, ProjectRole, ResponseBody, UserId,
};

use super::store_error;
use super::{Caller, Service, validate};

impl Service {
    /// A project's board, in column order then rank, from the cache when it is warm.
    pub(crate) async fn board(&self, project: &Project) -> Result<Arc<Vec<Issue>>, ApiError> {
        if let Some(board) = self.cache().board(project.id) {
            return Ok(board);
        }
        let generation = self.cache().generation();
        let project_id = project.id;
        let mut issues = self
            .store
            .issues_of_project(project_id)
            .await
            .map_err(store_error)?;
        let order = |state: u32| {
            project
                .states
                .iter()
                .position(|s| s.id == state)
                .unwrap_or(usize::MAX)
        };
        // The store groups by state id; the board shows states in the project's order.
        issues.sort_by_key(|i| order(i.state));
        Ok(self.cache().fill_board(generation, project.id, issues))
    }

    /// A project's slim board for queries, built once and then kept current by the cache.
    pub(crate) async fn slim_board(
        &self,
        project: &Project,
    ) -> Result<super::query_board::SlimBoard, ApiError> {
        if let Some(board) = self.cache().query_boards.get(project.id) {
            return Ok(board);
        }
        let generation = self.cache().generation();
        let id = project.id;
        let issues = self
            .store
            .issues_of_project(id)
            .await
            .map_err(store_error)?;
        let cache = self.cache();
        Ok(cache
            .query_boards
            .fill(project, &issues, || cache.unchanged_since(generation)))
    }

    async fn open_issues_of(&self, user: UserId) -> Result<Arc<Vec<Issue>>, ApiError> {
        if let Some(open) = self.cache().open_issues_of(user) {
            return Ok(open);
        }
        let generation = self.cache().generation();
        let assigned = self
            .store
            .issues_assigned_to(user)
            .await
            .map_err(store_error)?;
        let open: Vec<Issue> = assigned
            .into_iter()
            .filter(|i| i.closed_at.is_none())
            .collect();
        Ok(self.cache().fill_open_issues(generation, user, open))
    }

    pub(crate) async fn list_issues(
        &self,
        caller: &Caller,
        project: Option<String>,
        filter: IssueFilter,
    ) -> Result<ResponseBody, ApiError> {
        let assignee = match filter.assignee.as_deref().map(str::trim) {
            Some("@me") | Some("me") => Some(caller.user_id().ok_or_else(|| {
                ApiError::invalid("assignee", "@me needs a user; the console has no account")
            })?),
            Some(handle) => Some(self.user_by_handle(handle).await?.id),
            None => None,
        };
        let query = match filter.query.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => Some(super::search::parse_query(text)?),
            _ => None,
        };
        // A query scans the slim boards (text goes through the index); the rest reads boards.
        let slim = query.is_some() && self.runtime().search.get().is_some();
        // The issues to look at, borrowed from the cached boards: only matches are copied.
        let mut pools: Vec<(Arc<Project>, Arc<Vec<Issue>>)> = Vec::new();
        let mut slims: Vec<(Arc<Project>, super::query_board::SlimBoard)> = Vec::new();
        match project {
            Some(key) => {
                let project = self.project_for(caller, &key, ProjectRole::Viewer).await?;
                if slim {
                    let board = self.slim_board(&project).await?;
                    slims.push((project, board));
                } else {
                    let board = self.board(&project).await?;
                    pools.push((project, board));
                }
            }
            None => {
                let pool: Arc<Vec<Issue>> = match (assignee, filter.open) {
                    (Some(user), Some(true)) => self.open_issues_of(user).await?,
                    (Some(user), _) => Arc::new(
                        self.store
                            .issues_assigned_to(user)
                            .await
                            .map_err(store_error)?,
                    ),
                    (None, _) => {
                        for project in self.readable_projects(caller, false).await? {
                            if let Some(project) = self.project_by_id(project.id).await? {
                                if slim {
                                    let board = self.slim_board(&project).await?;
                                    slims.push((project, board));
                                } else {
                                    let board = self.board(&project).await?;
                                    pools.push((project, board));
                                }
                            }
                        }
                        Arc::new(Vec::new())
                    }
                };
                let mut by_project: std::collections::BTreeMap<u64, Vec<Issue>> =
                    Default::default();
                for issue in pool.iter() {
                    by_project
                        .entry(issue.project)
                        .or_default()
                        .push(issue.clone());
                }
                for (id, issues) in by_project {
                    if let Some(project) = self.project_by_id(id).await?
                        && Self::role_in(caller, &project).is_some()
                    {
                        pools.push((project, Arc::new(issues)));
                    }
                }
            }
        }
        let candidates: Vec<(&Arc<Project>, &Issue)> = pools
            .iter()
            .flat_map(|(p, board)| board.iter().map(move |i| (p, i)))
            .chain(
                slims
                    .iter()
                    .flat_map(|(p, board)| board.order.values().map(move |i| (p, i.as_ref()))),
            )
            .collect();
        let text = filter
            .text
            .as_deref()
            .map(|t| validate::clean_line(t).to_lowercase())
            .filter(|t| !t.is_empty());
        let label = filter
            .label
            .as_deref()
            .map(|l| validate::clean_line(l).to_lowercase());
        let limit = filter.limit.map_or(usize::MAX, |l| l as usize);
        let facts = match &query {
            Some(query) => Some(self.query_facts(caller, query, &candidates).await?),
            None => None,
        };
        let mut out: Vec<&Issue> = Vec::new();
        for (project, issue) in candidates {
            if let (Some(query), Some(facts)) = (&query, &facts)
                && !tack_protocol::query::matches(query, issue, facts)
            {
                continue;
            }
            if let Some(state) = &filter.state {
                match project.state_named(state) {
                    Some(s) if s.id == issue.state => {}
                    _ => continue,
                }
            }
            if assignee.is_some_and(|a| !issue.assignees.contains(&a))
                || label.as_ref().is_some_and(|l| !issue.labels.contains(l))
                || filter
                    .priority
                    .is_some_and(|p: Priority| p != issue.priority)
                || filter
                    .open
                    .is_some_and(|open| open != issue.closed_at.is_none())
                || text.as_ref().is_some_and(|t| {
                    !issue.title.to_lowercase().contains(t)
                        && !issue.description.to_lowercase().contains(t)
                })
            {
                continue;
            }
            out.push(issue);
            // A sorted query must see every match before it can keep the first few.
            if out.len() >= limit && query.as_ref().is_none_or(|q| q.sort.is_empty()) {
                break;
            }
        }
        if let (Some(query), Some(facts)) = (&query, &facts)
            && !query.sort.is_empty()
        {
            // Board order breaks ties; only the page needs sorting once it is picked out.
            let mut ranked: Vec<(usize, &Issue)> = out.into_iter().enumerate().collect();
            let cmp = |a: &(usize, &Issue), b: &(usize, &Issue)| {
                tack_protocol::query::order(a.1, b.1, &query.sort, facts).then(a.0.cmp(&b.0))
            };
            if ranked.len() > limit {
                ranked.select_nth_unstable_by(limit, cmp);
                ranked.truncate(limit);
            }
            ranked.sort_by(cmp);
            out = ranked.into_iter().map(|(_, issue)| issue).collect();
        }
        let mut out: Vec<Issue> = out.into_iter().cloned().collect();
        if !slims.is_empty() {
            // Slim issues have no description: answer with the stored ones.
            let ids: Vec<u64> = out.iter().map(|i| i.id).collect();
            out = self.store.issues_by_id(&ids).await.map_err(store_error)?;
        }
        Ok(ResponseBody::Issues(out))
    }
}
