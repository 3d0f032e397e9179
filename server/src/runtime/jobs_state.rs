//! What the workers know that the store does not: which jobs run right now, and each webhook
//! endpoint's circuit breaker.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use tack_protocol::{BreakerState, Timestamp};
use tokio::sync::Notify;

#[derive(Debug, Clone, Copy)]
pub struct BreakerPolicy {
    pub threshold: u32,
    pub open_ms: i64,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            threshold: 5,
            open_ms: 60_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Breaker {
    state: BreakerState,
    failures: u32,
}

#[derive(Default)]
pub struct JobsState {
    running: Mutex<HashSet<u64>>,
    breakers: Mutex<HashMap<u64, Breaker>>,
    pub(crate) wake: Notify,
    workers: AtomicBool,
    pub(crate) policy: Mutex<BreakerPolicy>,
}

impl JobsState {
    /// Wakes the workers: a job was queued.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    pub fn running(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .copied()
            .collect();
        ids.sort_unstable();
        ids
    }

    pub fn is_running(&self, id: u64) -> bool {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&id)
    }

    /// Claims a job for a worker; false if one already has it.
    pub(crate) fn claim(&self, id: u64) -> bool {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id)
    }

    pub(crate) fn release(&self, id: u64) {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }

    pub fn workers_running(&self) -> bool {
        self.workers.load(Ordering::Acquire)
    }

    pub(crate) fn set_workers_running(&self, running: bool) {
        self.workers.store(running, Ordering::Release);
    }

    fn policy(&self) -> BreakerPolicy {
        *self.policy.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a delivery to `hook` may go now; if not, when to try again.
    pub fn admit(&self, hook: u64, now: Timestamp) -> Result<(), Timestamp> {
        let policy = self.policy();
        let mut breakers = self.breakers.lock().unwrap_or_else(PoisonError::into_inner);
        let breaker = breakers.entry(hook).or_insert(Breaker {
            state: BreakerState::Closed,
            failures: 0,
        });
        match breaker.state {
            BreakerState::Closed => Ok(()),
            BreakerState::Open { until } if now >= until => {
                breaker.state = BreakerState::HalfOpen;
                Ok(())
            }
            BreakerState::Open { until } => Err(until),
            // One probe at a time: the others wait for its outcome.
            BreakerState::HalfOpen => Err(now + policy.open_ms.min(1_000)),
        }
    }

    pub fn record(&self, hook: u64, ok: bool, now: Timestamp) {
        let policy = self.policy();
        let mut breakers = self.breakers.lock().unwrap_or_else(PoisonError::into_inner);
        let breaker = breakers.entry(hook).or_insert(Breaker {
            state: BreakerState::Closed,
            failures: 0,
        });
        if ok {
            breaker.state = BreakerState::Closed;
            breaker.failures = 0;
            return;
        }
        breaker.failures += 1;
        if breaker.state == BreakerState::HalfOpen || breaker.failures >= policy.threshold {
            breaker.state = BreakerState::Open {
                until: now + policy.open_ms,
            };
        }
    }

    pub fn breaker(&self, hook: u64) -> (BreakerState, u32) {
        self.breakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&hook)
            .map_or((BreakerState::Closed, 0), |b| (b.state, b.failures))
    }

    pub fn breakers(&self) -> Vec<(u64, BreakerState)> {
        self.breakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(hook, b)| (*hook, b.state))
            .collect()
    }

    pub fn forget_breaker(&self, hook: u64) {
        self.breakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&hook);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_breaker_opens_after_the_threshold_probes_once_and_closes_on_success() {
        let state = JobsState::default();
        *state.policy.lock().unwrap() = BreakerPolicy {
            threshold: 3,
            open_ms: 1_000,
        };
        for _ in 0..2 {
            assert!(state.admit(7, 0).is_ok());
            state.record(7, false, 0);
        }
        assert_eq!(state.breaker(7).0, BreakerState::Closed);
        state.record(7, false, 0);
        assert_eq!(state.breaker(7).0, BreakerState::Open { until: 1_000 });
        assert_eq!(state.admit(7, 500), Err(1_000));
        assert!(state.admit(7, 1_000).is_ok(), "the probe goes through");
        assert!(state.admit(7, 1_001).is_err(), "only one probe at a time");
        state.record(7, false, 1_001);
        assert_eq!(state.breaker(7).0, BreakerState::Open { until: 2_001 });
        assert!(state.admit(7, 2_001).is_ok());
        state.record(7, true, 2_002);
        assert_eq!(state.breaker(7), (BreakerState::Closed, 0));
        assert!(
            state.admit(8, 0).is_ok(),
            "other endpoints are not affected"
        );
    }
}
