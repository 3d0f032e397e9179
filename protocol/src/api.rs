//! What a client may ask, what the server answers, and what it pushes.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::model::*;
use crate::ops::*;

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct NewIssue {
    pub project: String,
    pub title: String,
    pub description: String,
    /// A state name; the project's first unstarted state (Todo) when absent.
    pub state: Option<String>,
    pub priority: Priority,
    pub assignees: Vec<String>,
    pub labels: Vec<String>,
    pub estimate: Option<u32>,
    pub due: Option<String>,
    pub parent: Option<String>,
}

/// Fields left `None` stay as they are; `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct IssuePatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub state: Option<String>,
    pub priority: Option<Priority>,
    pub assignees: Option<Vec<String>>,
    pub labels: Option<Vec<String>>,
    pub estimate: Option<Option<u32>>,
    pub due: Option<Option<String>>,
    pub parent: Option<Option<String>>,
    pub blocked_by: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct IssueFilter {
    pub state: Option<String>,
    /// A handle, or `@me`.
    pub assignee: Option<String>,
    pub label: Option<String>,
    pub priority: Option<Priority>,
    /// Case-insensitive substring of the title or description.
    pub text: Option<String>,
    /// `Some(true)`: only open issues; `Some(false)`: only closed ones.
    pub open: Option<bool>,
    pub limit: Option<u32>,
    /// A query in tack's query language (`is:open label:bug sort:priority-desc`).
    pub query: Option<String>,
}

#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Encode,
    Decode,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantNames,
)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[strum(serialize_all = "snake_case")]
pub enum Request {
    Whoami,

    CreateUser {
        handle: String,
        display_name: String,
        email: Option<String>,
        role: ServerRole,
    },
    SetUserDisabled {
        handle: String,
        disabled: bool,
    },
    ListUsers,

    /// `user` defaults to the caller; naming another user needs server admin.
    AddKey {
        user: Option<String>,
        public_key: String,
    },
    RemoveKey {
        fingerprint: String,
    },
    ListKeys {
        user: Option<String>,
    },

    CreateToken {
        user: Option<String>,
        name: String,
    },
    ListTokens {
        user: Option<String>,
    },
    RevokeToken {
        id: String,
    },

    CreateInvite {
        role: ServerRole,
        expires_in_secs: u64,
    },
    /// The one request an unauthenticated caller may make.
    RedeemInvite {
        code: String,
        handle: String,
        display_name: String,
        public_key: Option<String>,
        token_name: Option<String>,
    },
    ListInvites,
    RevokeInvite {
        id: String,
    },

    CreateProject {
        key: String,
        name: String,
        description: String,
    },
    GetProject {
        key: String,
    },
    ListProjects {
        include_archived: bool,
    },
    UpdateProject {
        key: String,
        name: Option<String>,
        description: Option<String>,
    },
    SetProjectArchived {
        key: String,
        archived: bool,
    },
    SetMember {
        project: String,
        handle: String,
        role: ProjectRole,
    },
    RemoveMember {
        project: String,
        handle: String,
    },
    AddState {
        project: String,
        name: String,
        category: StateCategory,
        position: Option<u32>,
    },
    RenameState {
        project: String,
        state: String,
        name: String,
    },
    MoveState {
        project: String,
        state: String,
        position: u32,
    },
    /// Issues in the removed state move to `move_to`.
    RemoveState {
        project: String,
        state: String,
        move_to: String,
    },

    CreateIssue(NewIssue),
    GetIssue {
        key: String,
    },
    /// Without a project: every project the caller may read.
    ListIssues {
        project: Option<String>,
        filter: IssueFilter,
    },
    UpdateIssue {
        key: String,
        version: u64,
        patch: IssuePatch,
    },
    MoveIssue {
        key: String,
        state: String,
    },
    /// Place the issue between two neighbours of its column (either may be absent).
    RankIssue {
        key: String,
        after: Option<String>,
        before: Option<String>,
    },
    AssignIssue {
        key: String,
        add: Vec<String>,
        remove: Vec<String>,
    },
    LabelIssue {
        key: String,
        add: Vec<String>,
        remove: Vec<String>,
    },
    CloseIssue {
        key: String,
    },
    ReopenIssue {
        key: String,
    },
    DeleteIssue {
        key: String,
    },

    AddComment {
        issue: String,
        body: String,
    },
    EditComment {
        id: CommentId,
        body: String,
    },
    DeleteComment {
        id: CommentId,
    },
    ListComments {
        issue: String,
    },

    IssueActivity {
        key: String,
    },
    ProjectActivity {
        project: String,
        after: Option<u64>,
        limit: u32,
    },
    AllActivity {
        after: Option<u64>,
        limit: u32,
    },

    /// Events for one project, or for every project the caller may read. With `after_seq`, the
    /// events since that sequence number are replayed first, so a reconnecting client misses none.
    Subscribe {
        project: Option<String>,
        after_seq: Option<u64>,
        /// Only issue events whose issue matches this query.
        query: Option<String>,
    },
    Unsubscribe,

    /// Starts (or restarts) two-factor enrolment: a new secret, not in force until confirmed.
    BeginTotp,
    /// Confirms enrolment with a code from the authenticator app; from then on SSH logins ask
    /// for a code after the key.
    ConfirmTotp {
        code: String,
    },
    /// Turns two-factor off; needs a current code.
    DisableTotp {
        code: String,
    },
    TotpStatus,

    /// The caller's inbox, newest first.
    ListNotifications {
        unread_only: bool,
    },
    /// Marks these notifications read; an empty list marks them all.
    MarkNotificationsRead {
        ids: Vec<u64>,
    },
    /// Start or stop watching an issue (its comments and state changes reach your inbox).
    WatchIssue {
        key: String,
        watch: bool,
    },

    /// An online, consistent snapshot of the whole store into a file on the server (admins).
    Backup {
        path: String,
    },

    /// Changes a user's profile, role or email preference (admins: anyone; people: themselves,
    /// but not their role).
    UpdateUser {
        handle: String,
        display_name: Option<String>,
        email: Option<Option<String>>,
        role: Option<ServerRole>,
        email_notifications: Option<EmailMode>,
    },
    /// Deletes an account; its issues' assignments move to `reassign_to` (or are dropped).
    DeleteUser {
        handle: String,
        reassign_to: Option<String>,
    },
    UserSettings {
        handle: Option<String>,
    },
    /// Every user's keys (admins).
    AllKeys,
    /// Every user's API tokens (admins).
    AllTokens,

    ListSessions,
    KickSession {
        id: u64,
    },

    ListJobs {
        state: Option<JobState>,
    },
    RetryJob {
        id: u64,
    },
    DropJob {
        id: u64,
    },
    /// Queues a scheduled job now: `digest`, `due_reminders`, `expire` or `backup`.
    RunJob {
        kind: String,
    },

    CreateWebhook {
        project: String,
        url: String,
        secret: String,
        events: Vec<String>,
        /// Only events about issues matching this query.
        query: Option<String>,
    },
    ListWebhooks {
        project: String,
    },
    DeleteWebhook {
        id: u64,
    },
    WebhookDeliveries {
        project: String,
        limit: u32,
    },

    /// The activity log, newest first, narrowed by `filter`, from before `before` (a sequence).
    Audit {
        filter: AuditFilter,
        before: Option<u64>,
        limit: u32,
    },
    Health,
    ListBackups,
    /// Checks a backup file (a name in the backup directory, or a path) without restoring it.
    VerifyBackup {
        name: String,
    },

    /// Full-text search over titles, descriptions and comments, ranked, across the projects
    /// the caller can read (or one of them).
    Search {
        text: String,
        project: Option<String>,
        limit: u32,
    },

    /// Saves (or replaces, by name) a view of the caller's, optionally shared with a project.
    SaveView {
        name: String,
        project: Option<String>,
        query: String,
        layout: Layout,
        shared: bool,
    },
    /// The caller's views and the shared views of projects they can read.
    ListViews {
        project: Option<String>,
    },
    /// A view and the issues it shows now.
    ShowView {
        name: String,
    },
    DeleteView {
        name: String,
    },

    /// A page of a project's issues with their comments, numbered after `after`.
    ExportIssues {
        project: String,
        after: u64,
        limit: u32,
    },
    /// Writes issues as the source has them (project owners). Unknown people become disabled
    /// placeholder accounts when `placeholders` is set (admins), else they are refused.
    ImportIssues {
        project: String,
        issues: Vec<ImportIssue>,
        placeholders: bool,
    },
    /// Gives a placeholder's issues and comments to a real account, and removes it (admins).
    MergeUser {
        from: String,
        into: String,
    },
    /// A project's figures over the last `weeks`; the burndown counts the issues of `query`.
    Insights {
        project: String,
        query: Option<String>,
        weeks: u32,
    },
    /// Lifts the lock that too many wrong two-factor codes put on an account (admins).
    UnlockUser {
        handle: String,
    },
}

impl Request {
    /// The name of every kind of request (as `<&str>::from(&request)` gives it), so a table
    /// meant to cover them all can check it does.
    pub fn kinds() -> &'static [&'static str] {
        <Self as strum::VariantNames>::VARIANTS
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Identity {
    pub actor: Actor,
    pub user: Option<User>,
    pub role: ServerRole,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum ResponseBody {
    Done,
    Whoami(Identity),
    User(User),
    Users(Vec<User>),
    Key(SshKey),
    Keys(Vec<SshKey>),
    /// The secret is shown this once and never stored in clear.
    TokenCreated {
        token: ApiToken,
        secret: String,
    },
    Tokens(Vec<ApiToken>),
    InviteCreated {
        invite: Invite,
        code: String,
    },
    Invites(Vec<Invite>),
    Redeemed {
        user: User,
        token: Option<String>,
    },
    Project(Project),
    Projects(Vec<Project>),
    Issue(Issue),
    Issues(Vec<Issue>),
    Comment(Comment),
    Comments(Vec<Comment>),
    Activity(Vec<Activity>),
    Subscribed {
        seq: u64,
    },
    Backup(BackupSummary),
    /// The secret is shown this once, as an `otpauth://` URI (for a QR code) and in base32.
    TotpSetup {
        uri: String,
        secret: String,
    },
    Totp {
        enabled: bool,
    },
    Notifications(Vec<Notification>),
    UserSettings {
        user: User,
        settings: UserSettings,
    },
    Sessions(Vec<SessionInfo>),
    Jobs(Vec<Job>),
    Job(Job),
    Webhook(WebhookStatus),
    Webhooks(Vec<WebhookStatus>),
    Deliveries(Vec<Delivery>),
    Health(Health),
    Backups(Backups),
    SearchHits(Vec<SearchHit>),
    Views(Vec<SavedView>),
    View {
        view: SavedView,
        issues: Vec<Issue>,
    },
    Exported(Vec<ExportedIssue>),
    Imported(ImportReport),
    Insights(Insights),
    /// A key added to one's own account waits until it logs in once and its holder enters
    /// `code` at the prompt (shown this once).
    KeyPending {
        key: SshKey,
        code: String,
    },
}

/// One search result: the issue, how well it matched, and where.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct SearchHit {
    pub issue: Issue,
    /// BM25 score × 1000.
    pub score: u32,
    /// `title`, `description` or `comment`: where the snippet comes from.
    pub field: String,
    pub snippet: String,
    /// Character ranges of `snippet` that matched.
    pub highlights: Vec<(u32, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct BackupSummary {
    pub path: String,
    pub bytes: u64,
    pub records: u64,
    pub schema_version: u32,
    pub checksum: String,
}

/// The record an event is about, as it is after the change.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum EventRecord {
    None,
    Issue(Issue),
    IssueDeleted { id: IssueId, key: String },
    Comment(Comment),
    CommentDeleted { id: CommentId, issue: IssueId },
    Project(Project),
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Event {
    pub seq: u64,
    pub activity: Activity,
    pub record: EventRecord,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct RequestFrame {
    pub id: u64,
    pub body: Request,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Response {
    pub id: u64,
    pub result: Result<ResponseBody, ApiError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum ServerFrame {
    Response(Response),
    Event(Event),
    /// The server is closing the connection, and why.
    Closing(ApiError),
}
