//! Hot reads kept in memory: projects, users, issues by number, whole boards and each user's
//! open issues. The store's commit listener applies every committed event here before the write
//! is acknowledged, so no read after an ack sees the old value.
//!
//! A read that misses fills the cache only if no commit landed while it read the store (the
//! generation did not move): otherwise it might put back a value a commit just replaced.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use tack_protocol::{ActivityKind, Event, EventRecord, Issue, Project, ProjectId, User, UserId};

/// Beyond this many cached issues the issue map starts over (hot issues come straight back).
const MAX_CACHED_ISSUES: usize = 50_000;
/// Boards larger than this are read from the store each time rather than held in memory.
const MAX_CACHED_BOARD: usize = 5_000;

#[derive(Default)]
pub struct Cache {
    generation: AtomicU64,
    projects: RwLock<HashMap<ProjectId, Arc<Project>>>,
    project_keys: RwLock<HashMap<String, ProjectId>>,
    users: RwLock<HashMap<UserId, Arc<User>>>,
    user_handles: RwLock<HashMap<String, UserId>>,
    issues: RwLock<HashMap<(ProjectId, u64), Arc<Issue>>>,
    boards: RwLock<HashMap<ProjectId, Arc<Vec<Issue>>>>,
    open_by_user: RwLock<HashMap<UserId, Arc<Vec<Issue>>>>,
    pub query_boards: super::query_board::QueryBoards,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl Cache {
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn unchanged_since(&self, generation: u64) -> bool {
        self.generation() == generation
    }

    /// Called by the commit listener, in commit order, before acknowledgement.
    pub fn apply(&self, events: &[Event]) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        for event in events {
            self.query_boards.apply(event);
            match &event.record {
                EventRecord::Issue(issue) => {
                    // Refresh an issue that is cached; a new one waits until someone reads it, so
                    // a burst of creates does not fill memory with issues nobody looks at.
                    let mut issues = write(&self.issues);
                    if let Some(cached) = issues.get_mut(&(issue.project, issue.number))
                        && cached.version < issue.version
                    {
                        *cached = Arc::new(issue.clone());
                    }
                    drop(issues);
                    if event.activity.kind == ActivityKind::IssueCreated
                        && let Some(project) = write(&self.projects).get_mut(&issue.project)
                        && project.next_issue_number <= issue.number
                    {
                        // Creating an issue advances the project's counter without a project event.
                        Arc::make_mut(project).next_issue_number = issue.number + 1;
                    }
                    write(&self.boards).remove(&issue.project);
                    write(&self.open_by_user).clear();
                }
                EventRecord::IssueDeleted { .. } => {
                    if let Some(project) = event.activity.project {
                        write(&self.issues).retain(|(p, _), issue| {
                            *p != project || issue.id != event.activity.issue.unwrap_or(0)
                        });
                        write(&self.boards).remove(&project);
                    }
                    write(&self.open_by_user).clear();
                }
                EventRecord::Project(project) => {
                    write(&self.project_keys).insert(project.key.clone(), project.id);
                    write(&self.projects).insert(project.id, Arc::new(project.clone()));
                    write(&self.boards).remove(&project.id);
                    write(&self.open_by_user).clear();
                }
                EventRecord::Comment(_)
                | EventRecord::CommentDeleted { .. }
                | EventRecord::None => {}
            }
            if matches!(
                event.activity.kind,
                ActivityKind::UserCreated | ActivityKind::UserUpdated
            ) {
                write(&self.users).clear();
                write(&self.user_handles).clear();
            }
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub fn project(&self, id: ProjectId) -> Option<Arc<Project>> {
        read(&self.projects).get(&id).cloned()
    }

    pub fn project_by_key(&self, key: &str) -> Option<Arc<Project>> {
        let id = *read(&self.project_keys).get(key)?;
        self.project(id)
    }

    pub fn fill_project(&self, generation: u64, project: Project) -> Arc<Project> {
        let project = Arc::new(project);
        if self.unchanged_since(generation) {
            write(&self.project_keys).insert(project.key.clone(), project.id);
            write(&self.projects).insert(project.id, project.clone());
        }
        project
    }

    pub fn user(&self, id: UserId) -> Option<Arc<User>> {
        read(&self.users).get(&id).cloned()
    }

    pub fn fill_user(&self, generation: u64, user: User) -> Arc<User> {
        let user = Arc::new(user);
        if self.unchanged_since(generation) {
            write(&self.user_handles).insert(user.handle.clone(), user.id);
            write(&self.users).insert(user.id, user.clone());
        }
        user
    }

    pub fn user_by_handle(&self, handle: &str) -> Option<Arc<User>> {
        let id = *read(&self.user_handles).get(handle)?;
        self.user(id)
    }

    pub fn issue(&self, project: ProjectId, number: u64) -> Option<Arc<Issue>> {
        read(&self.issues).get(&(project, number)).cloned()
    }

    pub fn fill_issue(&self, generation: u64, issue: Issue) -> Arc<Issue> {
        let issue = Arc::new(issue);
        if self.unchanged_since(generation) {
            let mut issues = write(&self.issues);
            if issues.len() >= MAX_CACHED_ISSUES {
                issues.clear();
            }
            issues
                .entry((issue.project, issue.number))
                .or_insert_with(|| issue.clone());
        }
        issue
    }

    pub fn board(&self, project: ProjectId) -> Option<Arc<Vec<Issue>>> {
        read(&self.boards).get(&project).cloned()
    }

    pub fn fill_board(
        &self,
        generation: u64,
        project: ProjectId,
        issues: Vec<Issue>,
    ) -> Arc<Vec<Issue>> {
        let board = Arc::new(issues);
        if self.unchanged_since(generation) && board.len() <= MAX_CACHED_BOARD {
            write(&self.boards).insert(project, board.clone());
        }
        board
    }

    pub fn open_issues_of(&self, user: UserId) -> Option<Arc<Vec<Issue>>> {
        read(&self.open_by_user).get(&user).cloned()
    }

    pub fn fill_open_issues(
        &self,
        generation: u64,
        user: UserId,
        issues: Vec<Issue>,
    ) -> Arc<Vec<Issue>> {
        let issues = Arc::new(issues);
        if self.unchanged_since(generation) {
            write(&self.open_by_user).insert(user, issues.clone());
        }
        issues
    }
}
