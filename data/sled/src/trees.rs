//! The trees: one per collection, one per index.

/// Position of each tree in `Trees::all`, so one transaction can span them.
#[derive(Debug, Clone, Copy)]
pub enum T {
    Meta = 0,
    Users,
    UsersByHandle,
    Keys,
    KeysByUser,
    Tokens,
    Invites,
    Projects,
    ProjectsByKey,
    Issues,
    IssuesByNumber,
    IdxBoard,
    IdxAssignee,
    IdxLabel,
    Comments,
    CommentsByIssue,
    Activity,
    ActivityByIssue,
    ActivityByProject,
    Totp,
    Notifications,
    Watchers,
    Jobs,
    JobsDue,
    Webhooks,
    Deliveries,
    UserSettings,
    Dedupe,
    Views,
    Imports,
    PendingKeys,
}

pub const TREE_NAMES: [&str; 31] = [
    "meta",
    "users",
    "users_by_handle",
    "keys",
    "keys_by_user",
    "tokens",
    "invites",
    "projects",
    "projects_by_key",
    "issues",
    "issues_by_number",
    "idx_board",
    "idx_assignee",
    "idx_label",
    "comments",
    "comments_by_issue",
    "activity",
    "activity_by_issue",
    "activity_by_project",
    "totp",
    "notifications",
    "watchers",
    "jobs",
    "jobs_due",
    "webhooks",
    "deliveries",
    "user_settings",
    "dedupe",
    "views",
    "imports",
    "pending_keys",
];

pub struct Trees {
    pub all: Vec<sled::Tree>,
}

impl Trees {
    pub fn open(db: &sled::Db) -> sled::Result<Trees> {
        let all = TREE_NAMES
            .iter()
            .map(|name| db.open_tree(name))
            .collect::<sled::Result<Vec<_>>>()?;
        Ok(Trees { all })
    }

    pub fn get(&self, tree: T) -> &sled::Tree {
        &self.all[tree as usize]
    }
}

pub const fn name(tree: T) -> &'static str {
    TREE_NAMES[tree as usize]
}

/// Index trees: derived from the records (`doctor::rebuild_indexes`), so a backup leaves them
/// out and a restore rebuilds them.
pub const DERIVED: [T; 11] = [
    T::UsersByHandle,
    T::KeysByUser,
    T::ProjectsByKey,
    T::IssuesByNumber,
    T::IdxBoard,
    T::IdxAssignee,
    T::IdxLabel,
    T::CommentsByIssue,
    T::ActivityByIssue,
    T::ActivityByProject,
    T::JobsDue,
];

/// Whether the tree called `name` is an index rather than a collection of records.
pub fn is_derived(name: &str) -> bool {
    DERIVED.iter().any(|tree| self::name(*tree) == name)
}

use tack_data::plan::Counter;
use tack_data::record_form::meta::counter_key;
/// Meta keys.
pub use tack_data::record_form::meta::{LAST_SEQ, SCHEMA_VERSION};
pub const NEXT_USER: &[u8] = counter_key(Counter::User);
pub const NEXT_PROJECT: &[u8] = counter_key(Counter::Project);
pub const NEXT_ISSUE: &[u8] = counter_key(Counter::Issue);
pub const NEXT_COMMENT: &[u8] = counter_key(Counter::Comment);
pub const NEXT_JOB: &[u8] = counter_key(Counter::Job);
pub const NEXT_WEBHOOK: &[u8] = counter_key(Counter::Webhook);
pub const NEXT_DELIVERY: &[u8] = counter_key(Counter::Delivery);
pub const NEXT_VIEW: &[u8] = counter_key(Counter::View);
