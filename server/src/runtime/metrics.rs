//! What `/metrics` exposes and the console's Health view draws: requests by kind and outcome,
//! their latency, rate-limit refusals, and gauges read at scrape time.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Samples kept for the Health sparklines: 5 minutes at one per 5 s.
const HISTORY: usize = 60;
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub kind: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BreakerLabel {
    pub webhook: String,
    pub state: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<KindLabel, Histogram>,
    rate_limited: Counter,
    pub ssh_sessions: Gauge,
    pub connections: Gauge,
    pub store_bytes: Gauge,
    pub jobs: Family<StateLabel, Gauge>,
    pub breakers: Family<BreakerLabel, Gauge>,
    pub uptime_seconds: Gauge,
    requests_total: AtomicU64,
    errors_total: AtomicU64,
    history: Mutex<History>,
}

#[derive(Default)]
struct History {
    last_requests: u64,
    last_errors: u64,
    requests: VecDeque<u32>,
    errors: VecDeque<u32>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tack");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests handled, by kind and outcome",
            requests.clone(),
        );
        let latency = Family::<KindLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0001, 2.0, 16))
        });
        registry.register(
            "request_duration_seconds",
            "Time to handle a request, by kind",
            latency.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "rate_limited",
            "Requests refused by the rate limit",
            rate_limited.clone(),
        );
        let ssh_sessions = Gauge::default();
        registry.register("ssh_sessions", "Live SSH sessions", ssh_sessions.clone());
        let connections = Gauge::default();
        registry.register(
            "protocol_connections",
            "Live protocol connections (TCP and admin socket)",
            connections.clone(),
        );
        let store_bytes = Gauge::default();
        registry.register(
            "store_bytes",
            "Size of the store on disk",
            store_bytes.clone(),
        );
        let jobs = Family::<StateLabel, Gauge>::default();
        registry.register("jobs", "Background jobs by state", jobs.clone());
        let breakers = Family::<BreakerLabel, Gauge>::default();
        registry.register(
            "webhook_breaker",
            "Webhook circuit breakers: 1 for the state each is in",
            breakers.clone(),
        );
        let uptime_seconds = Gauge::default();
        registry.register(
            "uptime_seconds",
            "Seconds since start",
            uptime_seconds.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            rate_limited,
            ssh_sessions,
            connections,
            store_bytes,
            jobs,
            breakers,
            uptime_seconds,
            requests_total: AtomicU64::new(0),
            errors_total: AtomicU64::new(0),
            history: Mutex::new(History::default()),
        }
    }
}

impl Metrics {
    pub fn record_request(&self, kind: &'static str, outcome: &'static str, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                kind: kind.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&KindLabel {
                kind: kind.to_string(),
            })
            .observe(took.as_secs_f64());
        self.requests_total.fetch_add(1, Ordering::Relaxed);
        if outcome != "ok" {
            self.errors_total.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn record_rate_limited(&self) {
        self.rate_limited.inc();
    }

    pub fn requests_total(&self) -> u64 {
        self.requests_total.load(Ordering::Relaxed)
    }

    pub fn errors_total(&self) -> u64 {
        self.errors_total.load(Ordering::Relaxed)
    }

    pub fn rate_limited_total(&self) -> u64 {
        self.rate_limited.get()
    }

    /// Takes one history sample (called every `SAMPLE_EVERY`).
    pub fn sample(&self) {
        let (requests, errors) = (self.requests_total(), self.errors_total());
        let mut history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        let secs = SAMPLE_EVERY.as_secs().max(1);
        let per_sec = |now: u64, last: u64| (now.saturating_sub(last) / secs) as u32;
        let (r, e) = (
            per_sec(requests, history.last_requests),
            per_sec(errors, history.last_errors),
        );
        history.requests.push_back(r);
        history.errors.push_back(e);
        let History {
            requests: r_series,
            errors: e_series,
            ..
        } = &mut *history;
        for series in [r_series, e_series] {
            while series.len() > HISTORY {
                series.pop_front();
            }
        }
        history.last_requests = requests;
        history.last_errors = errors;
    }

    /// Requests and errors per second, oldest first.
    pub fn history(&self) -> (Vec<u32>, Vec<u32>) {
        let history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        (
            history.requests.iter().copied().collect(),
            history.errors.iter().copied().collect(),
        )
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(err) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %err, "metrics encoding failed");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_show_up_in_the_exposition_and_the_history() {
        let metrics = Metrics::default();
        metrics.record_request("get_issue", "ok", Duration::from_millis(2));
        metrics.record_request("get_issue", "not_found", Duration::from_millis(1));
        metrics.record_rate_limited();
        metrics.sample();
        let text = metrics.encode();
        assert!(
            text.contains(r#"tack_requests_total{kind="get_issue",outcome="ok"} 1"#),
            "{text}"
        );
        assert!(text.contains("tack_rate_limited_total 1"), "{text}");
        assert!(
            text.contains("tack_request_duration_seconds_bucket"),
            "{text}"
        );
        assert_eq!(metrics.errors_total(), 1);
        assert_eq!(metrics.history().0.len(), 1);
    }
}
