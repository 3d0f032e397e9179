//! The domain model shared by every tier: what the store keeps, what the service returns and
//! what events carry.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC.
pub type Timestamp = i64;
pub type UserId = u64;
pub type ProjectId = u64;
pub type IssueId = u64;
pub type CommentId = u64;
pub type StateId = u32;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum ServerRole {
    User,
    Admin,
}

/// Ordered so that a higher role includes every right of a lower one.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum ProjectRole {
    Viewer,
    Member,
    Owner,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum StateCategory {
    Backlog,
    Unstarted,
    Started,
    Done,
    Canceled,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    None,
    Low,
    Medium,
    High,
    Urgent,
}

/// Who did something: a person, or the local admin console (the admin socket's peer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Console,
    User(UserId),
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct User {
    pub id: UserId,
    pub handle: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: ServerRole,
    pub disabled: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct SshKey {
    /// `SHA256:…`, exactly as `ssh-keygen -lf` prints it.
    pub fingerprint: String,
    pub owner: UserId,
    pub algorithm: String,
    pub comment: String,
    /// The key in `authorized_keys` form, without the comment.
    pub public_key: String,
    pub added_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct WorkflowState {
    pub id: StateId,
    pub name: String,
    pub category: StateCategory,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Member {
    pub user: UserId,
    pub role: ProjectRole,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Project {
    pub id: ProjectId,
    /// `[A-Z][A-Z0-9]{1,9}`, immutable: issue keys are built from it.
    pub key: String,
    pub name: String,
    pub description: String,
    /// In board order.
    pub states: Vec<WorkflowState>,
    pub next_state_id: StateId,
    pub members: Vec<Member>,
    pub next_issue_number: u64,
    pub archived: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Issue {
    pub id: IssueId,
    pub project: ProjectId,
    pub number: u64,
    /// `TACK-12`.
    pub key: String,
    pub title: String,
    pub description: String,
    pub state: StateId,
    pub priority: Priority,
    pub assignees: Vec<UserId>,
    pub labels: Vec<String>,
    pub estimate: Option<u32>,
    /// `YYYY-MM-DD`.
    pub due: Option<String>,
    pub parent: Option<IssueId>,
    pub blocked_by: Vec<IssueId>,
    /// Orders issues within a column; compared as bytes (see `rank`).
    pub rank: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub creator: Actor,
    /// Bumped by every change; an update names the version it edits.
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Comment {
    pub id: CommentId,
    pub issue: IssueId,
    pub project: ProjectId,
    pub author: Actor,
    pub body: String,
    pub created_at: Timestamp,
    pub edited_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ApiToken {
    /// The public part of the token, `tack_<id>_<secret>`.
    pub id: String,
    pub user: UserId,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Invite {
    pub id: String,
    pub role: ServerRole,
    pub created_by: Actor,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub redeemed_by: Option<UserId>,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct FieldChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// One committed change; the audit log, the issue history and the event stream in one.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Activity {
    pub seq: u64,
    pub at: Timestamp,
    pub actor: Actor,
    pub kind: ActivityKind,
    pub project: Option<ProjectId>,
    pub issue: Option<IssueId>,
    pub comment: Option<CommentId>,
    /// What the change was about, for people: `TACK-12`, `@alice`, `TACK`.
    pub subject: String,
    pub changes: Vec<FieldChange>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    Decode,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case", ascii_case_insensitive)]
pub enum ActivityKind {
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

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Assigned,
    Mentioned,
    Commented,
    StateChanged,
    DueSoon,
}

/// Something that happened to an issue a person watches, assigned to them or mentioning them.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Notification {
    /// The sequence number of the change that caused it.
    pub id: u64,
    pub user: UserId,
    pub issue: IssueId,
    pub issue_key: String,
    pub kind: NotificationKind,
    pub actor: Actor,
    pub at: Timestamp,
    pub read: bool,
}

impl NotificationKind {
    /// What happened, as it reads between the actor and the issue: `@bob commented on TACK-3`.
    pub fn verb(self) -> &'static str {
        match self {
            NotificationKind::Assigned => "assigned you",
            NotificationKind::Mentioned => "mentioned you on",
            NotificationKind::Commented => "commented on",
            NotificationKind::StateChanged => "moved",
            NotificationKind::DueSoon => "reminds you: due soon,",
        }
    }
}

impl StateCategory {
    pub fn is_closed(self) -> bool {
        matches!(self, StateCategory::Done | StateCategory::Canceled)
    }
}

impl Project {
    pub fn state(&self, id: StateId) -> Option<&WorkflowState> {
        self.states.iter().find(|s| s.id == id)
    }

    /// State names match case-insensitively.
    pub fn state_named(&self, name: &str) -> Option<&WorkflowState> {
        let name = name.trim();
        self.states
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    pub fn role_of(&self, user: UserId) -> Option<ProjectRole> {
        self.members.iter().find(|m| m.user == user).map(|m| m.role)
    }

    pub fn first_state_in(&self, category: StateCategory) -> Option<&WorkflowState> {
        self.states.iter().find(|s| s.category == category)
    }
}

impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Priority::None => "none",
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        })
    }
}

impl std::str::FromStr for Priority {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "no" | "0" => Ok(Priority::None),
            "low" | "1" => Ok(Priority::Low),
            "medium" | "med" | "2" => Ok(Priority::Medium),
            "high" | "3" => Ok(Priority::High),
            "urgent" | "4" => Ok(Priority::Urgent),
            other => Err(format!(
                "unknown priority '{other}'; use none, low, medium, high or urgent"
            )),
        }
    }
}

impl std::fmt::Display for StateCategory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StateCategory::Backlog => "backlog",
            StateCategory::Unstarted => "unstarted",
            StateCategory::Started => "started",
            StateCategory::Done => "done",
            StateCategory::Canceled => "canceled",
        })
    }
}

impl std::str::FromStr for StateCategory {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "backlog" => Ok(StateCategory::Backlog),
            "unstarted" => Ok(StateCategory::Unstarted),
            "started" => Ok(StateCategory::Started),
            "done" => Ok(StateCategory::Done),
            "canceled" | "cancelled" => Ok(StateCategory::Canceled),
            other => Err(format!(
                "unknown state category '{other}'; use backlog, unstarted, started, done or canceled"
            )),
        }
    }
}

impl std::fmt::Display for ProjectRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProjectRole::Viewer => "viewer",
            ProjectRole::Member => "member",
            ProjectRole::Owner => "owner",
        })
    }
}

impl std::str::FromStr for ProjectRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Ok(ProjectRole::Viewer),
            "member" => Ok(ProjectRole::Member),
            "owner" => Ok(ProjectRole::Owner),
            other => Err(format!(
                "unknown role '{other}'; use viewer, member or owner"
            )),
        }
    }
}

impl std::fmt::Display for ServerRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ServerRole::User => "user",
            ServerRole::Admin => "admin",
        })
    }
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Console => f.write_str("console"),
            Actor::User(id) => write!(f, "user#{id}"),
        }
    }
}
