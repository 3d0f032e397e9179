//! Issues: the heart of tack. Every change names the version it edits, or (for the one-field
//! conveniences: move, assign, label, close) applies to whatever is current.

use tack_data::Op;
use tack_protocol::{
    ApiError, EventRecord, FieldChange, Issue, IssuePatch, NewIssue, Project, ProjectRole,
    ResponseBody, StateCategory, UserId,
};

use super::projects::state_by_name;
use super::store_error;
use super::{Caller, Service, change, now_ms, parse_issue_key, validate};

/// How often a convenience change is retried when someone else changed the issue meanwhile.
const CONVENIENCE_RETRIES: usize = 5;

fn issue_from(events: Vec<tack_protocol::Event>) -> Result<Issue, ApiError> {
    events
        .into_iter()
        .find_map(|e| match e.record {
            EventRecord::Issue(issue) => Some(issue),
            _ => None,
        })
        .ok_or_else(|| ApiError::internal("the change was saved but the issue was not returned"))
}

fn show_list(values: &[String]) -> String {
    values.join(", ")
}

fn show_opt<T: ToString>(value: &Option<T>) -> String {
    value.as_ref().map(|v| v.to_string()).unwrap_or_default()
}

impl Service {
    async fn handles_to_ids(
        &self,
        project: &Project,
        handles: &[String],
    ) -> Result<Vec<UserId>, ApiError> {
        let mut ids = Vec::new();
        for handle in handles {
            let user = self.user_by_handle(handle).await?;
            let can_read =
                user.role == tack_protocol::ServerRole::Admin || project.role_of(user.id).is_some();
            if !can_read {
                return Err(ApiError::invalid(
                    "assignees",
                    format!(
                        "@{} is not a member of {}; add them with `tack ctl project member {} {} member`",
                        user.handle, project.key, project.key, user.handle
                    ),
                ));
            }
            if !ids.contains(&user.id) {
                ids.push(user.id);
            }
        }
        Ok(ids)
    }

    async fn handles_of(&self, ids: &[UserId]) -> Vec<String> {
        let mut out = Vec::new();
        for id in ids {
            match self.user_by_id(*id).await {
                Ok(Some(user)) => out.push(format!("@{}", user.handle)),
                _ => out.push(format!("user#{id}")),
            }
        }
        out
    }

    /// Resolves another issue of the same project by key, for parent and blocked-by links.
    async fn linked_issue(
        &self,
        project: &Project,
        key: &str,
        field: &str,
    ) -> Result<Issue, ApiError> {
        let (project_key, number) = parse_issue_key(key).map_err(|_| {
            ApiError::invalid(
                field,
                format!(
                    "'{}' is not an issue key like {}-1",
                    validate::clean_line(key),
                    project.key
                ),
            )
        })?;
        if project_key != project.key {
            return Err(ApiError::invalid(
                field,
                format!("{field} must be an issue of {}", project.key),
            ));
        }
        self.issue_by_number(project, number).await.map_err(|_| {
            ApiError::invalid(
                field,
                format!("{} does not exist", validate::clean_line(key)),
            )
        })
    }

    pub(crate) async fn create_issue(
        &self,
        caller: &Caller,
        new: NewIssue,
    ) -> Result<ResponseBody, ApiError> {
        let project = self
            .project_for(caller, &new.project, ProjectRole::Member)
            .await?;
        let state = match &new.state {
            Some(name) => state_by_name(&project, name)?,
            None => project
                .first_state_in(StateCategory::Unstarted)
                .or_else(|| project.states.first())
                .map(|s| s.id)
                .ok_or_else(|| ApiError::invalid("state", "the project has no states"))?,
        };
        let parent = match &new.parent {
            Some(key) => Some(self.linked_issue(&project, key, "parent").await?.id),
            None => None,
        };
        let now = now_ms();
        let closed = project.state(state).is_some_and(|s| s.category.is_closed());
        let issue = Issue {
            id: 0,
            project: project.id,
            number: 0,
            key: String::new(),
            title: validate::title(&new.title)?,
            description: validate::body("description", &new.description, true)?,
            state,
            priority: new.priority,
            assignees: self.handles_to_ids(&project, &new.assignees).await?,
            labels: validate::labels(&new.labels)?,
            estimate: validate::estimate(new.estimate)?,
            due: validate::due(new.due.as_deref())?,
            parent,
            blocked_by: Vec::new(),
            rank: String::new(),
            created_at: now,
            updated_at: now,
            closed_at: closed.then_some(now),
            creator: caller.actor().unwrap_or(tack_protocol::Actor::Console),
            version: 0,
        };
        let changes = vec![change("title", "", &issue.title)];
        let follow = self.follow_change(caller, None, &issue, None).await;
        let events = self
            .commit_following(caller, Op::CreateIssue(issue), changes, follow)
            .await?;
        Ok(ResponseBody::Issue(issue_from(events)?))
    }

    /// Applies a patch to `current`, returning the new issue and what changed.
    async fn patched(
        &self,
        project: &Project,
        current: &Issue,
        patch: IssuePatch,
    ) -> Result<(Issue, Vec<FieldChange>), ApiError> {
        let mut next = current.clone();
        let mut changes = Vec::new();
        if let Some(title) = patch.title {
            let title = validate::title(&title)?;
            if title != next.title {
                changes.push(change("title", &next.title, &title));
                next.title = title;
            }
        }
        if let Some(description) = patch.description {
            let description = validate::body("description", &description, true)?;
            if description != next.description {
                changes.push(change("description", "…", "…"));
                next.description = description;
            }
        }
        if let Some(state) = patch.state {
            let state = state_by_name(project, &state)?;
            if state != next.state {
                let name = |id| {
                    project
                        .state(id)
                        .map(|s| s.name.clone())
                        .unwrap_or_default()
                };
                changes.push(change("state", name(next.state), name(state)));
                next.state = state;
                next.rank = String::new();
                let now_closed = project.state(state).is_some_and(|s| s.category.is_closed());
                next.closed_at = if now_closed {
                    next.closed_at.or(Some(now_ms()))
                } else {
                    None
                };
            }
        }
        if let Some(priority) = patch.priority
            && priority != next.priority
        {
            changes.push(change("priority", next.priority, priority));
            next.priority = priority;
        }
        if let Some(assignees) = patch.assignees {
            let ids = self.handles_to_ids(project, &assignees).await?;
            if ids != next.assignees {
                changes.push(change(
                    "assignees",
                    self.handles_of(&next.assignees).await.join(", "),
                    self.handles_of(&ids).await.join(", "),
                ));
                next.assignees = ids;
            }
        }
        if let Some(labels) = patch.labels {
            let labels = validate::labels(&labels)?;
            if labels != next.labels {
                changes.push(change(
                    "labels",
                    show_list(&next.labels),
                    show_list(&labels),
                ));
                next.labels = labels;
            }
        }
        if let Some(estimate) = patch.estimate {
            let estimate = validate::estimate(estimate)?;
            if estimate != next.estimate {
                changes.push(change(
                    "estimate",
                    show_opt(&next.estimate),
                    show_opt(&estimate),
                ));
                next.estimate = estimate;
            }
        }
        if let Some(due) = patch.due {
            let due = validate::due(due.as_deref())?;
            if due != next.due {
                changes.push(change("due", show_opt(&next.due), show_opt(&due)));
                next.due = due;
            }
        }
        if let Some(parent) = patch.parent {
            let parent = match parent {
                Some(key) => Some(self.linked_issue(project, &key, "parent").await?),
                None => None,
            };
            if let Some(parent) = &parent {
                self.check_no_parent_cycle(project, current, parent).await?;
            }
            let id = parent.as_ref().map(|p| p.id);
            if id != next.parent {
                changes.push(change(
                    "parent",
                    "",
                    parent.map(|p| p.key).unwrap_or_default(),
                ));
                next.parent = id;
            }
        }
        if let Some(blockers) = patch.blocked_by {
            let mut ids = Vec::new();
            let mut keys = Vec::new();
            for key in &blockers {
                let blocker = self.linked_issue(project, key, "blocked_by").await?;
                if blocker.id == current.id {
                    return Err(ApiError::invalid(
                        "blocked_by",
                        "an issue cannot block itself",
                    ));
                }
                if !ids.contains(&blocker.id) {
                    ids.push(blocker.id);
                    keys.push(blocker.key);
                }
            }
            if ids != next.blocked_by {
                changes.push(change("blocked_by", "", keys.join(", ")));
                next.blocked_by = ids;
            }
        }
        Ok((next, changes))
    }

    async fn check_no_parent_cycle(
        &self,
        project: &Project,
        issue: &Issue,
        parent: &Issue,
    ) -> Result<(), ApiError> {
        let mut cursor = Some(parent.clone());
        for _ in 0..64 {
            let Some(current) = cursor else { return Ok(()) };
            if current.id == issue.id {
                return Err(ApiError::invalid(
                    "parent",
                    format!(
                        "{} is a sub-issue of {}; that would make a loop",
                        parent.key, issue.key
                    ),
                ));
            }
            cursor = match current.parent {
                Some(id) => self.store.issue(id).await.map_err(store_error)?,
                None => None,
            };
            let _ = project;
        }
        Ok(())
    }

    /// Updates an issue. With a version, a stale one is a `Conflict`; without one (the
    /// one-field conveniences), the change is re-applied to the newest issue if it moved.
    pub(crate) async fn update_issue(
        &self,
        caller: &Caller,
        key: String,
        version: Option<u64>,
        patch: IssuePatch,
    ) -> Result<ResponseBody, ApiError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (project, current) = self.issue_for(caller, &key, ProjectRole::Member).await?;
            if let Some(version) = version
                && version != current.version
            {
                return Err(ApiError::Conflict {
                    current: Box::new(current),
                });
            }
            let (mut next, changes) = self.patched(&project, &current, patch.clone()).await?;
            if changes.is_empty() {
                return Ok(ResponseBody::Issue(current));
            }
            next.updated_at = now_ms();
            let follow = self
                .follow_change(caller, Some(&current), &next, None)
                .await;
            let op = Op::UpdateIssue {
                issue: next,
                expected_version: current.version,
            };
            match self.commit_following(caller, op, changes, follow).await {
                Ok(events) => return Ok(ResponseBody::Issue(issue_from(events)?)),
                Err(ApiError::Conflict { .. })
                    if version.is_none() && attempts < CONVENIENCE_RETRIES =>
                {
                    continue;
                }
                Err(err) => return Err(err),
            }
        }
    }

    pub(crate) async fn assign_issue(
        &self,
        caller: &Caller,
        key: String,
        add: Vec<String>,
        remove: Vec<String>,
    ) -> Result<ResponseBody, ApiError> {
        let (_, current) = self.issue_for(caller, &key, ProjectRole::Member).await?;
        let mut handles: Vec<String> = self
            .handles_of(&current.assignees)
            .await
            .into_iter()
            .map(|h| h.trim_start_matches('@').to_string())
            .collect();
        let removing: Vec<String> = remove
            .iter()
            .map(|h| h.trim().trim_start_matches('@').to_string())
            .collect();
        handles.retain(|h| !removing.contains(h));
        handles.extend(add);
        self.update_issue(
            caller,
            key,
            None,
            IssuePatch {
                assignees: Some(handles),
                ..Default::default()
            },
        )
        .await
    }

    pub(crate) async fn label_issue(
        &self,
        caller: &Caller,
        key: String,
        add: Vec<String>,
        remove: Vec<String>,
    ) -> Result<ResponseBody, ApiError> {
        let (_, current) = self.issue_for(caller, &key, ProjectRole::Member).await?;
        let removing: Vec<String> = remove
            .iter()
            .map(|l| validate::clean_line(l).to_lowercase())
            .collect();
        let mut labels = current.labels.clone();
        labels.retain(|l| !removing.contains(l));
        labels.extend(add);
        self.update_issue(
            caller,
            key,
            None,
            IssuePatch {
                labels: Some(labels),
                ..Default::default()
            },
        )
        .await
    }

    /// Close moves the issue to the project's first done state; reopen to its first unstarted one.
    pub(crate) async fn close_issue(
        &self,
        caller: &Caller,
        key: String,
        close: bool,
    ) -> Result<ResponseBody, ApiError> {
        let (project, _) = self.issue_for(caller, &key, ProjectRole::Member).await?;
        let categories: &[StateCategory] = if close {
            &[StateCategory::Done, StateCategory::Canceled]
        } else {
            &[
                StateCategory::Unstarted,
                StateCategory::Backlog,
                StateCategory::Started,
            ]
        };
        let target = categories
            .iter()
            .find_map(|c| project.first_state_in(*c))
            .ok_or_else(|| {
                ApiError::invalid(
                    "state",
                    format!(
                        "{} has no {} state",
                        project.key,
                        if close { "done" } else { "open" }
                    ),
                )
            })?;
        let patch = IssuePatch {
            state: Some(target.name.clone()),
            ..Default::default()
        };
        self.update_issue(caller, key, None, patch).await
    }

    /// Places an issue between two neighbours; it joins their column if it was elsewhere.
    pub(crate) async fn rank_issue(
        &self,
        caller: &Caller,
        key: String,
        after: Option<String>,
        before: Option<String>,
    ) -> Result<ResponseBody, ApiError> {
        let (project, current) = self.issue_for(caller, &key, ProjectRole::Member).await?;
        let after = match after {
            Some(k) => Some(self.linked_issue(&project, &k, "after").await?),
            None => None,
        };
        let before = match before {
            Some(k) => Some(self.linked_issue(&project, &k, "before").await?),
            None => None,
        };
        let state = after
            .as_ref()
            .or(before.as_ref())
            .map_or(current.state, |n| n.state);
        if let (Some(a), Some(b)) = (&after, &before)
            && a.state != b.state
        {
            return Err(ApiError::invalid(
                "before",
                "the two neighbours are in different columns",
            ));
        }
        let (project_id, moving) = (project.id, current.id);
        let column: Vec<Issue> = self
            .store
            .issues_in_state(project_id, state)
            .await
            .map_err(store_error)?
            .into_iter()
            .filter(|i| i.id != moving)
            .collect();
        let position = |n: &Issue| column.iter().position(|i| i.id == n.id);
        // Neighbours not given are taken from the column, so "after X" lands right after X.
        let (low, high) = match (&after, &before) {
            (Some(a), Some(b)) => (Some(a.rank.clone()), Some(b.rank.clone())),
            (Some(a), None) => (
                Some(a.rank.clone()),
                position(a)
                    .and_then(|p| column.get(p + 1))
                    .map(|i| i.rank.clone()),
            ),
            (None, Some(b)) => (
                position(b)
                    .and_then(|p| p.checked_sub(1))
                    .and_then(|p| column.get(p))
                    .map(|i| i.rank.clone()),
                Some(b.rank.clone()),
            ),
            (None, None) => {
                return Err(ApiError::invalid(
                    "after",
                    "name a neighbour: --after KEY or --before KEY",
                ));
            }
        };
        let mut next = current.clone();
        next.rank = tack_protocol::rank::between(low.as_deref(), high.as_deref());
        let mut changes = vec![change("rank", &current.rank, &next.rank)];
        if state != current.state {
            let name = |id| {
                project
                    .state(id)
                    .map(|s| s.name.clone())
                    .unwrap_or_default()
            };
            changes.push(change("state", name(current.state), name(state)));
            next.state = state;
            let now_closed = project.state(state).is_some_and(|s| s.category.is_closed());
            next.closed_at = if now_closed {
                current.closed_at.or(Some(now_ms()))
            } else {
                None
            };
        }
        next.updated_at = now_ms();
        let follow = self
            .follow_change(caller, Some(&current), &next, None)
            .await;
        let op = Op::UpdateIssue {
            issue: next,
            expected_version: current.version,
        };
        let events = self.commit_following(caller, op, changes, follow).await?;
        Ok(ResponseBody::Issue(issue_from(events)?))
    }

    pub(crate) async fn delete_issue(
        &self,
        caller: &Caller,
        key: String,
    ) -> Result<ResponseBody, ApiError> {
        let (project, issue) = self.issue_for(caller, &key, ProjectRole::Viewer).await?;
        Self::require_role(caller, &project, ProjectRole::Owner)?;
        let changes = vec![change("title", &issue.title, "")];
        self.commit(caller, Op::DeleteIssue { id: issue.id }, changes)
            .await?;
        Ok(ResponseBody::Done)
    }
}
