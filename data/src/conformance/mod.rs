//! The conformance suite every engine behind [`Store`] must pass: each case drives a fresh
//! store only through the trait and checks what the service relies on — what each write does to
//! records and index queries (issues, accounts and their credentials, the inbox, jobs, webhooks,
//! views, imports), conflicts and uniqueness, gap-free activity and resuming events from a
//! sequence, concurrent writers, acknowledged writes surviving a reopen, a backup restoring to
//! an equal store, and a damaged store found by `verify` and mended by the engine's repair.
//!
//! Its builders (`write`, `project`, `new_issue`, `user`) serve an engine's own tests too.
//!
//! An engine's tests run it with [`conformance_tests!`](crate::conformance_tests), naming a
//! type that implements [`Engine`]; each case becomes its own test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod issues;
mod operations;

use std::path::Path;
use std::sync::Arc;

use tack_protocol::{
    Actor, EventRecord, Issue, IssueId, Priority, Project, ProjectId, ServerRole, StateCategory,
    StateId, User, WorkflowState,
};

use crate::{Op, Store, StoreError, Write, WriteError};

pub use accounts::*;
pub use issues::*;
pub use operations::*;

/// For the test functions [`conformance_tests!`](crate::conformance_tests) writes.
pub use tempfile;

/// How the suite opens and restores stores of one engine. `dir` names one store: an embedded
/// engine keeps it there, a database server keeps there which database is the store's.
#[async_trait::async_trait]
pub trait Engine: Send + Sync {
    /// Opens (creating if need be) the store kept under `dir`.
    async fn open(&self, dir: &Path) -> Result<Arc<dyn Store>, StoreError>;
    /// Rebuilds a store under the empty `dir` from a backup file written by [`Store::backup`].
    async fn restore(&self, backup: &Path, dir: &Path) -> Result<(), StoreError>;
    /// Damages the closed store under `dir` the way a bad disk or a crash might: one issue
    /// loses its place on its board (the issue record stays).
    async fn damage(&self, dir: &Path) -> Result<(), StoreError>;
    /// Repairs the closed store under `dir` with the engine's own tool (`tack doctor --repair`).
    async fn repair(&self, dir: &Path) -> Result<(), StoreError>;
}

/// Expands to one `#[tokio::test]` per case, each on a fresh temporary directory.
#[macro_export]
macro_rules! conformance_tests {
    ($engine:expr) => {
        $crate::conformance_tests!(@cases $engine;
            writes_keep_records_and_index_queries_in_step,
            a_stale_version_is_a_conflict_with_the_current_issue,
            handles_and_project_keys_are_unique,
            comments_are_added_edited_and_deleted_with_their_history,
            activity_is_gap_free_and_events_resume_from_a_sequence,
            concurrent_writers_each_land_once_in_order,
            acknowledged_writes_survive_reopening,
            a_backup_restores_to_an_equal_store,
            jobs_are_queued_once_per_key_and_finish,
            keys_belong_to_one_person_and_claims_give_way,
            tokens_invites_second_factors_and_settings_are_kept,
            deleting_a_person_moves_their_work_and_removes_what_was_theirs,
            merging_a_placeholder_gives_its_work_to_the_real_person,
            a_change_tells_watchers_and_queues_instant_email,
            webhooks_get_a_job_per_wanted_event_and_keep_a_bounded_log,
            failed_jobs_are_retried_postponed_and_dropped,
            reminders_views_imports_and_state_moves,
            a_damaged_store_is_found_and_repaired,
        );
    };
    (@cases $engine:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let dir = $crate::conformance::tempfile::tempdir().unwrap();
                $crate::conformance::$case(&$engine, dir.path()).await;
            }
        )*
    };
}

pub(crate) const AT: i64 = 1_700_000_000_000;

/// A write by the console at a fixed time.
pub fn write(op: Op) -> Write {
    Write {
        actor: Actor::Console,
        at: AT,
        op,
        changes: Vec::new(),
        follow: Default::default(),
    }
}

pub(crate) async fn commit(store: &dyn Store, op: Op) -> Vec<tack_protocol::Event> {
    store.submit(write(op)).wait().await.unwrap()
}

/// A new project with the states Backlog (1), Todo (2) and Done (3).
pub fn project(key: &str) -> Project {
    let states = [
        ("Backlog", StateCategory::Backlog),
        ("Todo", StateCategory::Unstarted),
        ("Done", StateCategory::Done),
    ];
    Project {
        id: 0,
        key: key.into(),
        name: key.into(),
        description: String::new(),
        states: states
            .iter()
            .zip(1..)
            .map(|((name, category), id)| WorkflowState {
                id,
                name: (*name).into(),
                category: *category,
            })
            .collect(),
        next_state_id: 4,
        members: Vec::new(),
        next_issue_number: 1,
        archived: false,
        created_at: AT,
        updated_at: AT,
    }
}

/// A new issue in `state`, unassigned and unlabelled.
pub fn new_issue(project: ProjectId, title: &str, state: StateId) -> Issue {
    Issue {
        id: 0,
        project,
        number: 0,
        key: String::new(),
        title: title.into(),
        description: format!("about {title}"),
        state,
        priority: Priority::None,
        assignees: Vec::new(),
        labels: Vec::new(),
        estimate: None,
        due: None,
        parent: None,
        blocked_by: Vec::new(),
        rank: String::new(),
        created_at: AT,
        updated_at: AT,
        closed_at: None,
        creator: Actor::Console,
        version: 0,
    }
}

/// A new person with the server role `User`.
pub fn user(handle: &str) -> User {
    User {
        id: 0,
        handle: handle.into(),
        display_name: handle.into(),
        email: None,
        role: ServerRole::User,
        disabled: false,
        created_at: AT,
    }
}

pub(crate) async fn create_project(store: &dyn Store, key: &str) -> Project {
    commit(store, Op::CreateProject(project(key))).await;
    store.project_by_key(key).await.unwrap().unwrap()
}

pub(crate) async fn create_issue(store: &dyn Store, issue: Issue) -> Issue {
    let events = commit(store, Op::CreateIssue(issue)).await;
    match &events[0].record {
        EventRecord::Issue(issue) => issue.clone(),
        other => panic!("creating an issue announced {other:?}"),
    }
}

pub(crate) async fn update_issue(store: &dyn Store, issue: Issue) -> Result<Issue, WriteError> {
    let expected_version = issue.version;
    let events = store
        .submit(write(Op::UpdateIssue {
            issue,
            expected_version,
        }))
        .wait()
        .await?;
    match &events[0].record {
        EventRecord::Issue(issue) => Ok(issue.clone()),
        other => panic!("updating an issue announced {other:?}"),
    }
}

pub(crate) fn ids(issues: &[Issue]) -> Vec<IssueId> {
    issues.iter().map(|i| i.id).collect()
}
