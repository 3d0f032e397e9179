//! The operator's HTTP endpoint: `/metrics` (Prometheus text), `/healthz` (the process
//! answers) and `/readyz` (the store is open and the job workers run).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tack_protocol::SessionKind;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::service::Service;

pub async fn serve(service: Arc<Service>, listener: TcpListener, shutdown: CancellationToken) {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(service);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
    if let Err(err) = served {
        tracing::error!(error = %err, "the metrics endpoint stopped");
    }
}

async fn metrics(State(service): State<Arc<Service>>) -> impl IntoResponse {
    refresh_gauges(&service).await;
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        service.runtime().metrics.encode(),
    )
}

async fn ready(State(service): State<Arc<Service>>) -> impl IntoResponse {
    let runtime = service.runtime();
    match service.store().health() {
        tack_data::StoreHealth::Ok => {}
        tack_data::StoreHealth::ReadOnly(reason) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: store read-only: {reason}\n"),
            );
        }
        tack_data::StoreHealth::Failed(reason) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: store failed: {reason}\n"),
            );
        }
        tack_data::StoreHealth::Unreachable(reason) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: store unreachable: {reason}\n"),
            );
        }
    }
    match (runtime.store_open(), runtime.jobs.workers_running()) {
        (true, true) => (StatusCode::OK, "ready\n".to_string()),
        (store, workers) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: store {}, job workers {}\n",
                if store { "open" } else { "closed" },
                if workers { "running" } else { "stopped" }
            ),
        ),
    }
}

/// Gauges are read when scraped, not kept up to date on every change.
pub async fn refresh_gauges(service: &Service) {
    let runtime = service.runtime();
    let m = &runtime.metrics;
    m.ssh_sessions
        .set(runtime.sessions.count(SessionKind::Ssh) as i64);
    m.connections.set(
        (runtime.sessions.count(SessionKind::Protocol)
            + runtime.sessions.count(SessionKind::Console)) as i64,
    );
    m.uptime_seconds
        .set(runtime.started.elapsed().as_secs() as i64);
    let counts = service.job_counts().await;
    for (state, count) in [
        ("queued", counts.0),
        ("running", counts.1),
        ("failed", counts.2),
    ] {
        m.jobs
            .get_or_create(&crate::runtime::metrics::StateLabel {
                state: state.into(),
            })
            .set(i64::from(count));
    }
    if let Ok(size) = service.store().size_on_disk().await {
        m.store_bytes.set(size as i64);
    }
    m.breakers.clear();
    for (hook, state) in runtime.jobs.breakers() {
        m.breakers
            .get_or_create(&crate::runtime::metrics::BreakerLabel {
                webhook: hook.to_string(),
                state: match state {
                    tack_protocol::BreakerState::Closed => "closed",
                    tack_protocol::BreakerState::Open { .. } => "open",
                    tack_protocol::BreakerState::HalfOpen => "half_open",
                }
                .into(),
            })
            .set(1);
    }
}
