//! Live SSH sessions: a removed key or a disabled account ends them at once, and a person's
//! cap on open sessions holds over every node sharing the store, which holds a place for each.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tack_data::Store;
use tack_protocol::UserId;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
pub(super) struct Sessions {
    live: Mutex<HashMap<u64, LiveSession>>,
}

pub(super) struct LiveSession {
    pub user: UserId,
    pub fingerprint: String,
    pub stop: CancellationToken,
}

impl Sessions {
    fn count_for(&self, user: UserId) -> usize {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|s| s.user == user)
            .count()
    }

    /// Starts `session` on connection `id` if its person has a place left, on this node and
    /// on every other node sharing `store`; `None` when they have none.
    pub async fn start(
        &self,
        store: &dyn Store,
        id: u64,
        session: LiveSession,
        limit: usize,
        lease: Duration,
    ) -> Option<CancellationToken> {
        if self.count_for(session.user) >= limit {
            return None;
        }
        match store.claim_session(id, session.user, limit, lease).await {
            Ok(Some(false)) => return None,
            Ok(Some(true) | None) => {}
            // The database is out of reach: this node's own count decides, and the session
            // finds out soon enough that nothing it asks for can be answered.
            Err(err) => {
                tracing::warn!(connection = id, error = %err, "cannot count the sessions of other nodes")
            }
        }
        let stop = session.stop.clone();
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, session);
        Some(stop)
    }

    /// Ends the bookkeeping for connection `id`, giving its place back.
    pub async fn remove(&self, store: &dyn Store, id: u64) {
        let removed = self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        if removed.is_some() {
            // One that fails is given up at the next renewal.
            if let Err(err) = store.release_session(id).await {
                tracing::debug!(connection = id, error = %err, "session place not released");
            }
        }
    }

    /// Holds this node's places every third of `lease`, and gives up those of sessions gone.
    pub async fn renew(&self, store: &dyn Store, lease: Duration, stop: &CancellationToken) {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(lease / 3) => {}
            }
            let live: Vec<u64> = self
                .live
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .keys()
                .copied()
                .collect();
            if let Err(err) = store.renew_sessions(&live, lease).await {
                tracing::warn!(error = %err, "cannot renew the session places of this node");
            }
        }
    }

    pub fn users(&self) -> Vec<UserId> {
        let mut users: Vec<UserId> = self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|s| s.user)
            .collect();
        users.dedup();
        users
    }

    pub fn end_where(&self, matches: impl Fn(&LiveSession) -> bool) {
        for session in self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            if matches(session) {
                session.stop.cancel();
            }
        }
    }
}
