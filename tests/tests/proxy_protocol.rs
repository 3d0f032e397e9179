//! Behind a load balancer: the PROXY protocol (v2) from the addresses in `trusted_proxies`
//! gives every connection its client's real address — in the session list, as the source of
//! per-source limits — on the SSH and protocol listeners; a trusted proxy that sends no header
//! is refused, and a header from anyone else is never believed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use russh::client;
use tack_protocol::codec::DEFAULT_DECODE_LIMIT;
use tack_protocol::handshake::ClientHello;
use tack_protocol::{Client, Credentials, Request, ResponseBody};
use tack_tests::TestServer;
use tack_tests::ssh::{self, AcceptAnyHostKey};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");

/// The balancer runs on 127.0.0.1; clients elsewhere in 127.0.0.0/8 reach tack directly.
const CONFIG: &str = "trusted_proxies = [\"127.0.0.1/32\"]\n";

/// A PROXY v2 header for a TCP connection from `client`.
fn proxy_header(client: SocketAddrV4) -> Vec<u8> {
    let mut header = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    header.extend([0x21, 0x11, 0, 12]);
    header.extend(client.ip().octets());
    header.extend([127, 0, 0, 1]);
    header.extend(client.port().to_be_bytes());
    header.extend(2222u16.to_be_bytes());
    header
}

/// A TCP connection from `source` to `addr`, with `first` written before anything else.
async fn dial(addr: &str, source: Ipv4Addr, first: &[u8]) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    let mut stream = socket.connect(addr.parse().unwrap()).await.unwrap();
    stream.write_all(first).await.unwrap();
    stream
}

async fn ssh_over(stream: TcpStream) -> Result<client::Handle<AcceptAnyHostKey>, russh::Error> {
    let config = Arc::new(client::Config::default());
    tokio::time::timeout(
        Duration::from_secs(10),
        client::connect_stream(config, stream, AcceptAnyHostKey),
    )
    .await
    .unwrap_or(Err(russh::Error::ConnectionTimeout))
}

async fn peers(server: &TestServer) -> Vec<String> {
    match server.console().await.request(Request::ListSessions).await {
        Ok(ResponseBody::Sessions(sessions)) => sessions.into_iter().map(|s| s.peer).collect(),
        other => panic!("listing sessions answered {other:?}"),
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_connection_has_its_clients_address() {
    let server = TestServer::start_with_config(BIN, CONFIG);
    let key = ssh::new_key();
    server.ok(&["user", "create", "alice"]);
    server.ok(&["key", "add", &ssh::authorized_line(&key), "--user", "alice"]);
    let token = server.token_for("alice");

    let person = SocketAddrV4::new(Ipv4Addr::new(203, 0, 113, 7), 4242);
    let stream = dial(&server.ssh, Ipv4Addr::LOCALHOST, &proxy_header(person)).await;
    let mut handle = ssh_over(stream).await.unwrap();
    assert!(ssh::login(&mut handle, &key).await);
    let _terminal = ssh::Terminal::open(&handle, 80, 24).await;

    let bot = SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 9), 555);
    let stream = dial(&server.api, Ipv4Addr::LOCALHOST, &proxy_header(bot)).await;
    let hello = ClientHello::new("proxied bot", Credentials::Token(token));
    let client = Client::connect(stream, hello, DEFAULT_DECODE_LIMIT)
        .await
        .unwrap();
    assert!(matches!(
        client.request(Request::Whoami).await,
        Ok(ResponseBody::Whoami(_))
    ));

    let listed = peers(&server).await;
    for expected in ["203.0.113.7:4242", "198.51.100.9:555"] {
        assert!(
            listed.iter().any(|peer| peer == expected),
            "{expected} is not in the session list: {listed:?}"
        );
    }
    assert!(
        !listed.iter().any(|peer| peer.starts_with("127.0.0.1:")),
        "the balancer's own address is listed: {listed:?}"
    );
}

#[tokio::test]
async fn a_trusted_proxy_must_send_the_header_and_nobody_else_is_believed() {
    let server = TestServer::start_with_config(BIN, CONFIG);
    let key = ssh::new_key();
    server.ok(&["user", "create", "alice"]);
    server.ok(&["key", "add", &ssh::authorized_line(&key), "--user", "alice"]);

    // From the balancer's address, a plain SSH client is refused: its banner is no header.
    let plain = dial(&server.ssh, Ipv4Addr::LOCALHOST, b"").await;
    assert!(
        ssh_over(plain).await.is_err(),
        "a trusted proxy without a PROXY header was served"
    );
    let plain = dial(&server.api, Ipv4Addr::LOCALHOST, b"").await;
    let hello = ClientHello::new("no header", Credentials::Token(server.token_for("alice")));
    assert!(
        Client::connect(plain, hello, DEFAULT_DECODE_LIMIT)
            .await
            .is_err(),
        "a trusted proxy without a PROXY header was answered on the protocol socket"
    );
    // A header that claims more than any address block is refused at once.
    let mut huge = proxy_header(SocketAddrV4::new(Ipv4Addr::new(203, 0, 113, 8), 1));
    huge[14..16].copy_from_slice(&u16::MAX.to_be_bytes());
    assert!(
        ssh_over(dial(&server.ssh, Ipv4Addr::LOCALHOST, &huge).await)
            .await
            .is_err()
    );

    // From anywhere else a header is just bytes before the SSH banner: the handshake fails
    // and the claimed address appears nowhere.
    let stranger = Ipv4Addr::new(127, 0, 0, 9);
    let spoofed = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 66), 6666);
    let stream = dial(&server.ssh, stranger, &proxy_header(spoofed)).await;
    assert!(
        ssh_over(stream).await.is_err(),
        "a stranger's PROXY header was accepted"
    );
    let stream = dial(&server.api, stranger, &proxy_header(spoofed)).await;
    let hello = ClientHello::new("spoofer", Credentials::Token(server.token_for("alice")));
    assert!(
        Client::connect(stream, hello, DEFAULT_DECODE_LIMIT)
            .await
            .is_err(),
        "a stranger's PROXY header was accepted on the protocol socket"
    );
    // Without a header, the same stranger is served, under its own address.
    let mut direct = ssh::connect_from(&server.ssh, stranger).await;
    assert!(ssh::login(&mut direct, &key).await);
    let _terminal = ssh::Terminal::open(&direct, 80, 24).await;
    let listed = peers(&server).await;
    assert!(
        listed.iter().any(|peer| peer.starts_with("127.0.0.9:")),
        "the direct session is not listed under its own address: {listed:?}"
    );
    assert!(
        !listed.iter().any(|peer| peer.starts_with("192.0.2.66")),
        "a spoofed address is listed: {listed:?}"
    );
}
