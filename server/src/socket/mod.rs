//! The protocol socket: TCP (API tokens) and the Unix admin socket (its peer is the console),
//! plus in-memory connections for in-process clients.

mod connection;
pub mod limits;
pub mod proxy_protocol;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::service::{Caller, Service};
use limits::{PendingHandshakes, RequestRate};

#[derive(Debug, Clone)]
pub struct SocketConfig {
    /// TCP connections at once (the admin socket and SSH sessions have budgets of their own).
    pub max_connections: usize,
    /// Admin socket connections at once.
    pub max_console_connections: usize,
    /// TCP connections allowed to sit in their handshake at once…
    pub max_pending: usize,
    /// …of which one source address may hold this many.
    pub max_pending_per_source: usize,
    /// TCP connections signed in without a token (they may only redeem an invite)…
    pub max_anonymous: usize,
    /// …of which one source address may hold this many.
    pub max_anonymous_per_source: usize,
    /// A connection without a token that sends nothing this long is closed.
    pub anonymous_idle_timeout: Duration,
    pub handshake_timeout: Duration,
    pub decode_limit: usize,
    pub requests_per_second: u32,
    pub request_burst: u32,
    /// Requests one connection may have in flight; more wait (pipelining with backpressure).
    pub max_in_flight: usize,
    /// Load balancers whose PROXY headers name the real client.
    pub trusted_proxies: proxy_protocol::TrustedProxies,
}

impl Default for SocketConfig {
    fn default() -> Self {
        SocketConfig {
            max_connections: 1024,
            max_console_connections: 64,
            max_pending: 256,
            max_pending_per_source: 32,
            max_anonymous: 64,
            max_anonymous_per_source: 8,
            anonymous_idle_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(10),
            decode_limit: tack_protocol::codec::DEFAULT_DECODE_LIMIT,
            requests_per_second: 200,
            request_burst: 400,
            max_in_flight: 128,
            trusted_proxies: proxy_protocol::TrustedProxies::default(),
        }
    }
}

/// Who is on the other end, as the transport knows it.
#[derive(Debug, Clone)]
pub enum Peer {
    Tcp(std::net::SocketAddr),
    /// The local admin socket: whoever can open it (mode 0600) is the console.
    Console,
    /// An in-process client whose identity was established outside the protocol (SSH key).
    Authenticated(Caller),
}

pub struct ProtocolServer {
    service: Arc<Service>,
    config: SocketConfig,
    /// Separate budgets, so a flood on the TCP socket never starves the console (SSH sessions'
    /// in-process connections are bounded by the SSH front's own limits).
    tcp_connections: Arc<Semaphore>,
    console_connections: Arc<Semaphore>,
    /// TCP connections still in their handshake, and those that finished it without a token:
    /// both may be evicted, oldest first, to make room for a newcomer.
    pending: PendingHandshakes,
    anonymous: PendingHandshakes,
    rate: RequestRate,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    next_id: AtomicU64,
}

impl ProtocolServer {
    pub fn new(service: Arc<Service>, config: SocketConfig) -> Arc<ProtocolServer> {
        Arc::new(ProtocolServer {
            tcp_connections: Arc::new(Semaphore::new(config.max_connections)),
            console_connections: Arc::new(Semaphore::new(config.max_console_connections.max(1))),
            pending: PendingHandshakes::new(config.max_pending)
                .with_per_source(config.max_pending_per_source),
            anonymous: PendingHandshakes::new(config.max_anonymous)
                .with_per_source(config.max_anonymous_per_source),
            rate: RequestRate::new(config.requests_per_second, config.request_burst),
            service,
            config,
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            next_id: AtomicU64::new(1),
        })
    }

    pub fn service(&self) -> &Arc<Service> {
        &self.service
    }

    /// Stops accepting, tells connected clients, and waits for requests in flight to finish.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }

    pub async fn serve_tcp(self: Arc<Self>, listener: TcpListener) {
        self.accept_loop(listener).await
    }

    pub async fn serve_unix(self: Arc<Self>, listener: UnixListener) {
        self.accept_loop(listener).await
    }

    /// Accepts until shutdown. An accept error (EMFILE and friends) never ends the loop: the
    /// connections we have keep being served and accepting resumes after a short pause.
    async fn accept_loop<L: Acceptor>(self: Arc<Self>, listener: L) {
        let mut backoff = Duration::from_millis(10);
        loop {
            let accepted = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                accepted = listener.accept_peer() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => {
                    backoff = Duration::from_millis(10);
                    self.clone().spawn_connection(stream, peer);
                }
                Err(err) => {
                    tracing::warn!(error = %err, socket = L::NAME, backoff_ms = backoff.as_millis() as u64, "accept failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// Serves one connection on any byte stream (a socket, or an in-memory pipe).
    pub fn spawn_connection<S>(self: Arc<Self>, mut stream: S, peer: Peer)
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let tasks = self.tasks.clone();
        tasks.spawn(async move {
            let peer = match peer {
                Peer::Tcp(addr) => {
                    let read = proxy_protocol::client_address(
                        &mut stream,
                        addr,
                        &self.config.trusted_proxies,
                    );
                    match tokio::time::timeout(self.config.handshake_timeout, read).await {
                        Ok(Ok(client)) => Peer::Tcp(client),
                        Ok(Err(err)) => {
                            tracing::info!(error = %err, "protocol connection refused");
                            return;
                        }
                        Err(_) => {
                            tracing::info!(peer = %addr, "a trusted proxy sent no PROXY header in time");
                            return;
                        }
                    }
                }
                other => other,
            };
            let permit = match &peer {
                Peer::Tcp(_) => self.tcp_permit().await,
                Peer::Console => self.console_connections.clone().try_acquire_owned().ok(),
                Peer::Authenticated(_) => None,
            };
            if permit.is_none() && !matches!(peer, Peer::Authenticated(_)) {
                return connection::refuse_full(&self, stream, &peer).await;
            }
            connection::run(&self, id, stream, peer).await;
            drop(permit);
        });
    }

    /// A TCP slot. When all are taken, the oldest connection without a token (or still in its
    /// handshake) makes room; only when every slot belongs to a signed-in client is the
    /// newcomer refused.
    async fn tcp_permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        if let Ok(permit) = self.tcp_connections.clone().try_acquire_owned() {
            return Some(permit);
        }
        if !self.anonymous.evict_oldest() && !self.pending.evict_oldest() {
            return None;
        }
        tokio::time::timeout(
            Duration::from_secs(2),
            self.tcp_connections.clone().acquire_owned(),
        )
        .await
        .ok()?
        .ok()
    }
}

/// A listening socket, and who its peers are.
trait Acceptor {
    const NAME: &'static str;
    type Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static;
    fn accept_peer(
        &self,
    ) -> impl std::future::Future<Output = std::io::Result<(Self::Stream, Peer)>> + Send;
}

impl Acceptor for TcpListener {
    const NAME: &'static str = "protocol";
    type Stream = tokio::net::TcpStream;
    async fn accept_peer(&self) -> std::io::Result<(Self::Stream, Peer)> {
        let (stream, addr) = self.accept().await?;
        let _ = stream.set_nodelay(true);
        Ok((stream, Peer::Tcp(addr)))
    }
}

impl Acceptor for UnixListener {
    const NAME: &'static str = "admin";
    type Stream = tokio::net::UnixStream;
    async fn accept_peer(&self) -> std::io::Result<(Self::Stream, Peer)> {
        let (stream, _) = self.accept().await?;
        Ok((stream, Peer::Console))
    }
}

/// Binds the admin socket with mode 0600, replacing a stale socket file from an earlier run.
pub fn bind_admin_socket(path: &Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    if path.exists() {
        // A socket nobody answers on is left over from a crash; one that answers is in use.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!(
                    "{} is in use: is another tack server running on this data directory?",
                    path.display()
                ),
            ));
        }
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}
