//! The limits and life cycles nobody had tested end to end: invites that expire or are revoked,
//! two-factor turned off, SSH idle and login-grace timeouts, the auth attempt cap, the frame
//! limit after the handshake, JSON logs, rate limits on requests made over SSH, unsubscribing,
//! and archived projects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::time::Duration;

use tack_protocol::{
    ApiError, ClientError, Credentials, EventRecord, Request, ResponseBody, ServerFrame,
};
use tack_tests::ssh::{self, Terminal};
use tack_tests::{TestServer, create_issue, stderr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");
const WAIT: Duration = Duration::from_secs(15);

fn invite(server: &TestServer, expires: &str) -> (String, String) {
    let out = server.ok(&["invite", "create", "--expires", expires, "--json"]);
    let created: serde_json::Value = serde_json::from_str(&out).unwrap();
    (
        created["code"].as_str().unwrap().to_string(),
        created["invite"]["id"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn expired_and_revoked_invites_are_refused_at_the_ssh_prompt() {
    let server = TestServer::start(BIN);
    let (expiring, expiring_id) = invite(&server, "1s");
    let (revoked, revoked_id) = invite(&server, "7d");
    server.ok(&["invite", "revoke", &revoked_id]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for code in [&expiring, &revoked] {
        let mut handle = ssh::connect(&server.ssh).await;
        assert!(
            !ssh::login_with_invite(&mut handle, &ssh::new_key(), code).await,
            "{code} let a new key in"
        );
    }
    // The expiry job marks what ran out, so the list says so.
    server.ok(&["job", "run", "expire"]);
    tack_tests::wait_until("the expiry job", Duration::from_secs(20), || {
        let list = server.ok(&["invite", "list", "--json"]);
        let invites: serde_json::Value = serde_json::from_str(&list).unwrap();
        invites
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == expiring_id.as_str() && i["revoked"] == true)
    });
}

fn code_at(secret: &str) -> String {
    tack_tests::totp_code(secret, 0)
}

#[tokio::test]
async fn turning_two_factor_off_lets_the_key_alone_log_in_again() {
    let server = TestServer::start(BIN);
    let key = ssh::new_key();
    server.ok(&["user", "create", "alice"]);
    server.ok(&["key", "add", &ssh::authorized_line(&key), "--user", "alice"]);
    let alice = server.with_token(&server.token_for("alice")).await;
    let secret = tack_tests::enable_totp(&alice).await;
    let mut bare = ssh::connect(&server.ssh).await;
    assert!(!ssh::login(&mut bare, &key).await, "two-factor is on");
    let wrong = alice
        .request(Request::DisableTotp {
            code: "000000".into(),
        })
        .await;
    assert!(
        matches!(wrong, Err(ClientError::Api(ApiError::Invalid { .. })))
            || code_at(&secret) == "000000",
        "{wrong:?}"
    );
    alice
        .request(Request::DisableTotp {
            code: code_at(&secret),
        })
        .await
        .unwrap();
    let mut again = ssh::connect(&server.ssh).await;
    assert!(
        ssh::login(&mut again, &key).await,
        "the key alone logs in again"
    );
}

#[tokio::test]
async fn idle_sessions_and_slow_logins_are_closed() {
    let server = TestServer::start_with_config(
        BIN,
        "[ssh_limits]\nidle_timeout_secs = 2\nlogin_grace_secs = 2\n",
    );
    let key = ssh::new_key();
    server.ok(&["user", "create", "alice"]);
    server.ok(&["key", "add", &ssh::authorized_line(&key), "--user", "alice"]);

    // Idle: a session that sends nothing is ended.
    let mut handle = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut handle, &key).await);
    let mut term = Terminal::open(&handle, 80, 24).await;
    term.wait_for("My open issues", WAIT).await;
    assert!(
        term.wait_closed(Duration::from_secs(15)).await,
        "an idle session outlived idle_timeout_secs"
    );

    // Login grace: a connection that never authenticates is dropped — on a server whose idle
    // timeout is far longer, so that it is the grace that ends it.
    let graceful = TestServer::start_with_config(
        BIN,
        "[ssh_limits]\nlogin_grace_secs = 2\nidle_timeout_secs = 600\n",
    );
    let mut silent = tokio::net::TcpStream::connect(&graceful.ssh).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match silent.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "a connection that never signed in outlived login_grace_secs"
    );
}

/// Offers `wrong` unknown keys on one connection, then the right one: did it get in?
async fn right_key_after(server: &TestServer, key: &russh::keys::PrivateKey, wrong: usize) -> bool {
    let mut handle = ssh::connect(&server.ssh).await;
    for n in 0..wrong {
        let signed =
            russh::keys::PrivateKeyWithHashAlg::new(std::sync::Arc::new(ssh::new_key()), None);
        let outcome = handle.authenticate_publickey("tack", signed).await;
        assert!(
            matches!(outcome, Ok(ref r) if !r.success()),
            "unknown key {n} was not simply refused: {outcome:?}"
        );
    }
    let signed = russh::keys::PrivateKeyWithHashAlg::new(std::sync::Arc::new(key.clone()), None);
    matches!(handle.authenticate_publickey("tack", signed).await, Ok(r) if r.success())
}

#[tokio::test]
async fn a_connection_gets_max_auth_attempts_keys_and_no_more() {
    // A login grace far longer than the attempts take, so that it is the cap that refuses.
    let server = TestServer::start_with_config(
        BIN,
        "[ssh_limits]\nmax_auth_attempts = 3\nlogin_grace_secs = 120\n",
    );
    let key = ssh::new_key();
    server.ok(&["user", "create", "alice"]);
    server.ok(&["key", "add", &ssh::authorized_line(&key), "--user", "alice"]);
    // Both connections at once: each refusal costs russh's rejection delay.
    let (within, past) = tokio::join!(
        right_key_after(&server, &key, 2),
        right_key_after(&server, &key, 3)
    );
    assert!(
        within,
        "the right key after two unknown ones (cap 3) was refused"
    );
    assert!(
        !past,
        "the right key after max_auth_attempts unknown ones still got in"
    );
}

#[tokio::test]
async fn a_frame_over_the_limit_after_the_handshake_closes_only_that_connection() {
    let server = TestServer::start_with_config(BIN, "[limits]\nmax_frame_bytes = 4096\n");
    server.ok(&["project", "create", "TACK", "Tack"]);
    server.ok(&["user", "create", "alice"]);
    server.ok(&["project", "member", "TACK", "alice", "member"]);
    let token = server.token_for("alice");
    let mut raw = tokio::net::TcpStream::connect(&server.api).await.unwrap();
    let hello = tack_protocol::codec::encode_payload(&tack_protocol::ClientHello::new(
        "raw",
        Credentials::Token(token.clone()),
    ))
    .unwrap();
    raw.write_all(&(hello.len() as u32).to_be_bytes())
        .await
        .unwrap();
    raw.write_all(&hello).await.unwrap();
    let mut len = [0u8; 4];
    raw.read_exact(&mut len).await.unwrap();
    let mut welcome = vec![0u8; u32::from_be_bytes(len) as usize];
    raw.read_exact(&mut welcome).await.unwrap();
    // A frame that claims 8 KiB: refused with a reason, then closed.
    raw.write_all(&8192u32.to_be_bytes()).await.unwrap();
    raw.write_all(&vec![0u8; 8192]).await.unwrap();
    let closing = tokio::time::timeout(WAIT, async {
        raw.read_exact(&mut len).await.unwrap();
        let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
        raw.read_exact(&mut payload).await.unwrap();
        tack_protocol::codec::decode_payload::<ServerFrame>(&payload, 1 << 20).unwrap()
    })
    .await
    .expect("an oversized frame got no answer");
    assert!(
        matches!(closing, ServerFrame::Closing(ApiError::Invalid { ref reason, .. }) if reason.contains("4096")),
        "{closing:?}"
    );
    // Everyone else goes on, and requests under the limit work.
    let client = server.with_token(&token).await;
    client
        .request(create_issue("TACK", "small", ""))
        .await
        .unwrap();
    let big = client
        .request(create_issue("TACK", "too big", &"x".repeat(8000)))
        .await;
    assert!(big.is_err(), "a request over the frame limit was accepted");
}

#[test]
fn log_format_json_writes_one_json_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tack_tests::serve_command(BIN, &dir.path().join("data"))
        .args(["--log-format", "json"])
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = 0;
    while let Some(Ok(line)) = lines.next() {
        let value: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(value["level"].is_string(), "{line}");
        assert!(value["fields"].is_object(), "{line}");
        seen += 1;
        if line.contains("tack is serving") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen >= 1, "no log line before the server was ready");
}

#[tokio::test]
async fn commands_over_ssh_share_their_users_rate_limit_and_say_when_to_retry() {
    let server = TestServer::start_with_config(
        BIN,
        "[limits]\nrequests_per_second = 1\nrequest_burst = 1\n",
    );
    let key = ssh::new_key();
    server.ok(&["user", "create", "alice"]);
    server.ok(&["key", "add", &ssh::authorized_line(&key), "--user", "alice"]);
    let mut limited = None;
    for _ in 0..4 {
        let mut handle = ssh::connect(&server.ssh).await;
        assert!(ssh::login(&mut handle, &key).await);
        let (status, _, err) = ssh::exec(&handle, "whoami").await;
        if status != 0 {
            limited = Some(err);
            break;
        }
    }
    let err = limited.expect("four commands in a row pass a limit of one a second");
    assert!(err.contains("retry"), "{err}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut handle = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut handle, &key).await);
    let (status, out, err) = ssh::exec(&handle, "whoami").await;
    assert_eq!(status, 0, "after the wait it goes through: {err}");
    assert!(out.contains("@alice"));
}

#[tokio::test]
async fn unsubscribing_stops_the_events() {
    let server = TestServer::start(BIN);
    server.ok(&["project", "create", "TACK", "Tack"]);
    let listener = server.console().await;
    let mut events = listener.take_events().unwrap();
    let subscribe = Request::Subscribe {
        project: None,
        after_seq: None,
        query: None,
    };
    listener.request(subscribe.clone()).await.unwrap();
    assert!(matches!(
        listener.request(Request::Unsubscribe).await,
        Ok(ResponseBody::Done)
    ));
    let console = server.console().await;
    console
        .request(create_issue("TACK", "unheard", ""))
        .await
        .unwrap();
    // A new subscription and a marker: the first event to arrive is the marker.
    listener.request(subscribe).await.unwrap();
    console
        .request(create_issue("TACK", "marker", ""))
        .await
        .unwrap();
    let first = tokio::time::timeout(WAIT, events.recv())
        .await
        .unwrap()
        .unwrap();
    match &first.record {
        EventRecord::Issue(issue) => assert_eq!(issue.title, "marker"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_archived_project_refuses_writes_until_it_is_unarchived() {
    let server = TestServer::start(BIN);
    server.ok(&["project", "create", "TACK", "Tack"]);
    server.ok(&["issue", "create", "TACK", "Before"]);
    server.ok(&["project", "archive", "TACK"]);
    for args in [
        &["issue", "create", "TACK", "During"][..],
        &["comment", "add", "TACK-1", "hello"][..],
        &["issue", "close", "TACK-1"][..],
    ] {
        let out = server.ctl(args);
        assert_eq!(out.status.code(), Some(1), "{args:?} was accepted");
        assert!(stderr(&out).contains("archived"), "{}", stderr(&out));
    }
    // Reading goes on.
    assert!(server.ok(&["issue", "show", "TACK-1"]).contains("Before"));
    server.ok(&["project", "unarchive", "TACK"]);
    server.ok(&["issue", "create", "TACK", "After"]);
}

#[tokio::test]
async fn one_request_in_flight_per_connection_makes_the_next_wait_its_turn() {
    let server = TestServer::start_with_config(BIN, "[limits]\nmax_in_flight_per_connection = 1\n");
    server.ok(&["project", "create", "TACK", "Tack"]);
    let console = server.console().await;
    for n in 0..2000 {
        console
            .request(create_issue(
                "TACK",
                &format!("Issue {n}"),
                &"words ".repeat(200),
            ))
            .await
            .unwrap();
    }
    // A slow request (a backup of the whole store), then a fast one, pipelined on one
    // connection: with one in flight, the fast one is answered only after the slow one.
    let order = std::sync::Mutex::new(Vec::new());
    let slow = async {
        console
            .request(Request::Backup {
                path: "inflight.tackbak".into(),
            })
            .await
            .unwrap();
        order.lock().unwrap().push("backup");
    };
    let fast = async {
        console.request(Request::Whoami).await.unwrap();
        order.lock().unwrap().push("whoami");
    };
    futures::join!(slow, fast);
    assert_eq!(*order.lock().unwrap(), ["backup", "whoami"]);
}
