//! One protocol connection: the handshake, then requests served concurrently (pipelined),
//! responses and pushed events written by a single writer task.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::{FutureExt, SinkExt, StreamExt};
use tack_protocol::codec::{FrameCodec, FrameError};
use tack_protocol::handshake::{self, ClientHello, MAGIC, ServerHello, Welcome};
use tack_protocol::{
    ApiError, Credentials, Event, Request, RequestFrame, Response, ResponseBody, ServerFrame,
    SessionKind,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};
use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio_util::codec::{FramedRead, FramedWrite};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{Peer, ProtocolServer};
use crate::runtime::sessions::Counted;
use crate::service::{Caller, Service, Subscription};

type HelloReader<S> = FramedRead<ReadHalf<S>, FrameCodec<ClientHello, ServerHello>>;
type HelloWriter<S> = FramedWrite<WriteHalf<S>, FrameCodec<ClientHello, ServerHello>>;

/// Frames queued for one client; a client that stops reading stalls only its own connection.
const OUTBOX: usize = 256;

fn frame_error(err: &FrameError) -> ApiError {
    ApiError::invalid(
        "frame",
        format!("{err}; the connection is closed. Is this a tack protocol client?"),
    )
}

async fn say_no<S: AsyncWrite>(writer: &mut HelloWriter<S>, error: ApiError) {
    let hello = ServerHello {
        magic: MAGIC,
        result: Err(error),
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), writer.send(hello)).await;
}

pub(super) async fn refuse_full<S: AsyncRead + AsyncWrite + Send + 'static>(
    server: &ProtocolServer,
    stream: S,
    peer: &Peer,
) {
    let (_, write_half) = tokio::io::split(stream);
    let mut writer = FramedWrite::new(
        write_half,
        FrameCodec::<ClientHello, ServerHello>::new(server.config.decode_limit),
    );
    let limit = match peer {
        Peer::Console => server.config.max_console_connections,
        _ => server.config.max_connections,
    };
    say_no(
        &mut writer,
        ApiError::unavailable(format!(
            "the server is at its limit of {limit} connections; try again shortly"
        )),
    )
    .await;
}

pub(super) async fn run<S: AsyncRead + AsyncWrite + Send + Unpin + 'static>(
    server: &Arc<ProtocolServer>,
    id: u64,
    stream: S,
    peer: Peer,
) {
    // In-process connections belong to an SSH session, which is listed on its own.
    let sessions = &server.service.runtime().sessions;
    let session = match &peer {
        Peer::Tcp(addr) => {
            Some(sessions.open(SessionKind::Protocol, addr.to_string(), "(handshake)"))
        }
        Peer::Console => {
            Some(sessions.open(SessionKind::Console, "admin socket".into(), "console"))
        }
        Peer::Authenticated(_) => None,
    };
    let stream = Counted::new(stream, session.as_ref().map(|s| s.entry.clone()));
    let (read_half, write_half) = tokio::io::split(stream);
    let limit = server.config.decode_limit;
    let mut reader: HelloReader<Counted<S>> = FramedRead::new(read_half, FrameCodec::new(limit));
    let mut writer: HelloWriter<Counted<S>> = FramedWrite::new(write_half, FrameCodec::new(limit));

    // Only TCP peers can be strangers: the console and SSH sessions are never evicted.
    let source = match &peer {
        Peer::Tcp(addr) => Some(addr.ip()),
        Peer::Console | Peer::Authenticated(_) => None,
    };
    let evicted = match source {
        Some(ip) => server.pending.enter_from(id, Some(ip)),
        None => CancellationToken::new(),
    };
    let outcome = tokio::select! {
        _ = evicted.cancelled() => Err(ApiError::unavailable("too many connections are waiting to sign in; this one waited longest and was dropped")),
        _ = server.shutdown.cancelled() => Err(ApiError::unavailable("the server is shutting down")),
        result = tokio::time::timeout(server.config.handshake_timeout, handshake(server, &mut reader, &peer)) => match result {
            Ok(result) => result,
            Err(_) => Err(ApiError::unauthenticated(format!(
                "no handshake within {} s; the connection is closed",
                server.config.handshake_timeout.as_secs()
            ))),
        },
    };
    server.pending.leave(id);
    let (caller, welcome) = match outcome {
        Ok(accepted) => accepted,
        Err(error) => {
            tracing::debug!(connection = id, ?peer, error = %error, "handshake refused");
            say_no(&mut writer, error).await;
            return;
        }
    };
    if writer
        .send(ServerHello {
            magic: MAGIC,
            result: Ok(welcome),
        })
        .await
        .is_err()
    {
        return;
    }
    tracing::debug!(connection = id, ?peer, caller = %caller.rate_key(), "connection ready");
    if let (Some(session), Caller::User { user, .. }) = (&session, &caller) {
        session.entry.set_who(format!("@{}", user.handle));
    } else if let (Some(session), Caller::Anonymous) = (&session, &caller) {
        session.entry.set_who("(anonymous)");
    }
    let reader = reader.map_decoder(|_| FrameCodec::<RequestFrame, ServerFrame>::new(limit));
    let writer = writer.map_encoder(|_| FrameCodec::<RequestFrame, ServerFrame>::new(limit));
    let kicked = session
        .as_ref()
        .map_or_else(CancellationToken::new, |s| s.entry.kicked().clone());
    let live = match &caller {
        Caller::User { user, token } => Some(
            server
                .service
                .runtime()
                .callers
                .enter(user.id, token.clone()),
        ),
        Caller::Enrolling { user } => Some(server.service.runtime().callers.enter(user.id, None)),
        Caller::Console | Caller::Anonymous => None,
    };
    let revoked = live
        .as_ref()
        .map_or_else(CancellationToken::new, |l| l.ended().clone());
    // A stranger (no token) waits among the evictable, and is closed when it idles.
    let stranger = matches!(caller, Caller::Anonymous) && source.is_some();
    let evicted = if stranger {
        server.anonymous.enter_from(id, source)
    } else {
        CancellationToken::new()
    };
    let ends = Ends {
        kicked,
        revoked,
        evicted,
        idle: stranger.then_some(server.config.anonymous_idle_timeout),
    };
    serve(server, caller, reader, writer, ends).await;
    server.anonymous.leave(id);
}

async fn handshake<S: AsyncRead>(
    server: &ProtocolServer,
    reader: &mut HelloReader<S>,
    peer: &Peer,
) -> Result<(Caller, Welcome), ApiError> {
    let hello = match reader.next().await {
        Some(Ok(hello)) => hello,
        Some(Err(err)) => return Err(frame_error(&err)),
        None => return Err(ApiError::unavailable("closed before the handshake")),
    };
    let version = handshake::negotiate(&hello)?;
    let service = &server.service;
    let caller = match (peer, hello.credentials) {
        (Peer::Console, _) => Caller::Console,
        (Peer::Authenticated(caller), _) => caller.clone(),
        (Peer::Tcp(_), Credentials::Token(token)) => service.authenticate_token(&token).await?,
        (Peer::Tcp(_), Credentials::None) => Caller::Anonymous,
    };
    let welcome = Welcome {
        version,
        server: format!("tack/{}", env!("CARGO_PKG_VERSION")),
        identity: caller.identity(),
        event_seq: service.last_seq().await?,
    };
    Ok((caller, welcome))
}

/// What ends a connection from outside: an admin's kick, or a revocation of its credentials.
struct Ends {
    kicked: CancellationToken,
    revoked: CancellationToken,
    /// Dropped to make room for a newcomer (connections without a token only).
    evicted: CancellationToken,
    /// How long the connection may send nothing (connections without a token only).
    idle: Option<Duration>,
}

async fn serve<S: AsyncRead + AsyncWrite + Send + 'static>(
    server: &Arc<ProtocolServer>,
    caller: Caller,
    mut reader: FramedRead<ReadHalf<S>, FrameCodec<RequestFrame, ServerFrame>>,
    writer: FramedWrite<WriteHalf<S>, FrameCodec<RequestFrame, ServerFrame>>,
    ends: Ends,
) {
    let Ends {
        kicked,
        revoked,
        evicted,
        idle,
    } = ends;
    let (outbox, outbox_rx) = mpsc::channel::<ServerFrame>(OUTBOX);
    let writer_task = tokio::spawn(write_loop(writer, outbox_rx));
    let in_flight = Arc::new(Semaphore::new(server.config.max_in_flight));
    let caller = Arc::new(caller);
    let rate_key = caller.rate_key();
    let mut subscription: Option<CancellationToken> = None;
    let limit = server.config.decode_limit;
    let closing = loop {
        let frame = tokio::select! {
            _ = server.shutdown.cancelled() => break Some(ApiError::unavailable("the server is shutting down; reconnect in a moment")),
            _ = kicked.cancelled() => break Some(ApiError::unavailable("a server admin ended this connection")),
            _ = revoked.cancelled() => break Some(ApiError::unauthenticated("this connection's API token was revoked or its account disabled; reconnect with valid credentials")),
            _ = evicted.cancelled() => break Some(ApiError::unavailable("too many connections without a token; this one was idle longest and was closed")),
            _ = idle_limit(idle) => break Some(ApiError::unauthenticated(format!(
                "nothing was sent for {} s on a connection without a token; it is closed",
                idle.map_or(0, |d| d.as_secs())
            ))),
            frame = reader.next() => frame,
        };
        let RequestFrame { id, body } = match frame {
            Some(Ok(frame)) => frame,
            Some(Err(err)) => break Some(frame_error(&err)),
            None => break None,
        };
        if !matches!(*caller, Caller::Console)
            && let Err(retry_after_ms) = server.rate.check(&rate_key)
        {
            server.service.runtime().metrics.record_rate_limited();
            let refused = Response {
                id,
                result: Err(ApiError::RateLimited { retry_after_ms }),
            };
            if outbox.send(ServerFrame::Response(refused)).await.is_err() {
                break None;
            }
            continue;
        }
        match body {
            Request::Subscribe {
                project,
                after_seq,
                query,
            } => {
                // A refused subscription leaves the one in place alone.
                match server
                    .service
                    .subscribe(&caller, project, after_seq, query)
                    .await
                {
                    Ok(sub) => {
                        if let Some(previous) = subscription.take() {
                            previous.cancel();
                        }
                        let stop = CancellationToken::new();
                        subscription = Some(stop.clone());
                        let (service, caller, outbox) =
                            (server.service.clone(), caller.clone(), outbox.clone());
                        server.tasks.spawn(async move {
                            tokio::select! {
                                _ = stop.cancelled() => {}
                                _ = follow(service, caller, sub, id, outbox) => {}
                            }
                        });
                    }
                    Err(err) => {
                        let _ = outbox
                            .send(ServerFrame::Response(Response {
                                id,
                                result: Err(err),
                            }))
                            .await;
                    }
                }
            }
            Request::Unsubscribe => {
                if let Some(previous) = subscription.take() {
                    previous.cancel();
                }
                let _ = outbox
                    .send(ServerFrame::Response(Response {
                        id,
                        result: Ok(ResponseBody::Done),
                    }))
                    .await;
            }
            body => {
                let Ok(permit) = in_flight.clone().acquire_owned().await else {
                    break None;
                };
                let (service, caller, outbox) =
                    (server.service.clone(), caller.clone(), outbox.clone());
                server.tasks.spawn(async move {
                    let result =
                        fit_in_frame(handle_contained(&service, &caller, body).await, limit);
                    let _ = outbox
                        .send(ServerFrame::Response(Response { id, result }))
                        .await;
                    drop(permit);
                });
            }
        }
    };
    if let Some(stop) = subscription {
        stop.cancel();
    }
    if let Some(reason) = closing {
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            outbox.send(ServerFrame::Closing(reason)),
        )
        .await;
    }
    drop(outbox);
    // The writer ends once every in-flight request has sent its response.
    let _ = writer_task.await;
}

/// Resolves after `limit` (never without one); re-armed for every frame.
async fn idle_limit(limit: Option<Duration>) {
    match limit {
        Some(limit) => tokio::time::sleep(limit).await,
        None => std::future::pending().await,
    }
}

/// Runs `$e` on the items of a list answer (None for any other answer).
macro_rules! on_list {
    ($body:expr, $v:ident => $e:expr) => {
        match $body {
            ResponseBody::Issues($v) => Some($e),
            ResponseBody::Activity($v) => Some($e),
            ResponseBody::Comments($v) => Some($e),
            ResponseBody::Users($v) => Some($e),
            ResponseBody::Projects($v) => Some($e),
            ResponseBody::Keys($v) => Some($e),
            ResponseBody::Tokens($v) => Some($e),
            ResponseBody::Invites($v) => Some($e),
            ResponseBody::Notifications($v) => Some($e),
            ResponseBody::Sessions($v) => Some($e),
            ResponseBody::Jobs($v) => Some($e),
            ResponseBody::Deliveries($v) => Some($e),
            ResponseBody::SearchHits($v) => Some($e),
            ResponseBody::Views($v) => Some($e),
            ResponseBody::Exported($v) => Some($e),
            ResponseBody::Webhooks($v) => Some($e),
            _ => None,
        }
    };
}

fn encoded_len(body: &ResponseBody) -> usize {
    tack_protocol::codec::encode_payload(body)
        .map(|p| p.len())
        .unwrap_or(usize::MAX)
}

/// Every answer fits the frame: a list too large for one is cut to its first items that fit
/// (the rest is left for a narrower query or the next page), and anything else too large is
/// refused with advice — never sent for the client's decoder to reject.
fn fit_in_frame(
    result: Result<ResponseBody, ApiError>,
    limit: usize,
) -> Result<ResponseBody, ApiError> {
    let Ok(mut body) = result else { return result };
    // Room for the frame header and the response envelope.
    let room = limit.saturating_sub(64);
    let size = encoded_len(&body);
    if size <= room {
        return Ok(body);
    }
    let Some(total) = on_list!(&body, v => v.len()) else {
        return Err(ApiError::invalid(
            "limit",
            format!(
                "the answer would be {size} bytes, more than the frame limit of {limit}; narrow the request"
            ),
        ));
    };
    // The longest prefix that fits: binary search over lengths, encoding each candidate.
    let (mut fits, mut too_long) = (0, total);
    while fits + 1 < too_long {
        let middle = (fits + too_long) / 2;
        let mut candidate = body.clone();
        on_list!(&mut candidate, v => v.truncate(middle));
        if encoded_len(&candidate) <= room {
            fits = middle;
        } else {
            too_long = middle;
        }
    }
    on_list!(&mut body, v => v.truncate(fits));
    tracing::info!(
        kept = fits,
        of = total,
        bytes = size,
        limit,
        "a list answer was cut to fit the frame"
    );
    Ok(body)
}

/// A panic while handling one request answers that request with an error; the connection and
/// everyone else carry on.
///
/// Each request gets an id that its log lines carry and that the messages of server-side
/// failures repeat, so a person can quote it to an admin.
async fn handle_contained(
    service: &Service,
    caller: &Caller,
    body: Request,
) -> Result<ResponseBody, ApiError> {
    let kind: &'static str = (&body).into();
    let request_id = format!("{:08x}", NEXT_REQUEST.fetch_add(1, Ordering::Relaxed));
    let span = tracing::info_span!("request", id = %request_id, kind, caller = %caller.rate_key());
    let started = std::time::Instant::now();
    let handled = AssertUnwindSafe(service.handle(caller, body))
        .catch_unwind()
        .instrument(span.clone())
        .await;
    let mut result = match handled {
        Ok(result) => result,
        Err(_) => {
            span.in_scope(|| tracing::error!("request handler panicked"));
            Err(ApiError::internal(
                "the server failed while handling this request; the server log has details",
            ))
        }
    };
    if let Err(ApiError::Internal { message } | ApiError::Unavailable { message }) = &mut result {
        span.in_scope(|| tracing::warn!(error = %message, "request failed"));
        message.push_str(&format!(" (request {request_id})"));
    }
    let outcome = match &result {
        Ok(_) => "ok",
        Err(err) => err.kind(),
    };
    service
        .runtime()
        .metrics
        .record_request(kind, outcome, started.elapsed());
    result
}

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

async fn write_loop<S: AsyncWrite>(
    mut sink: FramedWrite<WriteHalf<S>, FrameCodec<RequestFrame, ServerFrame>>,
    mut outbox: mpsc::Receiver<ServerFrame>,
) {
    while let Some(frame) = outbox.recv().await {
        if tack_protocol::codec::send_coalesced(&mut sink, frame, &mut outbox)
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Answers the Subscribe request, replays what the client missed, then follows live events.
async fn follow(
    service: Arc<Service>,
    caller: Arc<Caller>,
    sub: Subscription,
    request_id: u64,
    outbox: mpsc::Sender<ServerFrame>,
) {
    let Subscription {
        filter,
        query,
        mut live,
        replay_after,
        seq,
    } = sub;
    let answer = Response {
        id: request_id,
        result: Ok(ResponseBody::Subscribed { seq }),
    };
    if outbox.send(ServerFrame::Response(answer)).await.is_err() {
        return;
    }
    let mut last = replay_after.unwrap_or(seq);
    if replay_after.is_some()
        && !replay(&service, &caller, (&filter, &query), &mut last, &outbox).await
    {
        return;
    }
    loop {
        match live.recv().await {
            Ok(event) => {
                if event.seq <= last {
                    continue;
                }
                last = event.seq;
                if wanted(&service, &caller, (&filter, &query), &event).await
                    && !send_event(&outbox, (*event).clone()).await
                {
                    return;
                }
            }
            // Fell behind the live stream: catch up from the log, then carry on.
            Err(broadcast::error::RecvError::Lagged(_)) => {
                if !replay(&service, &caller, (&filter, &query), &mut last, &outbox).await {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

async fn send_event(outbox: &mpsc::Sender<ServerFrame>, event: Event) -> bool {
    outbox.send(ServerFrame::Event(event)).await.is_ok()
}

/// What a subscription asked for: which projects, and which issues.
type Wanted<'a> = (
    &'a crate::service::SubscriptionFilter,
    &'a Option<tack_protocol::query::Query>,
);

/// Whether the caller may see `event` and it is one their subscription asked for.
async fn wanted(
    service: &Service,
    caller: &Caller,
    (filter, query): Wanted<'_>,
    event: &Event,
) -> bool {
    service.may_see(caller, filter, event).await
        && match query {
            Some(query) => service.event_matches(caller, query, event).await,
            None => true,
        }
}

/// Sends logged events after `last` that the caller may see; false if the client is gone.
async fn replay(
    service: &Service,
    caller: &Caller,
    (filter, query): Wanted<'_>,
    last: &mut u64,
    outbox: &mpsc::Sender<ServerFrame>,
) -> bool {
    loop {
        let page = match service.replay_page(*last).await {
            Ok(page) => page,
            Err(err) => {
                tracing::warn!(error = %err, "event replay failed");
                return false;
            }
        };
        let full = page.len() >= crate::service::events::REPLAY_PAGE;
        for event in page {
            *last = event.seq;
            if wanted(service, caller, (filter, query), &event).await
                && !send_event(outbox, event).await
            {
                return false;
            }
        }
        if !full {
            return true;
        }
    }
}
