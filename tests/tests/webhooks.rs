//! Webhooks against a real HTTP endpoint started by the test: signed deliveries, retries, the
//! circuit breaker opening and recovering, the SSRF guard, and a delivery in flight surviving
//! kill -9.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tack_tests::sinks::{Answer, HookReceiver};
use tack_tests::{TestServer, stderr, wait_until};

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");
const SECRET: &str = "s3cret-hook-key";

fn expected_signature(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

const FAST_JOBS: &str = "[jobs]\nretry_base_ms = 100\nretry_max_ms = 400\nmax_attempts = 50\n\
[webhooks]\nallow_private_targets = true\nbreaker_threshold = 3\nbreaker_open_secs = 3\ntimeout_secs = 2\n";

/// The breaker column of `webhook list`: closed, half-open, or open (until …).
fn breaker(server: &TestServer) -> String {
    let list = server.ok(&["webhook", "list", "TACK"]);
    if list.contains("half-open") {
        "half-open".into()
    } else if list.contains("open") {
        "open".into()
    } else if list.contains("closed") {
        "closed".into()
    } else {
        panic!("no breaker state in {list}")
    }
}

#[test]
fn deliveries_are_signed_retried_and_the_breaker_opens_and_recovers() {
    let receiver = HookReceiver::start();
    let server = TestServer::start_with_config(BIN, FAST_JOBS);
    server.ok(&["project", "create", "TACK", "Tack"]);
    let created = server.ok(&[
        "webhook",
        "create",
        "TACK",
        "--url",
        &receiver.url(),
        "--secret",
        SECRET,
        "--events",
        "issue.created,comment.created",
    ]);
    assert!(
        created.contains("issue.created,comment.created"),
        "{created}"
    );

    server.ok(&["issue", "create", "TACK", "First"]);
    let got = receiver.wait_for(1, Duration::from_secs(20));
    let first = &got[0];
    assert_eq!(first.path, "/hook");
    assert_eq!(first.headers["x-tack-event"], "issue.created");
    assert_eq!(
        first.headers["x-tack-signature"],
        expected_signature(&first.body),
        "the signature is HMAC-SHA256 of the body under the secret"
    );
    let body: serde_json::Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(body["event"], "issue.created");
    assert_eq!(body["project"], "TACK");
    assert_eq!(body["subject"], "TACK-1");
    assert_eq!(body["record"]["issue"]["title"], "First");
    assert_eq!(body["delivery"], first.headers["x-tack-delivery"].as_str());

    // Events outside the filter are not sent: the move is followed by a create, and only the
    // create arrives.
    server.ok(&["issue", "move", "TACK-1", "In Progress"]);
    server.ok(&["issue", "create", "TACK", "Marker"]);
    let got = receiver.wait_for(2, Duration::from_secs(20));
    assert!(got[1].body.contains("\"Marker\""), "{}", got[1].body);
    assert!(
        got.iter()
            .all(|r| r.headers["x-tack-event"] != "issue.updated"),
        "an event outside the filter was delivered"
    );

    // The endpoint fails: deliveries are retried, and after three failures the breaker opens.
    receiver.answer(Answer::Fail);
    server.ok(&["issue", "create", "TACK", "Second"]);
    wait_until("the breaker to open", Duration::from_secs(20), || {
        breaker(&server) == "open"
    });
    let log = server.ok(&["webhook", "deliveries", "TACK"]);
    assert!(log.contains("500"), "{log}");
    assert!(log.contains("the endpoint answered 500"), "{log}");
    // Open: nothing goes out until its time is up.
    let attempts_when_opened = receiver.received().len();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        receiver.received().len(),
        attempts_when_opened,
        "an open breaker sent a delivery"
    );
    // Half-open: exactly one probe goes out (the endpoint now hangs, so it stays in flight)…
    receiver.answer(Answer::Hang);
    wait_until("the half-open probe", Duration::from_secs(20), || {
        breaker(&server) == "half-open"
    });
    assert_eq!(receiver.received().len(), attempts_when_opened + 1);
    // …and its failure (a timeout) opens the breaker again, with no second probe.
    wait_until("the breaker to open again", Duration::from_secs(20), || {
        breaker(&server) == "open"
    });
    assert_eq!(receiver.received().len(), attempts_when_opened + 1);

    // The endpoint recovers: the half-open probe succeeds and the queued delivery goes out.
    receiver.answer(Answer::Ok);
    wait_until("the breaker to close", Duration::from_secs(20), || {
        breaker(&server) == "closed"
    });
    wait_until("the queue to drain", Duration::from_secs(20), || {
        server.ok(&["job", "list"]).contains("(none)")
    });
    let all = receiver.received();
    let second: Vec<_> = all
        .iter()
        .filter(|r| r.body.contains("\"TACK-3\""))
        .collect();
    assert!(
        second.len() >= 5,
        "three failures, a timed-out probe, then a success: {}",
        second.len()
    );
    let ids: HashSet<&str> = second
        .iter()
        .map(|r| r.headers["x-tack-delivery"].as_str())
        .collect();
    assert_eq!(ids.len(), 1, "every retry carries the same delivery id");
    let log = server.ok(&["--json", "webhook", "deliveries", "TACK"]);
    let log: serde_json::Value = serde_json::from_str(&log).unwrap();
    assert_eq!(log[0]["status"], 200, "{log}");

    // Owners only: a plain member cannot see the webhook or its log.
    server.ok(&["user", "create", "bob"]);
    server.ok(&["project", "member", "TACK", "bob", "member"]);
    let token = server.token_for("bob");
    let out = server.ctl_token(&token, &["webhook", "list", "TACK"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("owner role"), "{}", stderr(&out));
}

#[test]
fn private_targets_are_refused_by_default() {
    let server = TestServer::start(BIN);
    server.ok(&["project", "create", "TACK", "Tack"]);
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost:8080/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://10.0.0.7/hook",
        "http://[::127.0.0.1]/hook",
        "http://198.18.0.1/hook",
    ] {
        let out = server.ctl(&[
            "webhook", "create", "TACK", "--url", url, "--secret", SECRET,
        ]);
        assert_eq!(out.status.code(), Some(1), "{url} must be refused");
        let err = stderr(&out);
        assert!(err.contains("may not target"), "{url}: {err}");
    }
    let out = server.ctl(&[
        "webhook",
        "create",
        "TACK",
        "--url",
        "https://192.0.2.1/x",
        "--secret",
        "short",
    ]);
    assert!(stderr(&out).contains("8 to 256"), "{}", stderr(&out));
    let out = server.ctl(&[
        "webhook",
        "create",
        "TACK",
        "--url",
        "https://192.0.2.1/x",
        "--secret",
        SECRET,
        "--events",
        "issue.exploded",
    ]);
    assert!(stderr(&out).contains("issue.created"), "{}", stderr(&out));
}

#[test]
fn a_delivery_in_flight_survives_kill_9_and_arrives_once_after_restart() {
    let receiver = HookReceiver::start();
    receiver.answer(Answer::Hang);
    let config = "[jobs]\nretry_base_ms = 100\n[webhooks]\nallow_private_targets = true\ntimeout_secs = 60\n";
    let mut server = TestServer::start_with_config(BIN, config);
    server.ok(&["project", "create", "TACK", "Tack"]);
    server.ok(&[
        "webhook",
        "create",
        "TACK",
        "--url",
        &receiver.url(),
        "--secret",
        SECRET,
    ]);
    server.ok(&["issue", "create", "TACK", "Survivor"]);
    let hung = receiver.wait_for(1, Duration::from_secs(20));
    let id = hung[0].headers["x-tack-delivery"].clone();
    assert!(server.ok(&["job", "list"]).contains("running"));

    server.kill9();
    receiver.answer(Answer::Ok);
    server.restart();
    let got = receiver.wait_for(2, Duration::from_secs(30));
    wait_until("the job to finish", Duration::from_secs(20), || {
        server.ok(&["job", "list"]).contains("(none)")
    });
    // A marker delivery made after the restart: once it is in, anything resent would be too.
    server.ok(&["issue", "create", "TACK", "Marker"]);
    wait_until("the marker delivery", Duration::from_secs(20), || {
        receiver
            .received()
            .iter()
            .any(|r| r.body.contains("\"Marker\""))
    });
    let got: Vec<_> = receiver
        .received()
        .into_iter()
        .chain(got)
        .filter(|r| !r.body.contains("\"Marker\""))
        .collect();
    let ids: HashSet<&str> = got
        .iter()
        .map(|r| r.headers["x-tack-delivery"].as_str())
        .collect();
    assert_eq!(
        ids,
        HashSet::from([id.as_str()]),
        "the redelivery carries the same idempotency key, so the receiver keeps one"
    );
    let log = server.ok(&["--json", "webhook", "deliveries", "TACK"]);
    let log: serde_json::Value = serde_json::from_str(&log).unwrap();
    let survivor_ok = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["seq"] != log[0]["seq"] && d["status"] == 200)
        .count();
    assert_eq!(survivor_ok, 1, "delivered once: {log}");
}

#[test]
fn a_webhook_with_a_query_hears_only_about_matching_issues() {
    let receiver = HookReceiver::start();
    let server = TestServer::start_with_config(BIN, FAST_JOBS);
    server.ok(&["project", "create", "TACK", "Tack"]);
    let created = server.ok(&[
        "webhook",
        "create",
        "TACK",
        "--url",
        &receiver.url(),
        "--secret",
        SECRET,
        "--events",
        "issue.created,comment.created",
        "--query",
        "label:bug priority:>=high",
    ]);
    assert!(
        created.contains("where label:bug priority:>=high"),
        "{created}"
    );
    server.ok(&[
        "issue",
        "create",
        "TACK",
        "A feature",
        "--label",
        "feature",
        "--priority",
        "urgent",
    ]);
    server.ok(&[
        "issue",
        "create",
        "TACK",
        "A small bug",
        "--label",
        "bug",
        "--priority",
        "low",
    ]);
    server.ok(&[
        "issue",
        "create",
        "TACK",
        "A big bug",
        "--label",
        "bug",
        "--priority",
        "high",
    ]);
    server.ok(&["comment", "add", "TACK-3", "still happening"]);
    server.ok(&["comment", "add", "TACK-1", "not a bug"]);
    receiver.wait_for(2, Duration::from_secs(20));
    wait_until("the queue to drain", Duration::from_secs(20), || {
        server.ok(&["job", "list"]).contains("(none)")
    });
    let got: Vec<(String, String)> = receiver
        .received()
        .iter()
        .map(|r| {
            let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            (
                body["event"].as_str().unwrap().to_string(),
                body["subject"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("issue.created".to_string(), "TACK-3".to_string()),
            ("comment.created".to_string(), "TACK-3".to_string())
        ]
    );
    let out = server.ctl(&[
        "webhook",
        "create",
        "TACK",
        "--url",
        &receiver.url(),
        "--secret",
        SECRET,
        "--query",
        "label:",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("needs a value"), "{}", stderr(&out));
}
