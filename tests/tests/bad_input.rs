//! Hostile and broken clients on the protocol socket: each gets a typed error or a clean close,
//! and the server keeps serving everyone else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tack_protocol::codec::{decode_payload, encode_payload};
use tack_protocol::handshake::{ClientHello, MAGIC, PROTOCOL_VERSION, ServerHello};
use tack_protocol::{ApiError, Client, ClientError, Credentials, Request, ResponseBody};
use tack_tests::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// Reads one frame (with a deadline) and decodes it as the server's handshake answer.
async fn read_hello(stream: &mut TcpStream) -> Option<ServerHello> {
    let mut len = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(15), stream.read_exact(&mut len))
        .await
        .ok()?
        .ok()?;
    let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut payload).await.ok()?;
    decode_payload(&payload, 1 << 20).ok()
}

async fn closed(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(15), stream.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

async fn refusal(stream: &mut TcpStream) -> ApiError {
    let hello = read_hello(stream)
        .await
        .expect("the server answers before closing");
    assert_eq!(hello.magic, MAGIC);
    let err = hello.result.expect_err("the handshake is refused");
    assert!(closed(stream).await, "and the connection is closed");
    err
}

async fn still_serving(server: &TestServer) {
    let console = server.console().await;
    assert!(matches!(
        console.request(Request::Whoami).await.unwrap(),
        ResponseBody::Whoami(_)
    ));
    let tcp = Client::connect_tcp(&server.api, Credentials::None)
        .await
        .unwrap();
    let err = tcp.request(Request::ListUsers).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Api(ApiError::Unauthenticated { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn every_bad_handshake_gets_a_typed_answer() {
    let server = TestServer::start_with_config(BIN, "[limits]\nhandshake_timeout_secs = 1\n");

    // An oversized frame: refused before it is read.
    let mut s = TcpStream::connect(&server.api).await.unwrap();
    s.write_all(&(64u32 << 20).to_be_bytes()).await.unwrap();
    let err = refusal(&mut s).await;
    assert!(
        matches!(&err, ApiError::Invalid { field, reason } if field == "frame" && reason.contains("exceeds")),
        "{err}"
    );

    // An HTTP request (garbage to us).
    let mut s = TcpStream::connect(&server.api).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let err = refusal(&mut s).await;
    assert!(
        matches!(&err, ApiError::Invalid { field, .. } if field == "frame"),
        "{err}"
    );

    // Random bytes in a well-sized frame.
    let mut s = TcpStream::connect(&server.api).await.unwrap();
    s.write_all(&frame(&[0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff]))
        .await
        .unwrap();
    let err = refusal(&mut s).await;
    assert!(
        matches!(&err, ApiError::Invalid { field, .. } if field == "frame"),
        "{err}"
    );

    // A frame that claims a 2^40-byte string.
    let mut payload =
        encode_payload(&ClientHello::new("x", Credentials::Token(String::new()))).unwrap();
    payload.pop();
    payload.push(253);
    payload.extend_from_slice(&(1u64 << 40).to_le_bytes());
    let mut s = TcpStream::connect(&server.api).await.unwrap();
    s.write_all(&frame(&payload)).await.unwrap();
    let err = refusal(&mut s).await;
    assert!(
        matches!(&err, ApiError::Invalid { field, .. } if field == "frame"),
        "{err}"
    );

    // Trailing bytes after a valid hello.
    let mut payload = encode_payload(&ClientHello::new("x", Credentials::None)).unwrap();
    payload.extend_from_slice(b"junk");
    let mut s = TcpStream::connect(&server.api).await.unwrap();
    s.write_all(&frame(&payload)).await.unwrap();
    let err = refusal(&mut s).await;
    assert!(err.to_string().contains("trailing"), "{err}");

    // The wrong magic.
    let mut hello = ClientHello::new("x", Credentials::None);
    hello.magic = *b"HTTP";
    let mut s = TcpStream::connect(&server.api).await.unwrap();
    s.write_all(&frame(&encode_payload(&hello).unwrap()))
        .await
        .unwrap();
    let err = refusal(&mut s).await;
    assert!(
        matches!(&err, ApiError::Invalid { field, .. } if field == "magic"),
        "{err}"
    );

    // A protocol version the server cannot speak: both versions are named.
    let mut hello = ClientHello::new("x", Credentials::None);
    hello.min_version = PROTOCOL_VERSION + 7;
    hello.max_version = PROTOCOL_VERSION + 9;
    let mut s = TcpStream::connect(&server.api).await.unwrap();
    s.write_all(&frame(&encode_payload(&hello).unwrap()))
        .await
        .unwrap();
    let err = refusal(&mut s).await;
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "{}..={}",
            PROTOCOL_VERSION + 7,
            PROTOCOL_VERSION + 9
        )) && text.contains(&format!("server speaks 1..={PROTOCOL_VERSION}")),
        "{text}"
    );

    // A bad token.
    let err = Client::connect_tcp(&server.api, Credentials::Token("tack_nope".into()))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, ClientError::Refused(ApiError::Unauthenticated { .. })),
        "{err}"
    );

    // A truncated frame, then silence: dropped at the handshake timeout with a message.
    let mut s = TcpStream::connect(&server.api).await.unwrap();
    s.write_all(&[0, 0, 0, 50, 1, 2, 3]).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), refusal(&mut s))
        .await
        .expect("a truncated frame held the connection past the handshake timeout");
    assert!(matches!(err, ApiError::Unauthenticated { .. }), "{err}");
    assert!(err.to_string().contains("no handshake within 1 s"), "{err}");

    // A client that connects and says nothing at all.
    let mut s = TcpStream::connect(&server.api).await.unwrap();
    let err = refusal(&mut s).await;
    assert!(err.to_string().contains("no handshake"), "{err}");

    still_serving(&server).await;
}

#[tokio::test]
async fn garbage_after_the_handshake_closes_only_that_connection() {
    let server = TestServer::start(BIN);
    let mut s = TcpStream::connect(&server.api).await.unwrap();
    s.write_all(&frame(
        &encode_payload(&ClientHello::new("x", Credentials::None)).unwrap(),
    ))
    .await
    .unwrap();
    let hello = read_hello(&mut s).await.unwrap();
    assert!(hello.result.is_ok());
    s.write_all(&frame(&[0xff; 16])).await.unwrap();
    // The server says why, then closes.
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.unwrap();
    let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut payload).await.unwrap();
    let closing: tack_protocol::ServerFrame = decode_payload(&payload, 1 << 20).unwrap();
    assert!(
        matches!(
            closing,
            tack_protocol::ServerFrame::Closing(ApiError::Invalid { .. })
        ),
        "{closing:?}"
    );
    assert!(closed(&mut s).await);
    still_serving(&server).await;
}

#[tokio::test]
async fn a_thousand_silent_connections_do_not_lock_anyone_out() {
    let server = TestServer::start(BIN);
    let mut silent = Vec::new();
    for _ in 0..1000 {
        silent.push(TcpStream::connect(&server.api).await.unwrap());
    }
    // The oldest silent ones are evicted to make room; real clients still get in at once.
    tokio::time::timeout(Duration::from_secs(5), still_serving(&server))
        .await
        .expect("a real client was kept waiting behind silent connections");
    let mut answered = 0;
    for stream in silent.iter_mut().take(50) {
        if read_hello(stream).await.is_some_and(|h| h.result.is_err()) {
            answered += 1;
        }
    }
    assert!(answered > 0, "evicted connections are told why");
    drop(silent);
    still_serving(&server).await;
}

#[tokio::test]
async fn request_rate_is_limited_per_identity_with_a_retry_hint() {
    let server = TestServer::start_with_config(
        BIN,
        "[limits]\nrequests_per_second = 5\nrequest_burst = 5\n",
    );
    let token = server.user_with_token("bot", false).await;
    let client = server.with_token(&token).await;
    let results = futures::future::join_all((0..20).map(|_| client.request(Request::Whoami))).await;
    let limited: Vec<u64> = results
        .iter()
        .filter_map(|r| match r {
            Err(ClientError::Api(ApiError::RateLimited { retry_after_ms })) => {
                Some(*retry_after_ms)
            }
            _ => None,
        })
        .collect();
    assert!(limited.len() >= 10, "{} of 20 were limited", limited.len());
    assert!(limited.iter().all(|ms| *ms > 0 && *ms <= 1000));
    // Another identity is not affected.
    let other = server.user_with_token("other", false).await;
    assert!(
        server
            .with_token(&other)
            .await
            .request(Request::Whoami)
            .await
            .is_ok()
    );
}
