//! Stored forms of projects, issues, comments, the activity log and the inbox.

use tack_protocol as wire;

use super::accounts::{Actor, ProjectRole};
use super::{Stored, stored_enum, stored_struct};

stored_enum! {
    wire::StateCategory => StateCategory { Backlog, Unstarted, Started, Done, Canceled, }
}

stored_enum! {
    wire::Priority => Priority { None, Low, Medium, High, Urgent, }
}

stored_struct! {
    wire::WorkflowState => WorkflowState {
        id: u32,
        name: String,
        category: StateCategory,
    }
}

stored_struct! {
    wire::Member => Member {
        user: u64,
        role: ProjectRole,
    }
}

stored_struct! {
    wire::Project => Project {
        id: u64,
        key: String,
        name: String,
        description: String,
        states: Vec<WorkflowState>,
        next_state_id: u32,
        members: Vec<Member>,
        next_issue_number: u64,
        archived: bool,
        created_at: i64,
        updated_at: i64,
    }
}

stored_struct! {
    wire::Issue => Issue {
        id: u64,
        project: u64,
        number: u64,
        key: String,
        title: String,
        description: String,
        state: u32,
        priority: Priority,
        assignees: Vec<u64>,
        labels: Vec<String>,
        estimate: Option<u32>,
        due: Option<String>,
        parent: Option<u64>,
        blocked_by: Vec<u64>,
        rank: String,
        created_at: i64,
        updated_at: i64,
        closed_at: Option<i64>,
        creator: Actor,
        version: u64,
    }
}

stored_struct! {
    wire::Comment => Comment {
        id: u64,
        issue: u64,
        project: u64,
        author: Actor,
        body: String,
        created_at: i64,
        edited_at: Option<i64>,
    }
}

stored_struct! {
    wire::FieldChange => FieldChange {
        field: String,
        before: String,
        after: String,
    }
}

stored_enum! {
    wire::ActivityKind => ActivityKind {
        UserCreated,
        UserUpdated,
        KeyAdded,
        KeyRemoved,
        TokenCreated,
        TokenRevoked,
        InviteCreated,
        InviteRedeemed,
        InviteRevoked,
        ProjectCreated,
        ProjectUpdated,
        MemberChanged,
        StatesChanged,
        IssueCreated,
        IssueUpdated,
        IssueDeleted,
        CommentAdded,
        CommentEdited,
        CommentDeleted,
        UserDeleted,
        JobChanged,
        WebhookChanged,
        DueReminder,
    }
}

stored_struct! {
    wire::Activity => Activity {
        seq: u64,
        at: i64,
        actor: Actor,
        kind: ActivityKind,
        project: Option<u64>,
        issue: Option<u64>,
        comment: Option<u64>,
        subject: String,
        changes: Vec<FieldChange>,
    }
}

/// The record an event carried when it was queued (a webhook job keeps its event).
#[derive(Debug, Clone, bincode::Encode, bincode::Decode)]
pub enum EventRecord {
    None,
    Issue(Issue),
    IssueDeleted { id: u64, key: String },
    Comment(Comment),
    CommentDeleted { id: u64, issue: u64 },
    Project(Project),
}

impl Stored for wire::EventRecord {
    type Form = EventRecord;
    fn to_form(&self) -> EventRecord {
        match self {
            wire::EventRecord::None => EventRecord::None,
            wire::EventRecord::Issue(issue) => EventRecord::Issue(issue.to_form()),
            wire::EventRecord::IssueDeleted { id, key } => EventRecord::IssueDeleted {
                id: *id,
                key: key.clone(),
            },
            wire::EventRecord::Comment(comment) => EventRecord::Comment(comment.to_form()),
            wire::EventRecord::CommentDeleted { id, issue } => EventRecord::CommentDeleted {
                id: *id,
                issue: *issue,
            },
            wire::EventRecord::Project(project) => EventRecord::Project(project.to_form()),
        }
    }
    fn from_form(form: EventRecord) -> Self {
        match form {
            EventRecord::None => wire::EventRecord::None,
            EventRecord::Issue(issue) => wire::EventRecord::Issue(Stored::from_form(issue)),
            EventRecord::IssueDeleted { id, key } => wire::EventRecord::IssueDeleted { id, key },
            EventRecord::Comment(comment) => wire::EventRecord::Comment(Stored::from_form(comment)),
            EventRecord::CommentDeleted { id, issue } => {
                wire::EventRecord::CommentDeleted { id, issue }
            }
            EventRecord::Project(project) => wire::EventRecord::Project(Stored::from_form(project)),
        }
    }
}

stored_struct! {
    wire::Event => Event {
        seq: u64,
        activity: Activity,
        record: EventRecord,
    }
}

stored_enum! {
    wire::NotificationKind => NotificationKind {
        Assigned,
        Mentioned,
        Commented,
        StateChanged,
        DueSoon,
    }
}

stored_struct! {
    wire::Notification => Notification {
        id: u64,
        user: u64,
        issue: u64,
        issue_key: String,
        kind: NotificationKind,
        actor: Actor,
        at: i64,
        read: bool,
    }
}

stored_enum! {
    wire::Layout => Layout { List, Board, }
}

stored_struct! {
    wire::SavedView => SavedView {
        id: u64,
        name: String,
        owner: u64,
        project: Option<u64>,
        project_key: Option<String>,
        shared: bool,
        query: String,
        layout: Layout,
        created_at: i64,
    }
}
