//! The inbox: who hears about a change to an issue (its assignees, the people it mentions, and
//! its watchers: creator, assignees, commenters and whoever chose to watch), and reading it.

use std::collections::HashMap;

use tack_data::{Follow, Op};
use tack_protocol::{
    ApiError, EmailMode, Issue, NotificationKind, ProjectRole, ResponseBody, UserId,
};

use super::store_error;
use super::{Caller, Service};

/// The most notifications one request returns.
const INBOX_PAGE: usize = 200;

/// `@handle` words in `text`.
pub(crate) fn mention_handles(text: &str) -> Vec<String> {
    let mut handles = Vec::new();
    for word in text.split(|c: char| {
        c.is_whitespace() || matches!(c, ',' | '.' | ';' | ':' | '(' | ')' | '!' | '?')
    }) {
        if let Some(handle) = word.strip_prefix('@') {
            let handle: String = handle
                .chars()
                .take_while(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-'
                })
                .collect();
            if handle.len() >= 2 && !handles.contains(&handle) {
                handles.push(handle);
            }
        }
    }
    handles
}

impl Service {
    /// Who gets the daily digest: enabled people whose mail setting is `digest`.
    pub async fn digest_readers(&self) -> Vec<UserId> {
        let Ok(users) = self.store.users().await else {
            return Vec::new();
        };
        let mut readers = Vec::new();
        for user in users.into_iter().filter(|u| !u.disabled) {
            if let Ok(settings) = self.store.user_settings(user.id).await
                && settings.email_notifications == EmailMode::Digest
            {
                readers.push(user.id);
            }
        }
        readers
    }

    async fn mentioned(&self, text: &str) -> Vec<UserId> {
        let mut users = Vec::new();
        for handle in mention_handles(text) {
            if let Ok(user) = self.user_by_handle(&handle).await {
                users.push(user.id);
            }
        }
        users
    }

    /// Who starts watching `after` and who is told, for a change from `before` (none: a new
    /// issue), possibly with a new comment's text.
    pub(crate) async fn follow_change(
        &self,
        caller: &Caller,
        before: Option<&Issue>,
        after: &Issue,
        comment: Option<&str>,
    ) -> Follow {
        let actor = caller.user_id();
        let watching = match before {
            Some(issue) => {
                let id = issue.id;
                self.store
                    .watchers(id)
                    .await
                    .map_err(store_error)
                    .unwrap_or_default()
            }
            None => Vec::new(),
        };
        let new_assignees: Vec<UserId> = after
            .assignees
            .iter()
            .copied()
            .filter(|u| before.is_none_or(|b| !b.assignees.contains(u)))
            .collect();
        let described = before.is_none_or(|b| b.description != after.description);
        let mut mentioned = Vec::new();
        if described {
            mentioned.extend(self.mentioned(&after.description).await);
        }
        if let Some(text) = comment {
            mentioned.extend(self.mentioned(text).await);
        }
        // One notification per person, the most personal kind winning.
        let mut notify: HashMap<UserId, NotificationKind> = HashMap::new();
        let mut tell = |user: UserId, kind: NotificationKind| {
            let slot = notify.entry(user).or_insert(kind);
            let rank = |k: NotificationKind| match k {
                NotificationKind::Mentioned => 3,
                NotificationKind::Assigned => 2,
                NotificationKind::Commented => 1,
                NotificationKind::StateChanged | NotificationKind::DueSoon => 0,
            };
            if rank(kind) > rank(*slot) {
                *slot = kind;
            }
        };
        if comment.is_some() {
            watching
                .iter()
                .for_each(|u| tell(*u, NotificationKind::Commented));
        }
        if before.is_some_and(|b| b.state != after.state) {
            watching
                .iter()
                .for_each(|u| tell(*u, NotificationKind::StateChanged));
        }
        new_assignees
            .iter()
            .for_each(|u| tell(*u, NotificationKind::Assigned));
        mentioned
            .iter()
            .for_each(|u| tell(*u, NotificationKind::Mentioned));
        if let Some(actor) = actor {
            notify.remove(&actor);
        }
        let mut watchers: Vec<UserId> = new_assignees;
        watchers.extend(mentioned);
        if before.is_none() || comment.is_some() {
            watchers.extend(actor);
        }
        watchers.sort_unstable();
        watchers.dedup();
        let mut notify: Vec<(UserId, NotificationKind)> = notify.into_iter().collect();
        notify.sort_unstable();
        Follow { watchers, notify }
    }

    fn inbox_owner(caller: &Caller) -> Result<UserId, ApiError> {
        caller.user_id().ok_or_else(|| {
            ApiError::invalid(
                "user",
                "the console has no inbox; notifications belong to people",
            )
        })
    }

    pub(crate) async fn list_notifications(
        &self,
        caller: &Caller,
        unread_only: bool,
    ) -> Result<ResponseBody, ApiError> {
        let user = Self::inbox_owner(caller)?;
        let mut notifications = self
            .store
            .notifications(user, unread_only, INBOX_PAGE)
            .await
            .map_err(store_error)?;
        // Only what the person may still read: membership can end after a notification.
        let mut visible = Vec::with_capacity(notifications.len());
        for notification in notifications.drain(..) {
            let project_key = notification
                .issue_key
                .rsplit_once('-')
                .map(|(p, _)| p.to_string())
                .unwrap_or_default();
            if let Ok(project) = self.project_by_key(&project_key).await
                && Self::role_in(caller, &project).is_some()
            {
                visible.push(notification);
            }
        }
        Ok(ResponseBody::Notifications(visible))
    }

    pub(crate) async fn mark_read(
        &self,
        caller: &Caller,
        ids: Vec<u64>,
    ) -> Result<ResponseBody, ApiError> {
        let user = Self::inbox_owner(caller)?;
        self.commit(caller, Op::MarkRead { user, ids }, Vec::new())
            .await?;
        Ok(ResponseBody::Done)
    }

    pub(crate) async fn watch_issue(
        &self,
        caller: &Caller,
        key: String,
        watch: bool,
    ) -> Result<ResponseBody, ApiError> {
        let user = Self::inbox_owner(caller)?;
        let (_, issue) = self.issue_for(caller, &key, ProjectRole::Viewer).await?;
        self.commit(
            caller,
            Op::Watch {
                issue: issue.id,
                user,
                watch,
            },
            Vec::new(),
        )
        .await?;
        Ok(ResponseBody::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::mention_handles;

    #[test]
    fn mentions_are_handles_after_an_at() {
        assert_eq!(
            mention_handles("ping @alice, and @bob-2; not email@x or @A"),
            ["alice", "bob-2"]
        );
    }
}
