//! An event rebuilt from its activity entry: which record it is about, and what it carries now
//! (the record as it is, or that it is gone). Engines look the records up as suits them.

use tack_protocol::{
    Activity, ActivityKind, Comment, CommentId, EventRecord, Issue, IssueId, Project, ProjectId,
};

/// The records an activity entry's event carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Subject {
    pub issue: Option<IssueId>,
    pub comment: Option<CommentId>,
    pub project: Option<ProjectId>,
}

pub fn subject_of(activity: &Activity) -> Subject {
    use ActivityKind::*;
    match activity.kind {
        IssueCreated | IssueUpdated => Subject {
            issue: activity.issue,
            ..Subject::default()
        },
        CommentAdded | CommentEdited if activity.issue.is_some() => Subject {
            comment: activity.comment,
            ..Subject::default()
        },
        ProjectCreated | ProjectUpdated | MemberChanged | StatesChanged => Subject {
            project: activity.project,
            ..Subject::default()
        },
        _ => Subject::default(),
    }
}

/// What the event of `activity` carries, given the records its [`Subject`] names as they are
/// now (`None` where one is gone).
pub fn event_record(
    activity: &Activity,
    issue: Option<Issue>,
    comment: Option<Comment>,
    project: Option<Project>,
) -> EventRecord {
    use ActivityKind::*;
    match activity.kind {
        IssueCreated | IssueUpdated => match (activity.issue, issue) {
            (Some(_), Some(issue)) => EventRecord::Issue(issue),
            (Some(id), None) => EventRecord::IssueDeleted {
                id,
                key: activity.subject.clone(),
            },
            (None, _) => EventRecord::None,
        },
        IssueDeleted => EventRecord::IssueDeleted {
            id: activity.issue.unwrap_or(0),
            key: activity.subject.clone(),
        },
        CommentAdded | CommentEdited | CommentDeleted => match (activity.comment, activity.issue) {
            (Some(id), Some(issue)) => match comment {
                Some(comment) if activity.kind != CommentDeleted => EventRecord::Comment(comment),
                _ => EventRecord::CommentDeleted { id, issue },
            },
            _ => EventRecord::None,
        },
        ProjectCreated | ProjectUpdated | MemberChanged | StatesChanged => {
            project.map_or(EventRecord::None, EventRecord::Project)
        }
        _ => EventRecord::None,
    }
}
