//! The `tack ctl` tour from the README, against a real server process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tack_tests::{TestServer, stderr, stdout};

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");
const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJE63XVhB31WXd9FelFdgpLQjc0BVXVaM2eBW5BGPJIb alice@example";

#[test]
fn the_readme_tour_works_end_to_end() {
    let server = TestServer::start(BIN);
    let code = server
        .invite
        .clone()
        .expect("first start prints an admin invite");

    // The first admin redeems the invite with their SSH key and gets an API token.
    let out = server.ctl(&[
        "invite",
        "redeem",
        &code,
        "--handle",
        "alice",
        "--name",
        "Alice",
        "--key",
        KEY,
        "--token-name",
        "laptop",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let token = stdout(&out)
        .lines()
        .find(|l| l.starts_with("tack_"))
        .unwrap()
        .to_string();
    let again = server.ctl(&[
        "invite", "redeem", &code, "--handle", "mallory", "--name", "M",
    ]);
    assert_eq!(again.status.code(), Some(1), "an invite works once");
    assert!(
        stderr(&again).contains("already used"),
        "{}",
        stderr(&again)
    );

    let out = server.ctl(&["user", "create", "bob", "--name", "Bob"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = server.ctl_token(&token, &["whoami"]);
    assert!(stdout(&out).contains("@alice"), "{}", stdout(&out));

    let out = server.ctl_token(&token, &["project", "create", "TACK", "Tack"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("In Progress"),
        "new projects get the default workflow"
    );
    assert!(
        server
            .ctl_token(&token, &["project", "member", "TACK", "bob", "member"])
            .status
            .success()
    );

    let out = server.ctl_token(
        &token,
        &[
            "issue",
            "create",
            "TACK",
            "Crash on resize",
            "--priority",
            "high",
            "--label",
            "bug",
            "--assignee",
            "bob",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("TACK-1  Crash on resize"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("state:     Todo"),
        "new issues land in Todo: {}",
        stdout(&out)
    );

    let out = server.ctl_token(&token, &["--json", "issue", "list", "TACK"]);
    let issues: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(issues[0]["key"], "TACK-1");
    assert_eq!(issues[0]["priority"], "high");
    assert_eq!(issues[0]["labels"][0], "bug");

    let out = server.ctl_token(&token, &["issue", "move", "TACK-1", "in progress"]);
    assert!(
        stdout(&out).contains("state:     In Progress"),
        "state names match case-insensitively: {}",
        stdout(&out)
    );
    let out = server.ctl_token(
        &token,
        &[
            "issue",
            "update",
            "TACK-1",
            "--title",
            "Crash on window resize",
            "--version",
            "2",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let stale = server.ctl_token(
        &token,
        &[
            "issue",
            "update",
            "TACK-1",
            "--title",
            "Lost edit",
            "--version",
            "2",
        ],
    );
    assert_eq!(stale.status.code(), Some(1));
    assert!(
        stderr(&stale).contains("conflict") && stderr(&stale).contains("version 3"),
        "{}",
        stderr(&stale)
    );
    let out = server.ctl_token(&token, &["issue", "show", "TACK-1"]);
    assert!(stdout(&out).contains("Crash on window resize") && !stdout(&out).contains("Lost edit"));

    assert!(
        server
            .ctl_token(&token, &["comment", "add", "TACK-1", "Looking into it"])
            .status
            .success()
    );
    let out = server.ctl_token(&token, &["comment", "list", "TACK-1"]);
    assert!(
        stdout(&out).contains("Looking into it") && stdout(&out).contains("@alice"),
        "{}",
        stdout(&out)
    );

    let out = server.ctl_token(&token, &["activity", "issue", "TACK-1"]);
    let history = stdout(&out);
    assert!(history.contains("state: Todo → In Progress"), "{history}");
    assert!(
        history.contains("title: Crash on resize → Crash on window resize"),
        "{history}"
    );

    let out = server.ctl_token(&token, &["issue", "list", "--assignee", "bob", "--open"]);
    assert!(stdout(&out).contains("TACK-1"), "{}", stdout(&out));
    assert!(
        server
            .ctl_token(&token, &["issue", "close", "TACK-1"])
            .status
            .success()
    );
    let out = server.ctl_token(&token, &["issue", "list", "TACK", "--open"]);
    assert!(
        !stdout(&out).contains("TACK-1"),
        "closed issues leave the open list"
    );

    // Invalid fields name the field and the rule; exit code 1.
    let out = server.ctl_token(&token, &["issue", "create", "TACK", "  "]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("invalid title"), "{}", stderr(&out));
    let out = server.ctl_token(
        &token,
        &["issue", "create", "TACK", "x", "--due", "2026-02-30"],
    );
    assert!(
        stderr(&out).contains("invalid due") && stderr(&out).contains("YYYY-MM-DD"),
        "{}",
        stderr(&out)
    );
    let out = server.ctl_token(&token, &["project", "create", "tack", "lower"]);
    assert!(stderr(&out).contains("invalid key"), "{}", stderr(&out));

    // Usage errors exit 2; unreachable servers exit 3; bad tokens exit 1.
    let out = server.ctl_token(&token, &["issue", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = std::process::Command::new(server.bin())
        .args(["ctl", "--addr", "127.0.0.1:1", "whoami"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let out = server.ctl_token(
        "tack_0000000000000000_0000000000000000000000000000000000000000000000000000000000000000",
        &["whoami"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not valid"), "{}", stderr(&out));

    // A revoked token stops working.
    let id = token.split('_').nth(1).unwrap();
    assert!(server.ctl(&["token", "revoke", id]).status.success());
    let out = server.ctl_token(&token, &["whoami"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("revoked"), "{}", stderr(&out));
}

#[test]
fn text_is_cleaned_of_terminal_escapes() {
    let server = TestServer::start(BIN);
    assert!(
        server
            .ctl(&["project", "create", "ESC", "Escapes"])
            .status
            .success()
    );
    let out = server.ctl(&[
        "--json",
        "issue",
        "create",
        "ESC",
        "ok\u{1b}[2J\u{7}title\u{9b}",
    ]);
    let issue: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(issue["title"], "ok[2Jtitle");
}

#[test]
fn sigterm_stops_cleanly_and_keeps_every_acknowledged_write() {
    let mut server = TestServer::start(BIN);
    assert!(
        server
            .ctl(&["project", "create", "KEEP", "Keep"])
            .status
            .success()
    );
    for n in 0..5 {
        assert!(
            server
                .ctl(&["issue", "create", "KEEP", &format!("issue {n}")])
                .status
                .success()
        );
    }
    assert_eq!(server.terminate(), Some(0), "SIGTERM exits 0");
    server.restart();
    assert!(
        server.invite.is_none(),
        "the first-start invite is printed only once"
    );
    let out = server.ctl(&["--json", "issue", "list", "KEEP"]);
    let issues: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(issues.as_array().unwrap().len(), 5);
}
