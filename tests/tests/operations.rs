//! Running tack for real: metrics and health endpoints, backups (scheduled and by hand) and
//! restore, live sessions and kicking one, the audit log, and managing accounts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use tack_protocol::{Request, ResponseBody};
use tack_tests::sinks::http_get;
use tack_tests::{TestServer, create_issue, stderr, stdout};

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");

/// Prometheus text → `name{labels}` → value.
fn scrape(addr: &str) -> HashMap<String, f64> {
    let (status, body) = http_get(addr, "/metrics");
    assert_eq!(status, 200, "{body}");
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap();
            (name.to_string(), value.parse::<f64>().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn metrics_are_scraped_and_readyz_turns_unready_when_the_store_closes() {
    let mut server = TestServer::start_with_config(BIN, "shutdown_grace_secs = 5\n");
    assert_eq!(http_get(&server.http, "/healthz"), (200, "ok\n".into()));
    assert_eq!(http_get(&server.http, "/readyz").0, 200);

    server.ok(&["project", "create", "TACK", "Tack"]);
    server.ok(&["issue", "create", "TACK", "One"]);
    let _ = server.ctl(&["issue", "show", "TACK-99"]);
    let console = server.console().await;
    let metrics = scrape(&server.http);
    assert_eq!(
        metrics[r#"tack_requests_total{kind="create_issue",outcome="ok"}"#],
        1.0
    );
    assert_eq!(
        metrics[r#"tack_requests_total{kind="get_issue",outcome="not_found"}"#],
        1.0
    );
    assert!(metrics[r#"tack_request_duration_seconds_count{kind="create_issue"}"#] >= 1.0);
    assert!(metrics["tack_store_bytes"] > 0.0);
    assert_eq!(metrics["tack_protocol_connections"], 1.0, "the console");
    assert_eq!(metrics["tack_ssh_sessions"], 0.0);
    assert!(metrics.contains_key(r#"tack_jobs{state="failed"}"#));
    assert_eq!(metrics["tack_rate_limited_total"], 0.0);
    drop(console);

    // On SIGTERM the store closes; /readyz says so until the process exits.
    let pid = server.pid();
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = http_get(&server.http, "/readyz");
        if status == 503 {
            assert!(body.contains("store closed"), "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "never turned unready");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.terminate(), Some(0));
}

#[test]
fn backup_restore_gives_an_identical_store_and_a_corrupt_file_is_refused() {
    let server = TestServer::start_with_config(BIN, "[backup]\nretention = 2\n");
    server.ok(&["project", "create", "TACK", "Tack"]);
    server.ok(&["user", "create", "alice", "--email", "a@example.com"]);
    server.ok(&["project", "member", "TACK", "alice", "member"]);
    for n in 0..20 {
        server.ok(&[
            "issue",
            "create",
            "TACK",
            &format!("Issue {n}"),
            "--assignee",
            "alice",
        ]);
    }
    server.ok(&["comment", "add", "TACK-3", "a comment"]);

    // Scheduled backups go to the backup directory, keeping the newest `retention`.
    for _ in 0..3 {
        server.ok(&["job", "run", "backup"]);
        std::thread::sleep(Duration::from_millis(1100));
    }
    let listed = server.ok(&["--json", "backup", "list"]);
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let files = listed["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "retention keeps two: {listed}");
    let newest = files[0]["name"].as_str().unwrap();
    assert!(server.ok(&["backup", "verify", newest]).contains("sha256"));

    // By hand, to a path, then restored into an empty data directory.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("by-hand.tackbak");
    server.ok(&["backup", "create", "--out", file.to_str().unwrap()]);
    let restored_data = dir.path().join("restored");
    let out = Command::new(BIN)
        .args(["restore", file.to_str().unwrap(), "--data"])
        .arg(&restored_data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let into_used = Command::new(BIN)
        .args(["restore", file.to_str().unwrap(), "--data"])
        .arg(&restored_data)
        .output()
        .unwrap();
    assert!(
        !into_used.status.success(),
        "restore never overwrites a store"
    );

    let restored = TestServer::start_on(BIN, &restored_data);
    for args in [
        &["--json", "project", "list"][..],
        &["--json", "user", "list"],
        &["--json", "issue", "list", "TACK"],
        &["--json", "comment", "list", "TACK-3"],
        &["--json", "activity", "all", "--limit", "1000"],
    ] {
        assert_eq!(server.ok(args), restored.ok(args), "{args:?} differs");
    }

    // The doctor refuses a store in use, and finds the restored one healthy once stopped.
    let doctor = |data: &std::path::Path| {
        Command::new(BIN)
            .args(["doctor", "--data"])
            .arg(data)
            .output()
            .unwrap()
    };
    let busy = doctor(&restored_data);
    assert_eq!(busy.status.code(), Some(1));
    assert!(stderr(&busy).contains("in use"), "{}", stderr(&busy));
    drop(restored);
    let healthy = doctor(&restored_data);
    assert!(healthy.status.success(), "{}", stdout(&healthy));
    assert!(
        stdout(&healthy).contains("checked 20 issues and 1 comments"),
        "{}",
        stdout(&healthy)
    );

    // A damaged backup is refused, with the reason.
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    let damaged = dir.path().join("damaged.tackbak");
    std::fs::write(&damaged, bytes).unwrap();
    let out = Command::new(BIN)
        .args(["restore", damaged.to_str().unwrap(), "--data"])
        .arg(dir.path().join("other"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("checksum"), "{}", stderr(&out));
    let out = server.ctl(&["backup", "verify", damaged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("checksum"), "{}", stderr(&out));
}

#[tokio::test]
async fn sessions_are_listed_and_an_admin_can_end_one() {
    let server = TestServer::start(BIN);
    let token = server.user_with_token("bob", false).await;
    let bob = server.with_token(&token).await;
    bob.request(Request::Whoami).await.unwrap();

    let sessions = server.ok(&["--json", "session", "list"]);
    let sessions: serde_json::Value = serde_json::from_str(&sessions).unwrap();
    let bobs = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["who"] == "@bob")
        .unwrap_or_else(|| panic!("bob's connection is listed: {sessions}"));
    assert_eq!(bobs["kind"], "protocol");
    assert!(bobs["peer"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert!(bobs["bytes_in"].as_u64().unwrap() > 0);

    server.ok(&["session", "kick", &bobs["id"].to_string()]);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match bob.request(Request::Whoami).await {
            Err(err) => {
                assert!(
                    err.to_string().contains("ended") || err.to_string().contains("closed"),
                    "{err}"
                );
                break;
            }
            Ok(_) => assert!(
                Instant::now() < deadline,
                "the kicked connection still answers"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = server.ctl(&["session", "kick", "9999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no live session"), "{}", stderr(&out));
    // Not for people without the admin role.
    let bob = server.with_token(&token).await;
    assert!(matches!(
        bob.request(Request::ListSessions).await,
        Err(tack_protocol::ClientError::Api(
            tack_protocol::ApiError::Forbidden { .. }
        ))
    ));
}

#[tokio::test]
async fn audit_filters_and_account_management() {
    let server = TestServer::start(BIN);
    let alice = server.user_with_token("alice", true).await;
    let bob_token = server.user_with_token("bob", false).await;
    let alice = server.with_token(&alice).await;
    alice
        .request(Request::CreateProject {
            key: "TACK".into(),
            name: "Tack".into(),
            description: String::new(),
        })
        .await
        .unwrap();
    server.ok(&["project", "member", "TACK", "bob", "member"]);
    server.ok(&["user", "create", "carol"]);
    server.ok(&["project", "member", "TACK", "carol", "member"]);
    let mut request = create_issue("TACK", "Bob's work", "");
    if let Request::CreateIssue(new) = &mut request {
        new.assignees = vec!["bob".into()];
    }
    alice.request(request).await.unwrap();

    let audit = server.ok(&[
        "--json",
        "audit",
        "--actor",
        "@alice",
        "--kind",
        "issue_created",
    ]);
    let audit: serde_json::Value = serde_json::from_str(&audit).unwrap();
    assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit[0]["subject"], "TACK-1");
    let by_console = server.ok(&["audit", "--actor", "console", "--kind", "user_created"]);
    assert!(by_console.contains("@carol"), "{by_console}");
    let out = server.ctl(&["audit", "--since", "last tuesday"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(stderr(&out).contains("YYYY-MM-DD"), "{}", stderr(&out));
    let future = server.ok(&["audit", "--since", "2999-01-01"]);
    assert!(future.contains("(none)"), "{future}");

    // Promote, demote, rename; a person may change their own name but not their role.
    server.ok(&[
        "user", "update", "bob", "--role", "admin", "--name", "Robert",
    ]);
    assert!(server.ok(&["user", "list"]).contains("Robert"));
    server.ok(&["user", "update", "bob", "--role", "user"]);
    let out = server.ctl_token(&bob_token, &["user", "update", "bob", "--role", "admin"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("server admin"), "{}", stderr(&out));
    let out = server.ctl_token(&bob_token, &["user", "update", "bob", "--name", "Bobby"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Delete bob: his issue moves to carol, his token stops working.
    server.ok(&["user", "delete", "bob", "--reassign-to", "carol"]);
    let issue = alice
        .request(Request::GetIssue {
            key: "TACK-1".into(),
        })
        .await
        .unwrap();
    let carol = server.ok(&["--json", "user", "list"]);
    let carol: serde_json::Value = serde_json::from_str(&carol).unwrap();
    let carol_id = carol
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["handle"] == "carol")
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    match issue {
        ResponseBody::Issue(issue) => assert_eq!(issue.assignees, vec![carol_id]),
        other => panic!("{other:?}"),
    }
    assert!(!server.ok(&["user", "list"]).contains("@bob"));
    let out = server.ctl_token(&bob_token, &["whoami"]);
    assert_ne!(
        out.status.code(),
        Some(0),
        "a deleted account's token is refused"
    );
    assert!(
        server
            .ok(&["audit", "--kind", "user_deleted"])
            .contains("@bob")
    );
    let out = server.ctl(&["user", "delete", "nobody"]);
    assert!(stderr(&out).contains("no user @nobody"), "{}", stderr(&out));
}
