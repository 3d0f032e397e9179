//! Email notifications through a real SMTP conversation with a sink started by the test:
//! instant mail, the daily digest, and an SMTP server that refuses or is down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tack_tests::sinks::{SmtpSink, SmtpTls};
use tack_tests::{TestServer, stderr, wait_until};

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");
const FAST_JOBS: &str = "[jobs]\nretry_base_ms = 100\nretry_max_ms = 200\nmax_attempts = 2\n";

#[test]
fn instant_mail_digests_and_a_refusing_server() {
    let sink = SmtpSink::start();
    let server = TestServer::start_with_config(BIN, &format!("{}{FAST_JOBS}", sink.config()));
    server.ok(&["project", "create", "TACK", "Tack"]);
    server.ok(&[
        "user",
        "create",
        "alice",
        "--name",
        "Alice",
        "--email",
        "alice@example.com",
    ]);
    server.ok(&["user", "create", "carol", "--email", "carol@example.com"]);
    server.ok(&["user", "create", "dave"]);
    for who in ["alice", "carol", "dave"] {
        server.ok(&["project", "member", "TACK", who, "member"]);
    }
    let out = server.ctl(&["user", "update", "dave", "--email-notifications", "instant"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no email address"),
        "{}",
        stderr(&out)
    );
    let out = server.ctl(&[
        "user",
        "update",
        "alice",
        "--email-notifications",
        "sometimes",
    ]);
    assert_ne!(out.status.code(), Some(0), "an unknown mode is refused");
    server.ok(&[
        "user",
        "update",
        "alice",
        "--email-notifications",
        "instant",
    ]);
    server.ok(&["user", "update", "carol", "--email-notifications", "digest"]);
    assert!(server.ok(&["user", "settings", "carol"]).contains("digest"));

    // Instant: one mail per notification, as it happens.
    server.ok(&[
        "issue",
        "create",
        "TACK",
        "Fix the login",
        "--assignee",
        "alice",
    ]);
    let mails = sink.wait_for(1, Duration::from_secs(20));
    let mail = &mails[0];
    assert_eq!(mail.to, ["<alice@example.com>"]);
    assert!(mail.data.contains("Subject: [tack]"), "{}", mail.data);
    assert!(mail.data.contains("TACK-1"), "{}", mail.data);
    assert!(mail.data.contains("Fix the login"), "{}", mail.data);
    assert!(mail.data.contains("Message-ID: <email-"), "{}", mail.data);

    // Digest: nothing is mailed at once; the digest gathers it.
    server.ok(&[
        "issue",
        "create",
        "TACK",
        "Write the docs",
        "--assignee",
        "carol",
    ]);
    server.ok(&["issue", "create", "TACK", "Ship it", "--assignee", "carol"]);
    // A marker: an instant mail to alice, sent after carol's notifications were made.
    server.ok(&["issue", "create", "TACK", "Marker", "--assignee", "alice"]);
    let mails = sink.wait_for(2, Duration::from_secs(20));
    assert!(mails[1].data.contains("Marker"), "{}", mails[1].data);
    assert!(
        mails.iter().all(|m| m.to == ["<alice@example.com>"]),
        "digest readers get no instant mail"
    );
    server.ok(&["job", "run", "digest"]);
    let mails = sink.wait_for(3, Duration::from_secs(20));
    let digest = &mails[2];
    assert_eq!(digest.to, ["<carol@example.com>"]);
    assert!(digest.data.contains("daily digest"), "{}", digest.data);
    assert!(
        digest.data.contains("TACK-2") && digest.data.contains("TACK-3"),
        "{}",
        digest.data
    );
    // A second digest has nothing new to say.
    server.ok(&["job", "run", "digest"]);
    wait_until("the digest job to finish", Duration::from_secs(10), || {
        server.ok(&["job", "list"]).contains("(none)")
    });
    assert_eq!(sink.mails().len(), 3);

    // The SMTP server refuses: retried, then failed and visible; retried by hand once it is back.
    sink.refuse(true);
    server.ok(&["issue", "assign", "TACK-2", "alice"]);
    wait_until("the mail job to fail", Duration::from_secs(20), || {
        server
            .ok(&["job", "list", "--state", "failed"])
            .contains("email")
    });
    let failed = server.ok(&["--json", "job", "list", "--state", "failed"]);
    let failed: serde_json::Value = serde_json::from_str(&failed).unwrap();
    let error = failed[0]["last_error"].as_str().unwrap();
    assert!(
        error.contains("refused") && error.contains("2 attempts"),
        "{error}"
    );
    // Everything else keeps working meanwhile.
    server.ok(&["issue", "create", "TACK", "Still works"]);
    sink.refuse(false);
    let id = failed[0]["id"].to_string();
    server.ok(&["job", "retry", &id]);
    let mails = sink.wait_for(4, Duration::from_secs(20));
    assert!(mails[3].data.contains("TACK-2"), "{}", mails[3].data);
    assert!(server.ok(&["job", "list"]).contains("(none)"));
}

#[test]
fn a_down_smtp_server_fails_the_job_with_a_clear_reason() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = format!(
        "[smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\ntimeout_secs = 2\n{FAST_JOBS}"
    );
    let server = TestServer::start_with_config(BIN, &config);
    server.ok(&["project", "create", "TACK", "Tack"]);
    server.ok(&["user", "create", "alice", "--email", "alice@example.com"]);
    server.ok(&["project", "member", "TACK", "alice", "member"]);
    server.ok(&[
        "user",
        "update",
        "alice",
        "--email-notifications",
        "instant",
    ]);
    server.ok(&[
        "issue",
        "create",
        "TACK",
        "Anyone there?",
        "--assignee",
        "alice",
    ]);
    wait_until("the mail job to fail", Duration::from_secs(30), || {
        server
            .ok(&["job", "list", "--state", "failed"])
            .contains("cannot send")
    });
    let out = server.ctl(&["job", "retry", "999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no job #999"), "{}", stderr(&out));
}

/// TACK, and alice in it, who wants her mail at once.
fn alice_wants_instant_mail(server: &TestServer) {
    server.ok(&["project", "create", "TACK", "Tack"]);
    server.ok(&["user", "create", "alice", "--email", "alice@example.com"]);
    server.ok(&["project", "member", "TACK", "alice", "member"]);
    server.ok(&[
        "user",
        "update",
        "alice",
        "--email-notifications",
        "instant",
    ]);
}

#[test]
fn mail_goes_out_over_starttls_and_implicit_tls_to_a_relay_with_a_private_ca() {
    for tls in [SmtpTls::StartTls, SmtpTls::Implicit] {
        let sink = SmtpSink::start_with(tls);
        let server = TestServer::start_with_config(BIN, &format!("{}{FAST_JOBS}", sink.config()));
        alice_wants_instant_mail(&server);
        server.ok(&["issue", "create", "TACK", "Over TLS", "--assignee", "alice"]);
        let mails = sink.wait_for(1, Duration::from_secs(20));
        assert!(mails[0].encrypted, "{tls:?}: the mail went out in clear");
        assert!(mails[0].data.contains("Over TLS"), "{}", mails[0].data);
    }
}

#[test]
fn a_relay_whose_certificate_is_not_trusted_gets_no_mail() {
    let sink = SmtpSink::start_with(SmtpTls::StartTls);
    // The same relay, without its CA: the public roots do not vouch for it.
    let config = sink
        .config()
        .lines()
        .filter(|l| !l.starts_with("ca_file"))
        .collect::<Vec<_>>()
        .join("\n");
    let server = TestServer::start_with_config(BIN, &format!("{config}\n{FAST_JOBS}"));
    alice_wants_instant_mail(&server);
    server.ok(&[
        "issue",
        "create",
        "TACK",
        "Not for an unknown relay",
        "--assignee",
        "alice",
    ]);
    wait_until("the mail job to fail", Duration::from_secs(20), || {
        server
            .ok(&["job", "list", "--state", "failed"])
            .contains("email")
    });
    let failed = server.ok(&["--json", "job", "list", "--state", "failed"]);
    assert!(
        failed.to_lowercase().contains("certificate") || failed.contains("tls"),
        "{failed}"
    );
    assert!(sink.mails().is_empty());
}
