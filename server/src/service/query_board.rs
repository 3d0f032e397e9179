//! What queries scan: each project's issues in board order, without their descriptions (text
//! goes through the search index), as persistent maps. A snapshot clones for free, every
//! committed change updates the map in place, so a query over a large project never reads the
//! store and never copies the project.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use tack_protocol::{Event, EventRecord, Issue, IssueId, Project, ProjectId, StateId};

/// Board order: the state's position in the workflow, then the rank.
type Place = (u32, String, IssueId);

#[derive(Clone)]
pub struct SlimBoard {
    pub order: imbl::OrdMap<Place, Arc<Issue>>,
    places: imbl::HashMap<IssueId, Place>,
    positions: Arc<HashMap<StateId, u32>>,
}

impl SlimBoard {
    fn place(&self, issue: &Issue) -> Place {
        let position = self
            .positions
            .get(&issue.state)
            .copied()
            .unwrap_or(u32::MAX);
        (position, issue.rank.clone(), issue.id)
    }

    fn put(&mut self, issue: &Issue) {
        self.remove(issue.id);
        let mut slim = issue.clone();
        slim.description = String::new();
        let place = self.place(issue);
        self.places.insert(issue.id, place.clone());
        self.order.insert(place, Arc::new(slim));
    }

    fn remove(&mut self, id: IssueId) {
        if let Some(place) = self.places.remove(&id) {
            self.order.remove(&place);
        }
    }
}

#[derive(Default)]
pub struct QueryBoards {
    boards: RwLock<HashMap<ProjectId, SlimBoard>>,
}

impl QueryBoards {
    pub fn get(&self, project: ProjectId) -> Option<SlimBoard> {
        self.boards
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&project)
            .cloned()
    }

    /// Builds a project's board from its issues; kept only if `current()` says no commit
    /// landed since they were read. It is asked under the lock `apply` takes, so a commit is
    /// either seen by `current` or applied to the kept board.
    pub fn fill(
        &self,
        project: &Project,
        issues: &[Issue],
        current: impl Fn() -> bool,
    ) -> SlimBoard {
        let positions: HashMap<StateId, u32> = project
            .states
            .iter()
            .enumerate()
            .map(|(n, s)| (s.id, n as u32))
            .collect();
        let mut board = SlimBoard {
            order: imbl::OrdMap::new(),
            places: imbl::HashMap::new(),
            positions: Arc::new(positions),
        };
        for issue in issues {
            board.put(issue);
        }
        let mut boards = self.boards.write().unwrap_or_else(PoisonError::into_inner);
        if current() {
            boards.insert(project.id, board.clone());
        }
        board
    }

    /// Called in commit order with the cache: keeps every held board current.
    pub fn apply(&self, event: &Event) {
        let mut boards = self.boards.write().unwrap_or_else(PoisonError::into_inner);
        match &event.record {
            EventRecord::Issue(issue) => {
                if let Some(board) = boards.get_mut(&issue.project) {
                    board.put(issue);
                }
            }
            EventRecord::IssueDeleted { id, .. } => {
                if let Some(project) = event.activity.project
                    && let Some(board) = boards.get_mut(&project)
                {
                    board.remove(*id);
                }
            }
            // The workflow may have changed: the order is rebuilt on the next query.
            EventRecord::Project(project) => {
                boards.remove(&project.id);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tack_protocol::{Activity, ActivityKind, Actor, Priority, StateCategory, WorkflowState};

    fn project() -> Project {
        Project {
            id: 1,
            key: "TACK".into(),
            name: "Tack".into(),
            description: String::new(),
            states: [(7, "Todo"), (3, "Doing"), (9, "Done")]
                .iter()
                .map(|(id, name)| WorkflowState {
                    id: *id,
                    name: (*name).into(),
                    category: StateCategory::Unstarted,
                })
                .collect(),
            next_state_id: 10,
            members: vec![],
            next_issue_number: 4,
            archived: false,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn issue(id: u64, state: u32, rank: &str) -> Issue {
        Issue {
            id,
            project: 1,
            number: id,
            key: format!("TACK-{id}"),
            title: format!("issue {id}"),
            description: "long text".into(),
            state,
            priority: Priority::None,
            assignees: vec![],
            labels: vec![],
            estimate: None,
            due: None,
            parent: None,
            blocked_by: vec![],
            rank: rank.into(),
            created_at: 0,
            updated_at: 0,
            closed_at: None,
            creator: Actor::Console,
            version: 1,
        }
    }

    fn event(record: EventRecord) -> Event {
        Event {
            seq: 1,
            activity: Activity {
                seq: 1,
                at: 0,
                actor: Actor::Console,
                kind: ActivityKind::IssueUpdated,
                project: Some(1),
                issue: None,
                comment: None,
                subject: String::new(),
                changes: vec![],
            },
            record,
        }
    }

    fn keys(boards: &QueryBoards) -> Vec<String> {
        boards
            .get(1)
            .unwrap()
            .order
            .values()
            .map(|i| i.key.clone())
            .collect()
    }

    #[test]
    fn boards_stay_in_workflow_and_rank_order_as_changes_arrive() {
        let boards = QueryBoards::default();
        let built = boards.fill(
            &project(),
            &[issue(1, 9, "a"), issue(2, 7, "b"), issue(3, 7, "a")],
            || true,
        );
        assert!(
            built.order.values().all(|i| i.description.is_empty()),
            "no descriptions kept"
        );
        assert_eq!(keys(&boards), ["TACK-3", "TACK-2", "TACK-1"]);
        let snapshot = boards.get(1).unwrap();
        boards.apply(&event(EventRecord::Issue(issue(2, 3, "a"))));
        boards.apply(&event(EventRecord::IssueDeleted {
            id: 1,
            key: "TACK-1".into(),
        }));
        boards.apply(&event(EventRecord::Issue(issue(4, 7, "z"))));
        assert_eq!(keys(&boards), ["TACK-3", "TACK-4", "TACK-2"]);
        assert_eq!(
            snapshot.order.len(),
            3,
            "a snapshot taken before does not change"
        );
        boards.apply(&event(EventRecord::Project(project())));
        assert!(
            boards.get(1).is_none(),
            "a workflow change rebuilds the board"
        );
        boards.fill(&project(), &[], || false);
        assert!(
            boards.get(1).is_none(),
            "a board read while a commit landed is not kept"
        );
    }
}
