//! Protocol connections by who they are, so that revoking a token or disabling an account ends
//! that token's or that person's connections — and the subscriptions on them — at once, rather
//! than at their next request (a `watch` makes none).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tack_protocol::UserId;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
pub struct LiveCallers {
    next_id: AtomicU64,
    live: Mutex<HashMap<u64, LiveCaller>>,
}

struct LiveCaller {
    user: UserId,
    token: Option<String>,
    end: CancellationToken,
}

/// One registered connection; leaves the registry when dropped.
pub struct CallerGuard {
    registry: Arc<LiveCallers>,
    id: u64,
    ended: CancellationToken,
}

impl CallerGuard {
    /// Resolves when the connection's token is revoked or its account disabled or deleted.
    pub fn ended(&self) -> &CancellationToken {
        &self.ended
    }
}

impl Drop for CallerGuard {
    fn drop(&mut self) {
        self.registry
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

impl LiveCallers {
    pub fn enter(self: &Arc<Self>, user: UserId, token: Option<String>) -> CallerGuard {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let end = CancellationToken::new();
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                id,
                LiveCaller {
                    user,
                    token,
                    end: end.clone(),
                },
            );
        CallerGuard {
            registry: self.clone(),
            id,
            ended: end,
        }
    }

    fn end_where(&self, matches: impl Fn(&LiveCaller) -> bool) -> usize {
        let live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        let mut ended = 0;
        for caller in live.values().filter(|c| matches(c)) {
            caller.end.cancel();
            ended += 1;
        }
        ended
    }

    /// Ends every connection that signed in with the token `id`.
    pub fn end_token(&self, id: &str) -> usize {
        self.end_where(|c| c.token.as_deref() == Some(id))
    }

    /// Ends every connection of `user`, whatever it signed in with.
    pub fn end_user(&self, user: UserId) -> usize {
        self.end_where(|c| c.user == user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoking_ends_only_the_matching_connections() {
        let registry = Arc::new(LiveCallers::default());
        let bot = registry.enter(1, Some("t1".into()));
        let other_token = registry.enter(1, Some("t2".into()));
        let someone_else = registry.enter(2, None);
        assert_eq!(registry.end_token("t1"), 1);
        assert!(bot.ended().is_cancelled());
        assert!(!other_token.ended().is_cancelled());
        assert_eq!(registry.end_user(1), 2);
        assert!(other_token.ended().is_cancelled());
        assert!(!someone_else.ended().is_cancelled());
        drop(someone_else);
        assert_eq!(
            registry.end_user(2),
            0,
            "a closed connection leaves the registry"
        );
    }
}
