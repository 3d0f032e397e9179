//! Projects: their members and roles, and their workflow states.

use std::sync::Arc;

use tack_data::Op;
use tack_protocol::{
    ActivityKind, ApiError, Member, Project, ProjectRole, ResponseBody, StateCategory,
    WorkflowState,
};

use super::store_error;
use super::{Caller, Service, change, now_ms, validate};

const MAX_STATES: usize = 20;

fn default_states() -> Vec<WorkflowState> {
    [
        ("Backlog", StateCategory::Backlog),
        ("Todo", StateCategory::Unstarted),
        ("In Progress", StateCategory::Started),
        ("Done", StateCategory::Done),
        ("Canceled", StateCategory::Canceled),
    ]
    .iter()
    .enumerate()
    .map(|(i, (name, category))| WorkflowState {
        id: i as u32 + 1,
        name: (*name).to_string(),
        category: *category,
    })
    .collect()
}

fn find_state<'p>(project: &'p Project, name: &str) -> Result<&'p WorkflowState, ApiError> {
    project.state_named(name).ok_or_else(|| {
        let names: Vec<&str> = project.states.iter().map(|s| s.name.as_str()).collect();
        ApiError::invalid(
            "state",
            format!(
                "{} has no state '{}'; its states are: {}",
                project.key,
                validate::clean_line(name),
                names.join(", ")
            ),
        )
    })
}

pub(crate) fn state_by_name(project: &Project, name: &str) -> Result<u32, ApiError> {
    find_state(project, name).map(|s| s.id)
}

impl Service {
    pub(crate) async fn create_project(
        &self,
        caller: &Caller,
        key: String,
        name: String,
        description: String,
    ) -> Result<ResponseBody, ApiError> {
        let key = validate::project_key(&key)?;
        let now = now_ms();
        let members = caller
            .user_id()
            .map(|user| {
                vec![Member {
                    user,
                    role: ProjectRole::Owner,
                }]
            })
            .unwrap_or_default();
        let states = default_states();
        let project = Project {
            id: 0,
            key: key.clone(),
            name: validate::name("name", &name, 80)?,
            description: validate::body("description", &description, true)?,
            next_state_id: states.len() as u32 + 1,
            states,
            members,
            next_issue_number: 1,
            archived: false,
            created_at: now,
            updated_at: now,
        };
        let changes = vec![change("name", "", &project.name)];
        let events = self
            .commit(caller, Op::CreateProject(project), changes)
            .await?;
        let created = events.into_iter().find_map(|e| match e.record {
            tack_protocol::EventRecord::Project(p) => Some(p),
            _ => None,
        });
        created
            .map(ResponseBody::Project)
            .ok_or_else(|| ApiError::internal("the project was created but not returned"))
    }

    pub(crate) async fn list_projects(
        &self,
        caller: &Caller,
        include_archived: bool,
    ) -> Result<ResponseBody, ApiError> {
        Ok(ResponseBody::Projects(
            self.readable_projects(caller, include_archived).await?,
        ))
    }

    pub(crate) async fn readable_projects(
        &self,
        caller: &Caller,
        include_archived: bool,
    ) -> Result<Vec<Project>, ApiError> {
        let mut projects: Vec<Project> = self
            .store
            .projects()
            .await
            .map_err(store_error)?
            .into_iter()
            .filter(|p| Self::role_in(caller, p).is_some() && (include_archived || !p.archived))
            .collect();
        projects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(projects)
    }

    /// Commits a changed project (owners only) and returns it.
    async fn save_project(
        &self,
        caller: &Caller,
        project: Project,
        kind: ActivityKind,
        changes: Vec<tack_protocol::FieldChange>,
    ) -> Result<ResponseBody, ApiError> {
        let mut project = project;
        project.updated_at = now_ms();
        self.commit(
            caller,
            Op::UpdateProject {
                project: project.clone(),
                kind,
            },
            changes,
        )
        .await?;
        let fresh = self.project_by_key(&project.key).await?;
        Ok(ResponseBody::Project((*fresh).clone()))
    }

    async fn owned_project(&self, caller: &Caller, key: &str) -> Result<Arc<Project>, ApiError> {
        self.project_for(caller, key, ProjectRole::Owner).await
    }

    pub(crate) async fn update_project(
        &self,
        caller: &Caller,
        key: String,
        name: Option<String>,
        description: Option<String>,
    ) -> Result<ResponseBody, ApiError> {
        let mut project = (*self.owned_project(caller, &key).await?).clone();
        let mut changes = Vec::new();
        if let Some(name) = name {
            let name = validate::name("name", &name, 80)?;
            changes.push(change("name", &project.name, &name));
            project.name = name;
        }
        if let Some(description) = description {
            let description = validate::body("description", &description, true)?;
            changes.push(change("description", "…", "…"));
            project.description = description;
        }
        if changes.is_empty() {
            return Err(ApiError::invalid(
                "request",
                "nothing to change; pass --name or --description",
            ));
        }
        self.save_project(caller, project, ActivityKind::ProjectUpdated, changes)
            .await
    }

    pub(crate) async fn set_project_archived(
        &self,
        caller: &Caller,
        key: String,
        archived: bool,
    ) -> Result<ResponseBody, ApiError> {
        let project = self.project_by_key(&key).await?;
        Self::require_role(caller, &project, ProjectRole::Owner)?;
        let mut project = (*project).clone();
        let changes = vec![change("archived", project.archived, archived)];
        project.archived = archived;
        self.save_project(caller, project, ActivityKind::ProjectUpdated, changes)
            .await
    }

    /// Adds a member, changes their role, or (with `None`) removes them.
    pub(crate) async fn set_member(
        &self,
        caller: &Caller,
        key: String,
        handle: String,
        role: Option<ProjectRole>,
    ) -> Result<ResponseBody, ApiError> {
        let mut project = (*self.owned_project(caller, &key).await?).clone();
        let user = self.user_by_handle(&handle).await?;
        let before = project.role_of(user.id);
        project.members.retain(|m| m.user != user.id);
        if let Some(role) = role {
            project.members.push(Member {
                user: user.id,
                role,
            });
        } else if before.is_none() {
            return Err(ApiError::not_found(format!(
                "@{} is not a member of {}",
                user.handle, project.key
            )));
        }
        let owners = project
            .members
            .iter()
            .filter(|m| m.role == ProjectRole::Owner)
            .count();
        if before == Some(ProjectRole::Owner) && owners == 0 {
            return Err(ApiError::invalid(
                "role",
                format!(
                    "@{} is the last owner of {}; make someone else owner first",
                    user.handle, project.key
                ),
            ));
        }
        let show =
            |r: Option<ProjectRole>| r.map(|r| r.to_string()).unwrap_or_else(|| "none".into());
        let changes = vec![change(
            &format!("member @{}", user.handle),
            show(before),
            show(role),
        )];
        self.save_project(caller, project, ActivityKind::MemberChanged, changes)
            .await
    }

    pub(crate) async fn add_state(
        &self,
        caller: &Caller,
        key: String,
        name: String,
        category: StateCategory,
        position: Option<u32>,
    ) -> Result<ResponseBody, ApiError> {
        let mut project = (*self.owned_project(caller, &key).await?).clone();
        let name = validate::state_name(&name)?;
        if project.state_named(&name).is_some() {
            return Err(ApiError::invalid(
                "state",
                format!("{} already has a state named '{name}'", project.key),
            ));
        }
        if project.states.len() >= MAX_STATES {
            return Err(ApiError::invalid(
                "state",
                format!("a project may have at most {MAX_STATES} states"),
            ));
        }
        let state = WorkflowState {
            id: project.next_state_id,
            name: name.clone(),
            category,
        };
        project.next_state_id += 1;
        let at = position.map_or(project.states.len(), |p| {
            (p as usize).min(project.states.len())
        });
        project.states.insert(at, state);
        let changes = vec![change("state", "", &name)];
        self.save_project(caller, project, ActivityKind::StatesChanged, changes)
            .await
    }

    pub(crate) async fn rename_state(
        &self,
        caller: &Caller,
        key: String,
        state: String,
        name: String,
    ) -> Result<ResponseBody, ApiError> {
        let mut project = (*self.owned_project(caller, &key).await?).clone();
        let id = state_by_name(&project, &state)?;
        let name = validate::state_name(&name)?;
        if project.state_named(&name).is_some_and(|s| s.id != id) {
            return Err(ApiError::invalid(
                "name",
                format!("{} already has a state named '{name}'", project.key),
            ));
        }
        let mut changes = Vec::new();
        for s in project.states.iter_mut().filter(|s| s.id == id) {
            changes.push(change("state", &s.name, &name));
            s.name = name.clone();
        }
        self.save_project(caller, project, ActivityKind::StatesChanged, changes)
            .await
    }

    pub(crate) async fn move_state(
        &self,
        caller: &Caller,
        key: String,
        state: String,
        position: u32,
    ) -> Result<ResponseBody, ApiError> {
        let mut project = (*self.owned_project(caller, &key).await?).clone();
        let id = state_by_name(&project, &state)?;
        let from = project.states.iter().position(|s| s.id == id).unwrap_or(0);
        let moved = project.states.remove(from);
        let to = (position as usize).min(project.states.len());
        let changes = vec![change(&format!("position of {}", moved.name), from, to)];
        project.states.insert(to, moved);
        self.save_project(caller, project, ActivityKind::StatesChanged, changes)
            .await
    }

    /// Removes a state; its issues move to `move_to` in the same transaction.
    pub(crate) async fn remove_state(
        &self,
        caller: &Caller,
        key: String,
        state: String,
        move_to: String,
    ) -> Result<ResponseBody, ApiError> {
        let mut project = (*self.owned_project(caller, &key).await?).clone();
        let removed = find_state(&project, &state)?.clone();
        let target = find_state(&project, &move_to)
            .map_err(|_| {
                ApiError::invalid(
                    "move_to",
                    format!(
                        "{} has no state '{}' to move the issues to",
                        project.key,
                        validate::clean_line(&move_to)
                    ),
                )
            })?
            .clone();
        if removed.id == target.id {
            return Err(ApiError::invalid(
                "move_to",
                "choose a different state to move the issues to",
            ));
        }
        if project.states.len() <= 1 {
            return Err(ApiError::invalid(
                "state",
                "a project needs at least one state",
            ));
        }
        let (project_id, removed_id) = (project.id, removed.id);
        let mut issues = self
            .store
            .issues_in_state(project_id, removed_id)
            .await
            .map_err(store_error)?;
        let mut target_column = self
            .store
            .issues_in_state(project_id, target.id)
            .await
            .map_err(store_error)?;
        let mut last = target_column.pop().map(|i| i.rank);
        let now = now_ms();
        for issue in &mut issues {
            let rank = tack_protocol::rank::after(last.as_deref());
            issue.state = target.id;
            issue.rank = rank.clone();
            issue.updated_at = now;
            issue.closed_at = if target.category.is_closed() {
                issue.closed_at.or(Some(now))
            } else {
                None
            };
            last = Some(rank);
        }
        project.states.retain(|s| s.id != removed.id);
        project.updated_at = now;
        let changes = vec![change(
            "state",
            &removed.name,
            format!("removed; {} issues moved to {}", issues.len(), target.name),
        )];
        self.commit(
            caller,
            Op::UpdateProjectAndIssues {
                project: project.clone(),
                issues,
            },
            changes,
        )
        .await?;
        let fresh = self.project_by_key(&project.key).await?;
        Ok(ResponseBody::Project((*fresh).clone()))
    }
}
