//! The SSH front: a stock `ssh` client gets the full-screen app (or runs one `tack ctl` command)
//! as the user its key belongs to. Public keys only; an unknown key may redeem an invite.

mod driver;
mod handler;
mod live_sessions;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use russh::MethodSet;
use tack_protocol::{ActivityKind, UserId};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::service::Service;
use crate::socket::ProtocolServer;
use crate::socket::limits::PendingHandshakes;
use crate::socket::proxy_protocol::{self, TrustedProxies};

#[derive(Debug, Clone)]
pub struct SshSettings {
    /// Connections that have not authenticated yet; when full, the oldest is dropped.
    pub max_unauthenticated: usize,
    /// …of which one source address may hold this many.
    pub max_unauthenticated_per_source: usize,
    /// Time to authenticate (sshd's LoginGraceTime).
    pub login_grace: Duration,
    pub max_auth_attempts: usize,
    /// Across every node sharing the store.
    pub max_sessions_per_user: usize,
    pub idle_timeout: Duration,
    /// How long the store counts a session of this node that the node stops renewing.
    pub session_lease: Duration,
    /// Admins without two-factor may only enrol it.
    pub require_totp_for_admins: bool,
    /// Load balancers whose PROXY headers name the real client.
    pub trusted_proxies: TrustedProxies,
}

impl Default for SshSettings {
    fn default() -> Self {
        SshSettings {
            max_unauthenticated: 100,
            max_unauthenticated_per_source: 20,
            login_grace: Duration::from_secs(30),
            max_auth_attempts: 6,
            max_sessions_per_user: 10,
            idle_timeout: Duration::from_secs(30 * 60),
            session_lease: Duration::from_secs(30),
            require_totp_for_admins: false,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// Failures per source address; they decay after a quiet quarter of an hour.
#[derive(Default)]
struct Penalties {
    by_source: Mutex<HashMap<std::net::IpAddr, (u32, std::time::Instant)>>,
}

const PENALTY_MEMORY: Duration = Duration::from_secs(15 * 60);
const MAX_PENALTY: Duration = Duration::from_secs(8);

impl Penalties {
    /// Counts a failure from `source`; returns how long to make it wait.
    fn penalize(&self, source: std::net::IpAddr) -> Duration {
        let mut by_source = self
            .by_source
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = std::time::Instant::now();
        by_source.retain(|_, (_, last)| now.duration_since(*last) < PENALTY_MEMORY);
        let entry = by_source.entry(source).or_insert((0, now));
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
        let doublings = entry.0.saturating_sub(1).min(5);
        (Duration::from_millis(250) * 2u32.pow(doublings)).min(MAX_PENALTY)
    }
}

pub struct SshServer {
    service: Arc<Service>,
    protocol: Arc<ProtocolServer>,
    config: Arc<russh::server::Config>,
    settings: SshSettings,
    pending: PendingHandshakes,
    sessions: live_sessions::Sessions,
    penalties: Penalties,
    next_id: AtomicU64,
    shutdown: CancellationToken,
}

impl SshServer {
    pub fn new(
        protocol: Arc<ProtocolServer>,
        host_key_path: &Path,
        settings: SshSettings,
    ) -> Result<Arc<SshServer>, tack_keys::HostKeyError> {
        let host_key = tack_keys::load_or_generate_host_key(host_key_path)?;
        let config = russh::server::Config {
            methods: MethodSet::from(
                &[
                    russh::MethodKind::PublicKey,
                    russh::MethodKind::KeyboardInteractive,
                ][..],
            ),
            keys: vec![host_key],
            nodelay: true,
            // OpenSSH opens with a `none` probe: answering it at once saves a second per login.
            auth_rejection_time: Duration::from_secs(2),
            auth_rejection_time_initial: Some(Duration::ZERO),
            max_auth_attempts: settings.max_auth_attempts,
            inactivity_timeout: Some(settings.idle_timeout),
            keepalive_interval: Some(Duration::from_secs(30)),
            keepalive_max: 3,
            ..Default::default()
        };
        Ok(Arc::new(SshServer {
            service: protocol.service().clone(),
            protocol,
            config: Arc::new(config),
            pending: PendingHandshakes::new(settings.max_unauthenticated)
                .with_per_source(settings.max_unauthenticated_per_source),
            settings,
            sessions: live_sessions::Sessions::default(),
            penalties: Penalties::default(),
            next_id: AtomicU64::new(1),
            shutdown: CancellationToken::new(),
        }))
    }

    pub(crate) fn penalize(&self, source: std::net::IpAddr) -> Duration {
        self.penalties.penalize(source)
    }

    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Accepts until shutdown; an accept error never ends the loop.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        tokio::spawn(self.clone().watch_revocations());
        let renewing = self.clone();
        tokio::spawn(async move {
            let store = renewing.service.store();
            let lease = renewing.settings.session_lease;
            renewing
                .sessions
                .renew(store.as_ref(), lease, &renewing.shutdown)
                .await;
        });
        let mut backoff = Duration::from_millis(10);
        loop {
            let accepted = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, addr)) => {
                    backoff = Duration::from_millis(10);
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(self.clone().connection(stream, addr));
                }
                Err(err) => {
                    tracing::warn!(error = %err, backoff_ms = backoff.as_millis() as u64, "ssh accept failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    async fn connection(self: Arc<Self>, mut stream: tokio::net::TcpStream, peer: SocketAddr) {
        use crate::runtime::sessions::Counted;
        let read =
            proxy_protocol::client_address(&mut stream, peer, &self.settings.trusted_proxies);
        let peer = match tokio::time::timeout(self.settings.login_grace, read).await {
            Ok(Ok(client)) => client,
            Ok(Err(err)) => {
                tracing::info!(error = %err, "ssh connection refused");
                return;
            }
            Err(_) => {
                tracing::info!(%peer, "a trusted proxy sent no PROXY header in time");
                return;
            }
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let evicted = self.pending.enter_from(id, Some(peer.ip()));
        let authenticated = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Login grace: a connection that has not authenticated in time is dropped.
        let grace = {
            let (evicted, authenticated, limit) = (
                evicted.clone(),
                authenticated.clone(),
                self.settings.login_grace,
            );
            tokio::spawn(async move {
                tokio::time::sleep(limit).await;
                if !authenticated.load(Ordering::Acquire) {
                    evicted.cancel();
                }
            })
        };
        let listed = self.service.runtime().sessions.open(
            tack_protocol::SessionKind::Ssh,
            peer.to_string(),
            "(signing in)",
        );
        let stream = Counted::new(stream, Some(listed.entry.clone()));
        let handler =
            handler::Connection::new(self.clone(), id, peer, authenticated, listed.entry.clone());
        let stop = evicted.clone();
        let outcome = tokio::select! {
            _ = stop.cancelled() => Ok(()),
            _ = listed.entry.kicked().cancelled() => Ok(()),
            _ = self.shutdown.cancelled() => Ok(()),
            result = async {
                let session = russh::server::run_stream(self.config.clone(), stream, handler).await?;
                session.await
            } => result,
        };
        grace.abort();
        self.pending.leave(id);
        self.sessions
            .remove(self.service.store().as_ref(), id)
            .await;
        if let Err(err) = outcome {
            tracing::debug!(connection = id, %peer, error = %err, "ssh connection ended with an error");
        }
    }

    /// Removing a key ends its live sessions; disabling an account ends all of that user's.
    async fn watch_revocations(self: Arc<Self>) {
        let mut events = self.service.subscribe_bus();
        loop {
            match events.recv().await {
                Ok(event) => match event.activity.kind {
                    ActivityKind::KeyRemoved => {
                        let fingerprint = event.activity.subject.clone();
                        self.sessions.end_where(|s| s.fingerprint == fingerprint);
                    }
                    ActivityKind::UserDeleted => {
                        let users: Vec<UserId> = self.sessions.users();
                        for user in users {
                            if matches!(self.service.user_by_id(user).await, Ok(None)) {
                                self.sessions.end_where(|s| s.user == user);
                            }
                        }
                    }
                    ActivityKind::UserUpdated => {
                        let handle = event.activity.subject.trim_start_matches('@').to_string();
                        let disabled = event
                            .activity
                            .changes
                            .iter()
                            .any(|c| c.field == "disabled" && c.after == "true");
                        if disabled && let Ok(user) = self.service.user_by_handle(&handle).await {
                            self.sessions.end_where(|s| s.user == user.id);
                        }
                    }
                    _ => {}
                },
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_failures_from_one_source_wait_longer() {
        let penalties = Penalties::default();
        let here: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        let there: std::net::IpAddr = "127.0.0.2".parse().unwrap();
        let waits: Vec<Duration> = (0..8).map(|_| penalties.penalize(here)).collect();
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        assert_eq!(waits.last(), Some(&MAX_PENALTY));
        assert_eq!(
            penalties.penalize(there),
            Duration::from_millis(250),
            "other sources are not slowed"
        );
    }
}
