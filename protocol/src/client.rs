//! The async client every tier uses: the TUI over the in-memory transport, `tack ctl` and bots
//! over TCP or the admin socket.
//!
//! Requests are pipelined: each gets an id, many may be in flight, and responses are matched to
//! their callers by id while pushed events arrive in between.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{FramedRead, FramedWrite};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::api::{Event, Request, RequestFrame, ResponseBody, ServerFrame};
use crate::codec::{DEFAULT_DECODE_LIMIT, FrameCodec, FrameError};
use crate::error::ApiError;
use crate::handshake::{ClientHello, Credentials, MAGIC, ServerHello, Welcome};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("cannot connect to {target}: {source}")]
    Connect {
        target: String,
        source: std::io::Error,
    },
    #[error("the server refused the handshake: {0}")]
    Refused(ApiError),
    #[error("the server closed the connection: {0}")]
    ClosedBy(ApiError),
    #[error("the connection to the server was lost")]
    Closed,
    #[error("protocol error: {0}")]
    Frame(#[from] FrameError),
    #[error("unexpected answer from the server: {0}")]
    Unexpected(String),
}

type Pending = oneshot::Sender<Result<ResponseBody, ApiError>>;

/// Events held for a consumer that has not read them yet.
const EVENT_BUFFER: usize = 1024;

#[derive(Default)]
struct PendingTable {
    closed: Option<Option<ApiError>>,
    waiting: HashMap<u64, Pending>,
}

struct Shared {
    next_id: AtomicU64,
    events_taken: std::sync::atomic::AtomicBool,
    last_event_seq: AtomicU64,
    pending: Mutex<PendingTable>,
}

pub struct Client {
    shared: Arc<Shared>,
    outbox: mpsc::Sender<RequestFrame>,
    events: Mutex<Option<mpsc::Receiver<Event>>>,
    welcome: Welcome,
    _stop: DropGuard,
}

impl Client {
    /// Performs the handshake on `stream` and starts the reader and writer tasks.
    pub async fn connect<S>(
        stream: S,
        hello: ClientHello,
        limit: usize,
    ) -> Result<Client, ClientError>
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read_half, write_half) = tokio::io::split(stream);
        let mut writer = FramedWrite::new(
            write_half,
            FrameCodec::<ServerHello, ClientHello>::new(limit),
        );
        let mut reader = FramedRead::new(
            read_half,
            FrameCodec::<ServerHello, ClientHello>::new(limit),
        );
        writer.send(hello).await?;
        let server_hello = match reader.next().await {
            Some(frame) => frame?,
            None => return Err(ClientError::Closed),
        };
        if server_hello.magic != MAGIC {
            return Err(ClientError::Unexpected(
                "the peer is not a tack server".into(),
            ));
        }
        let welcome = server_hello.result.map_err(ClientError::Refused)?;

        let reader = reader.map_decoder(|_| FrameCodec::<ServerFrame, RequestFrame>::new(limit));
        let writer = writer.map_encoder(|_| FrameCodec::<ServerFrame, RequestFrame>::new(limit));
        let shared = Arc::new(Shared {
            next_id: AtomicU64::new(1),
            events_taken: std::sync::atomic::AtomicBool::new(false),
            last_event_seq: AtomicU64::new(0),
            pending: Mutex::new(PendingTable::default()),
        });
        let (outbox, outbox_rx) = mpsc::channel(1024);
        let (events_tx, events_rx) = mpsc::channel(EVENT_BUFFER);
        let stop = CancellationToken::new();
        tokio::spawn(write_loop(writer, outbox_rx, stop.clone()));
        tokio::spawn(read_loop(reader, shared.clone(), events_tx, stop.clone()));
        Ok(Client {
            shared,
            outbox,
            events: Mutex::new(Some(events_rx)),
            welcome,
            _stop: stop.drop_guard(),
        })
    }

    pub async fn connect_tcp(addr: &str, credentials: Credentials) -> Result<Client, ClientError> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|source| ClientError::Connect {
                target: addr.to_string(),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        Self::connect(
            stream,
            ClientHello::new(client_name(), credentials),
            DEFAULT_DECODE_LIMIT,
        )
        .await
    }

    pub async fn connect_unix(path: &Path) -> Result<Client, ClientError> {
        let stream = tokio::net::UnixStream::connect(path)
            .await
            .map_err(|source| ClientError::Connect {
                target: path.display().to_string(),
                source,
            })?;
        Self::connect(
            stream,
            ClientHello::new(client_name(), Credentials::None),
            DEFAULT_DECODE_LIMIT,
        )
        .await
    }

    pub fn welcome(&self) -> &Welcome {
        &self.welcome
    }

    /// The sequence number of the newest event received on this connection (0 before any).
    pub fn last_event_seq(&self) -> u64 {
        self.shared.last_event_seq.load(Ordering::Acquire)
    }

    /// The stream of pushed events; there is one, so the first caller gets it.
    pub fn take_events(&self) -> Option<mpsc::Receiver<Event>> {
        self.shared.events_taken.store(true, Ordering::Release);
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Sends one request and waits for its response; other requests may be in flight meanwhile.
    pub async fn request(&self, body: Request) -> Result<ResponseBody, ClientError> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut table = self
                .shared
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(reason) = &table.closed {
                return Err(closed_error(reason.clone()));
            }
            table.waiting.insert(id, tx);
        }
        if self.outbox.send(RequestFrame { id, body }).await.is_err() {
            self.shared
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .waiting
                .remove(&id);
            return Err(ClientError::Closed);
        }
        match rx.await {
            Ok(result) => result.map_err(ClientError::Api),
            Err(_) => {
                let table = self
                    .shared
                    .pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                Err(closed_error(table.closed.clone().flatten()))
            }
        }
    }
}

fn closed_error(reason: Option<ApiError>) -> ClientError {
    match reason {
        Some(err) => ClientError::ClosedBy(err),
        None => ClientError::Closed,
    }
}

fn client_name() -> String {
    format!("tack-client/{}", env!("CARGO_PKG_VERSION"))
}

async fn write_loop<W>(
    mut sink: FramedWrite<W, FrameCodec<ServerFrame, RequestFrame>>,
    mut outbox: mpsc::Receiver<RequestFrame>,
    stop: CancellationToken,
) where
    W: AsyncWrite + Unpin,
{
    loop {
        let frame = tokio::select! {
            _ = stop.cancelled() => return,
            frame = outbox.recv() => match frame { Some(f) => f, None => return },
        };
        if crate::codec::send_coalesced(&mut sink, frame, &mut outbox)
            .await
            .is_err()
        {
            return;
        }
    }
}

async fn read_loop<R>(
    mut stream: FramedRead<R, FrameCodec<ServerFrame, RequestFrame>>,
    shared: Arc<Shared>,
    events: mpsc::Sender<Event>,
    stop: CancellationToken,
) where
    R: AsyncRead + Unpin,
{
    let mut reason = None;
    loop {
        let frame = tokio::select! {
            _ = stop.cancelled() => break,
            frame = stream.next() => frame,
        };
        match frame {
            Some(Ok(ServerFrame::Response(response))) => {
                let waiter = shared
                    .pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .waiting
                    .remove(&response.id);
                if let Some(waiter) = waiter {
                    let _ = waiter.send(response.result);
                }
            }
            Some(Ok(ServerFrame::Event(event))) => {
                shared.last_event_seq.fetch_max(event.seq, Ordering::AcqRel);
                // Nobody took the stream: keep nothing. Otherwise wait for the reader, so a
                // consumer that falls behind slows the server's sending (which then catches up
                // from its log) instead of growing memory here.
                if shared.events_taken.load(Ordering::Acquire) {
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = events.send(event) => {}
                    }
                }
            }
            Some(Ok(ServerFrame::Closing(err))) => {
                reason = Some(err);
                break;
            }
            Some(Err(err)) => {
                tracing::debug!(error = %err, "protocol client read failed");
                break;
            }
            None => break,
        }
    }
    let mut table = shared
        .pending
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    table.closed = Some(reason.clone());
    for (_, waiter) in table.waiting.drain() {
        // Dropping the sender wakes the caller, which then reads `closed`.
        drop(waiter);
    }
}

type ConnectFuture = Pin<Box<dyn Future<Output = Result<Client, ClientError>> + Send>>;

/// A subscription that survives reconnects: after a lost connection it connects again and
/// resubscribes from the last event it delivered, so no event is missed or repeated.
pub struct EventFeed {
    connector: Box<dyn Fn() -> ConnectFuture + Send + Sync>,
    project: Option<String>,
    query: Option<String>,
    last_seq: Option<u64>,
    live: Option<(Client, mpsc::Receiver<Event>)>,
    max_retry_delay: Duration,
}

impl EventFeed {
    pub fn new<F, Fut>(connector: F, project: Option<String>, after_seq: Option<u64>) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Client, ClientError>> + Send + 'static,
    {
        EventFeed {
            connector: Box::new(move || Box::pin(connector())),
            project,
            query: None,
            last_seq: after_seq,
            live: None,
            max_retry_delay: Duration::from_secs(5),
        }
    }

    /// Only issue events whose issue matches `query` (tack's query language).
    pub fn with_query(mut self, query: Option<String>) -> Self {
        self.query = query;
        self
    }

    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// The next event. Connection failures are retried with backoff; a refusal (say, the
    /// project does not exist or the token was revoked) is returned.
    pub async fn next(&mut self) -> Result<Event, ClientError> {
        let mut delay = Duration::from_millis(50);
        loop {
            if self.live.is_none() {
                match self.resubscribe().await {
                    Ok(()) => delay = Duration::from_millis(50),
                    Err(ClientError::Api(err)) | Err(ClientError::Refused(err)) => {
                        return Err(ClientError::Api(err));
                    }
                    Err(err) => {
                        tracing::debug!(error = %err, "event feed reconnect failed");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(self.max_retry_delay);
                        continue;
                    }
                }
            }
            let Some((_, events)) = self.live.as_mut() else {
                continue;
            };
            match events.recv().await {
                Some(event) => {
                    if self.last_seq.is_some_and(|last| event.seq <= last) {
                        continue;
                    }
                    self.last_seq = Some(event.seq);
                    return Ok(event);
                }
                None => self.live = None,
            }
        }
    }

    async fn resubscribe(&mut self) -> Result<(), ClientError> {
        let client = (self.connector)().await?;
        let events = client
            .take_events()
            .ok_or_else(|| ClientError::Unexpected("event stream already taken".into()))?;
        let answer = client
            .request(Request::Subscribe {
                project: self.project.clone(),
                after_seq: self.last_seq,
                query: self.query.clone(),
            })
            .await?;
        match answer {
            ResponseBody::Subscribed { seq } => {
                if self.last_seq.is_none() {
                    self.last_seq = Some(seq);
                }
            }
            other => return Err(ClientError::Unexpected(format!("{other:?}"))),
        }
        self.live = Some((client, events));
        Ok(())
    }
}
