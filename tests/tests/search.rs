//! Finding issues: the query language through ctl and ssh, full-text search with ranking and
//! permissions, and the index catching up by itself after kill -9 or a reindex.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tack_tests::{TestServer, ssh, stderr, stdout, wait_until};

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");
const WAIT: Duration = Duration::from_secs(20);

fn keys_of(json: &str, path: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.pointer(path).unwrap().as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn queries_and_search_find_issues_the_caller_may_read_best_first() {
    let server = TestServer::start(BIN);
    let key = ssh::new_key();
    server.ok(&["user", "create", "alice"]);
    server.ok(&["key", "add", &ssh::authorized_line(&key), "--user", "alice"]);
    let token = server.token_for("alice");
    server.ok(&["project", "create", "TACK", "Tack"]);
    server.ok(&["project", "create", "SECRET", "Secret"]);
    server.ok(&["project", "member", "TACK", "alice", "member"]);
    server.ok(&[
        "issue",
        "create",
        "TACK",
        "Crash on resize",
        "--priority",
        "high",
        "--label",
        "bug",
        "--assignee",
        "alice",
    ]);
    server.ok(&[
        "issue",
        "create",
        "TACK",
        "Inbox shows mentions",
        "--priority",
        "low",
        "--due",
        "2020-01-01",
    ]);
    server.ok(&[
        "comment",
        "add",
        "TACK-2",
        "it might crash when the inbox is empty",
    ]);
    server.ok(&[
        "issue",
        "create",
        "TACK",
        "Keyboard shortcuts",
        "--priority",
        "urgent",
    ]);
    server.ok(&["issue", "create", "SECRET", "Crash in the secret project"]);

    // SECRET-1 was written last: once the console (which reads everything) finds it, everything
    // before it is indexed.
    wait_until("the index to catch up", WAIT, || {
        server.ok(&["search", "crash"]).contains("SECRET-1")
    });
    // Best first: the title match above the comment match; SECRET only for who may read it.
    let hits = stdout(&server.ctl_token(&token, &["--json", "search", "crash"]));
    assert_eq!(keys_of(&hits, "/issue/key"), ["TACK-1", "TACK-2"], "{hits}");
    let hits: serde_json::Value = serde_json::from_str(&hits).unwrap();
    assert_eq!(hits[1]["field"], "comment");
    assert!(hits[0]["highlights"].as_array().unwrap().len() == 1);
    // Typos and prefixes.
    assert!(stdout(&server.ctl_token(&token, &["search", "crsh"])).contains("TACK-1"));
    assert!(stdout(&server.ctl_token(&token, &["search", "keyb"])).contains("TACK-3"));
    assert!(stdout(&server.ctl_token(&token, &["search", "zebra"])).contains("(none)"));

    // The query language, across every project alice can read.
    let list = |query: &str| {
        let out = server.ctl_token(&token, &["--json", "issue", "list", "--query", query]);
        assert!(out.status.success(), "{query}: {}", stderr(&out));
        keys_of(&stdout(&out), "/key")
    };
    assert_eq!(list("crash"), ["TACK-1", "TACK-2"]);
    assert_eq!(list("is:open assignee:@me"), ["TACK-1"]);
    assert_eq!(
        list("priority:>=high sort:priority-desc"),
        ["TACK-3", "TACK-1"]
    );
    let page = server.ctl_token(
        &token,
        &[
            "--json",
            "issue",
            "list",
            "--query",
            "sort:priority-asc",
            "--limit",
            "2",
        ],
    );
    assert_eq!(
        keys_of(&stdout(&page), "/key"),
        ["TACK-2", "TACK-1"],
        "the first page of a sorted query"
    );
    assert_eq!(list("is:overdue"), ["TACK-2"]);
    assert_eq!(
        list("(priority:urgent OR label:bug) -assignee:alice"),
        ["TACK-3"]
    );
    server.ok(&["comment", "add", "TACK-3", "@alice can you look?"]);
    assert_eq!(list("commenter:console"), ["TACK-2", "TACK-3"]);
    assert_eq!(list("mentions:@me"), ["TACK-3"]);
    let out = server.ctl_token(&token, &["issue", "list", "--query", "priority:hgh"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("did you mean 'high'"),
        "{}",
        stderr(&out)
    );

    // The same through ssh.
    let mut handle = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut handle, &key).await);
    let (status, out, err) =
        ssh::exec(&handle, "issue list --query 'label:bug is:open' --json").await;
    assert_eq!(status, 0, "{err}");
    assert_eq!(keys_of(&out, "/key"), ["TACK-1"]);
    // One session channel per connection: a second command is a second connection.
    let mut handle = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut handle, &key).await);
    let (status, out, _) = ssh::exec(&handle, "search inbox").await;
    assert_eq!(status, 0);
    assert!(out.contains("TACK-2") && !out.contains("SECRET"), "{out}");
}

#[test]
fn the_index_catches_up_after_kill_9_and_after_a_reindex() {
    let mut server = TestServer::start(BIN);
    server.ok(&["project", "create", "TACK", "Tack"]);
    for n in 0..30 {
        server.ok(&["issue", "create", "TACK", &format!("Survivor number{n}")]);
    }
    // Killed at once: some of those may not be indexed yet.
    server.kill9();
    server.restart();
    wait_until("every issue to be searchable again", WAIT, || {
        let out = server.ok(&["--json", "search", "survivor", "--limit", "100"]);
        serde_json::from_str::<serde_json::Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
            == 30
    });
    assert!(server.ok(&["search", "number29"]).contains("TACK-30"));

    let data = server.data.clone();
    server.terminate();
    let out = std::process::Command::new(BIN)
        .args(["doctor", "--reindex", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!data.join("search").exists());
    server.restart();
    wait_until("the rebuilt index to have everything", WAIT, || {
        server.ok(&["search", "number7"]).contains("TACK-8")
    });
}

#[test]
fn saved_views_are_personal_or_shared_and_show_what_their_query_finds() {
    let server = TestServer::start(BIN);
    let token_of = |handle: &str| {
        server.ok(&["user", "create", handle]);
        server.ok(&["project", "member", "TACK", handle, "member"]);
        server.token_for(handle)
    };
    server.ok(&["project", "create", "TACK", "Tack"]);
    let alice = token_of("alice");
    let bob = token_of("bob");
    server.ok(&[
        "issue",
        "create",
        "TACK",
        "Crash on resize",
        "--label",
        "bug",
        "--priority",
        "high",
    ]);
    server.ok(&["issue", "create", "TACK", "Typo in help", "--label", "bug"]);
    server.ok(&["issue", "create", "TACK", "New theme"]);
    let ok = |token: &str, args: &[&str]| {
        let out = server.ctl_token(token, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    ok(
        &alice,
        &[
            "view",
            "save",
            "Bugs",
            "--project",
            "TACK",
            "-q",
            "label:bug sort:priority-desc",
            "--layout",
            "board",
            "--shared",
        ],
    );
    ok(
        &alice,
        &["view", "save", "Mine", "-q", "assignee:@me is:open"],
    );
    let shown = ok(&bob, &["--json", "view", "show", "bugs"]);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let keys: Vec<&str> = shown["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["TACK-1", "TACK-2"],
        "a shared view, its query and its sort"
    );
    let bobs = ok(&bob, &["view", "list"]);
    assert!(
        bobs.contains("Bugs") && !bobs.contains("Mine"),
        "personal views stay personal: {bobs}"
    );
    // Saving the same name replaces it; bad input is refused with the reason.
    ok(&alice, &["view", "save", "Mine", "-q", "assignee:@me"]);
    assert_eq!(ok(&alice, &["view", "list"]).matches("Mine").count(), 1);
    let out = server.ctl_token(&alice, &["view", "save", "Broken", "-q", "prioirty:high"]);
    assert!(
        stderr(&out).contains("did you mean 'priority'"),
        "{}",
        stderr(&out)
    );
    let out = server.ctl_token(
        &alice,
        &["view", "save", "Wide", "-q", "is:open", "--shared"],
    );
    assert!(
        stderr(&out).contains("belongs to a project"),
        "{}",
        stderr(&out)
    );
    let out = server.ctl_token(&bob, &["view", "delete", "Bugs"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "only its author or a project owner deletes it"
    );
    ok(&alice, &["view", "delete", "Bugs"]);
    assert!(!ok(&bob, &["view", "list"]).contains("Bugs"));
}

#[test]
fn insights_count_created_closed_cycle_time_wip_and_burndown() {
    let server = TestServer::start(BIN);
    server.ok(&["project", "create", "TACK", "Tack"]);
    for n in 1..=6 {
        let label = if n % 2 == 0 { "bug" } else { "feature" };
        server.ok(&[
            "issue",
            "create",
            "TACK",
            &format!("Issue {n}"),
            "--label",
            label,
        ]);
    }
    for n in 1..=3 {
        server.ok(&["issue", "move", &format!("TACK-{n}"), "In Progress"]);
    }
    server.ok(&["issue", "move", "TACK-1", "Done"]);
    server.ok(&["issue", "move", "TACK-2", "Done"]);
    let json = server.ok(&[
        "--json",
        "insights",
        "TACK",
        "--weeks",
        "4",
        "--query",
        "label:bug",
    ]);
    let i: serde_json::Value = serde_json::from_str(&json).unwrap();
    let weeks = i["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 4);
    assert_eq!(weeks[3]["created"], 6);
    assert_eq!(weeks[3]["closed"], 2);
    assert_eq!(i["cycle_time"][0]["label"], "< 1 day");
    assert_eq!(i["cycle_time"][0]["count"], 2);
    let wip: Vec<(String, u64)> = i["work_in_progress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["label"].as_str().unwrap().to_string(),
                b["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        wip,
        [
            ("Backlog".into(), 0),
            ("Todo".into(), 3),
            ("In Progress".into(), 1)
        ]
    );
    let burndown = i["burndown"].as_array().unwrap();
    assert_eq!(
        burndown.last().unwrap()["open"],
        2,
        "three bugs, TACK-2 done"
    );
    assert_eq!(
        burndown.first().unwrap()["open"],
        0,
        "none existed four weeks ago"
    );
    let text = server.ok(&["insights", "TACK"]);
    assert!(
        text.contains("CYCLE TIME") && text.contains("burndown"),
        "{text}"
    );
}
