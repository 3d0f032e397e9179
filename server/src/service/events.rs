//! Event subscriptions: a caller sees events only for projects they may read (and, if they are a
//! server admin, account events too). A subscription first replays the log from the sequence
//! number the client last saw, then follows the live stream without a gap or a repeat.

use std::sync::Arc;

use tack_protocol::query::Query;
use tack_protocol::{ApiError, Event, EventRecord, ProjectId, ProjectRole};
use tokio::sync::broadcast;

use super::store_error;
use super::{Caller, Service};

#[derive(Debug, Clone)]
pub enum SubscriptionFilter {
    Project(ProjectId),
    AllReadable,
}

pub struct Subscription {
    pub filter: SubscriptionFilter,
    /// Only issue events whose issue matches.
    pub query: Option<Query>,
    pub live: broadcast::Receiver<Arc<Event>>,
    /// Replay starts after this sequence number.
    pub replay_after: Option<u64>,
    /// The newest durable sequence number when the subscription began.
    pub seq: u64,
}

/// How many log entries a replay reads at a time.
pub const REPLAY_PAGE: usize = 500;

impl Service {
    pub async fn subscribe(
        &self,
        caller: &Caller,
        project: Option<String>,
        after_seq: Option<u64>,
        query: Option<String>,
    ) -> Result<Subscription, ApiError> {
        // Subscribing is not dispatched like other requests, so it checks the caller itself.
        let caller = &self.refresh(caller).await?;
        match caller {
            Caller::Anonymous => {
                return Err(ApiError::unauthenticated(
                    "this connection has no identity; connect with an API token to subscribe",
                ));
            }
            Caller::Enrolling { user } => {
                return Err(ApiError::forbidden(format!(
                    "this server requires two-factor for admins: @{} must turn it on first",
                    user.handle
                )));
            }
            Caller::Console | Caller::User { .. } => {}
        }
        let query = match query.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => Some(super::search::parse_query(text)?),
            _ => None,
        };
        let filter = match project {
            Some(key) => SubscriptionFilter::Project(
                self.project_for(caller, &key, ProjectRole::Viewer)
                    .await?
                    .id,
            ),
            None => SubscriptionFilter::AllReadable,
        };
        // Subscribe to the live stream before reading the log, so nothing falls in between.
        let live = self.subscribe_bus();
        Ok(Subscription {
            filter,
            query,
            live,
            replay_after: after_seq,
            seq: self.last_seq().await?,
        })
    }

    /// Whether `caller` may see `event` under `filter`; membership is checked as it is now.
    pub async fn may_see(
        &self,
        caller: &Caller,
        filter: &SubscriptionFilter,
        event: &Event,
    ) -> bool {
        let Some(project_id) = event.activity.project else {
            return caller.is_admin() && matches!(filter, SubscriptionFilter::AllReadable);
        };
        if let SubscriptionFilter::Project(wanted) = filter
            && *wanted != project_id
        {
            return false;
        }
        match self.project_by_id(project_id).await {
            Ok(Some(project)) => Self::role_in(caller, &project).is_some(),
            _ => false,
        }
    }

    /// Whether an event is about an issue that matches `query`, as the issue is now. Events
    /// about no issue (a project renamed, say) do not match.
    pub async fn event_matches(&self, caller: &Caller, query: &Query, event: &Event) -> bool {
        let issue = match &event.record {
            EventRecord::Issue(issue) => Some(issue.clone()),
            EventRecord::Comment(comment) => {
                let id = comment.issue;
                self.store
                    .issue(id)
                    .await
                    .map_err(store_error)
                    .ok()
                    .flatten()
            }
            _ => None,
        };
        let Some(issue) = issue else {
            return false;
        };
        let Ok(Some(project)) = self.project_by_id(issue.project).await else {
            return false;
        };
        match self.query_facts(caller, query, &[(&project, &issue)]).await {
            Ok(facts) => tack_protocol::query::matches(query, &issue, &facts),
            Err(_) => false,
        }
    }

    /// The next page of logged events after `after`, for replay.
    pub async fn replay_page(&self, after: u64) -> Result<Vec<Event>, ApiError> {
        self.store
            .events_after(after, REPLAY_PAGE)
            .await
            .map_err(store_error)
    }
}
