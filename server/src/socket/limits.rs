//! Connection limits: a cap on connections, eviction of the oldest connection that has not
//! finished its handshake when too many are waiting, and a request rate per identity.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

/// Connections that have not finished their handshake, oldest first. When a newcomer finds the
/// slots full, the oldest one that made no progress is dropped rather than the newcomer: a
/// flood of silent sockets cannot lock everyone else out.
pub struct PendingHandshakes {
    capacity: usize,
    /// How many one source address may have waiting; its own oldest goes first past that.
    per_source: usize,
    waiting: Mutex<VecDeque<Waiting>>,
}

struct Waiting {
    id: u64,
    source: Option<std::net::IpAddr>,
    evict: CancellationToken,
}

impl PendingHandshakes {
    pub fn new(capacity: usize) -> Self {
        PendingHandshakes {
            capacity: capacity.max(1),
            per_source: capacity.max(1),
            waiting: Mutex::new(VecDeque::new()),
        }
    }

    /// Also caps how many connections one source address may have waiting.
    pub fn with_per_source(mut self, per_source: usize) -> Self {
        self.per_source = per_source.max(1);
        self
    }

    /// Registers a connection; returns the token that is cancelled if it gets evicted.
    pub fn enter(&self, id: u64) -> CancellationToken {
        self.enter_from(id, None)
    }

    /// Registers a connection from `source`. When the slots are full, or the source has its
    /// share, the oldest waiting connection (of that source, for the latter) is dropped.
    pub fn enter_from(&self, id: u64, source: Option<std::net::IpAddr>) -> CancellationToken {
        let evict = CancellationToken::new();
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if source.is_some() {
            let from_source = waiting.iter().filter(|w| w.source == source).count();
            if from_source >= self.per_source
                && let Some(at) = waiting.iter().position(|w| w.source == source)
                && let Some(oldest) = waiting.remove(at)
            {
                tracing::debug!(
                    connection = oldest.id,
                    "evicting the oldest waiting connection from the same source"
                );
                oldest.evict.cancel();
            }
        }
        while waiting.len() >= self.capacity {
            if let Some(oldest) = waiting.pop_front() {
                tracing::debug!(
                    connection = oldest.id,
                    "evicting the oldest connection still in its handshake"
                );
                oldest.evict.cancel();
            }
        }
        waiting.push_back(Waiting {
            id,
            source,
            evict: evict.clone(),
        });
        evict
    }

    /// Drops the oldest waiting connection to make room elsewhere; false when none waits.
    pub fn evict_oldest(&self) -> bool {
        let oldest = self
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        match oldest {
            Some(oldest) => {
                tracing::debug!(
                    connection = oldest.id,
                    "evicting the oldest idle connection to make room"
                );
                oldest.evict.cancel();
                true
            }
            None => false,
        }
    }

    pub fn leave(&self, id: u64) {
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|w| w.id != id);
    }

    pub fn len(&self) -> usize {
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub struct RequestRate {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl RequestRate {
    pub fn new(per_second: u32, burst: u32) -> Self {
        let per_second = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        RequestRate {
            limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            clock: DefaultClock::default(),
        }
    }

    /// `Ok` if the request may go ahead, or how many milliseconds to wait.
    pub fn check(&self, key: &String) -> Result<(), u64> {
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            (wait.as_millis() as u64).max(1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_slots_evict_the_oldest_waiter() {
        let pending = PendingHandshakes::new(2);
        let first = pending.enter(1);
        let second = pending.enter(2);
        let third = pending.enter(3);
        assert!(first.is_cancelled());
        assert!(!second.is_cancelled() && !third.is_cancelled());
        pending.leave(2);
        assert_eq!(pending.len(), 1);
    }

    #[test]
    fn one_source_cannot_take_every_slot() {
        let pending = PendingHandshakes::new(10).with_per_source(2);
        let (a, b): (std::net::IpAddr, std::net::IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let other = pending.enter_from(1, Some(b));
        let first = pending.enter_from(2, Some(a));
        let second = pending.enter_from(3, Some(a));
        let third = pending.enter_from(4, Some(a));
        assert!(first.is_cancelled(), "the source's own oldest goes");
        assert!(!second.is_cancelled() && !third.is_cancelled() && !other.is_cancelled());
    }

    #[test]
    fn rate_limit_says_how_long_to_wait() {
        let rate = RequestRate::new(1, 2);
        let key = "user:1".to_string();
        assert!(rate.check(&key).is_ok());
        assert!(rate.check(&key).is_ok());
        let wait = rate.check(&key).unwrap_err();
        assert!((1..=1000).contains(&wait), "{wait}");
        assert!(
            rate.check(&"user:2".to_string()).is_ok(),
            "limits are per identity"
        );
    }
}
