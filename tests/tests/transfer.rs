//! Export and import: a JSON round trip between two servers is exact, CSV with a column
//! mapping, a GitHub issue list with placeholders for unknown people, re-runs that update
//! rather than duplicate, and malformed input refused with the line or path at fault.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tack_tests::{TestServer, stderr, stdout};

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");
const GITHUB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/github-issues.json");

fn without_time(json: &str) -> serde_json::Value {
    let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
    value.as_object_mut().unwrap().remove("exported_at");
    value
}

#[test]
fn a_json_export_imports_into_an_empty_server_exactly_and_again_without_duplicates() {
    let source = TestServer::start(BIN);
    source.ok(&[
        "project",
        "create",
        "TACK",
        "Tack",
        "--description",
        "the tracker",
    ]);
    source.ok(&[
        "user",
        "create",
        "alice",
        "--name",
        "Alice",
        "--email",
        "alice@example.com",
    ]);
    source.ok(&["project", "member", "TACK", "alice", "owner"]);
    source.ok(&[
        "project",
        "state",
        "add",
        "TACK",
        "Review",
        "--category",
        "started",
    ]);
    source.ok(&[
        "issue",
        "create",
        "TACK",
        "Crash on resize",
        "--assignee",
        "alice",
        "--label",
        "bug",
        "--priority",
        "high",
        "--due",
        "2026-12-01",
        "--estimate",
        "3",
        "--description",
        "multi\nline",
    ]);
    source.ok(&["issue", "create", "TACK", "In review", "--state", "Review"]);
    source.ok(&["issue", "create", "TACK", "Finished"]);
    source.ok(&["issue", "close", "TACK-3"]);
    source.ok(&["issue", "delete", "TACK-2"]);
    source.ok(&[
        "comment",
        "add",
        "TACK-1",
        "Reproduced, with **markdown** and ünïcode",
    ]);
    source.ok(&["issue", "rank", "TACK-3", "--before", "TACK-1"]);
    let exported = source.ok(&["export", "--format", "json"]);

    let target = TestServer::start(BIN);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tack.json");
    std::fs::write(&file, &exported).unwrap();
    let first = target.ok(&["import", "json", file.to_str().unwrap()]);
    assert!(first.contains("2 created, 0 updated"), "{first}");
    let again = target.ok(&["export"]);
    assert_eq!(
        without_time(&exported),
        without_time(&again),
        "the round trip is exact"
    );
    assert!(
        again.contains("\"number\": 3"),
        "numbers are kept (TACK-2 was deleted)"
    );

    let second = target.ok(&["import", "json", file.to_str().unwrap()]);
    assert!(second.contains("0 created, 2 updated"), "{second}");
    assert_eq!(
        without_time(&exported),
        without_time(&target.ok(&["export"]))
    );
    // A new issue continues after the imported numbers.
    assert!(
        target
            .ok(&["issue", "create", "TACK", "Next"])
            .contains("TACK-4")
    );

    // CSV export has a row per issue.
    let csv = source.ok(&["export", "--format", "csv", "--project", "TACK"]);
    assert_eq!(
        csv.lines().next().unwrap().split(',').next(),
        Some("project")
    );
    assert!(
        csv.contains("TACK-1,1,Crash on resize,Todo,high,alice,bug,3,2026-12-01"),
        "{csv}"
    );

    // Damaged files are refused with where.
    let broken = dir.path().join("broken.json");
    std::fs::write(
        &broken,
        exported.replacen("\"priority\": \"high\"", "\"priority\": \"hgih\"", 1),
    )
    .unwrap();
    let out = target.ctl(&["import", "json", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("projects[0].issues[0].priority") && err.contains("line"),
        "{err}"
    );
}

#[test]
fn a_github_issue_list_imports_with_placeholders_that_merge_into_real_people() {
    let server = TestServer::start(BIN);
    server.ok(&["project", "create", "GH", "From GitHub"]);
    let report = server.ok(&["import", "github", GITHUB, "--project", "GH"]);
    assert!(report.contains("2 created"), "{report}");
    assert!(
        report.contains("@hubot") && report.contains("@octocat"),
        "{report}"
    );
    let issues = server.ok(&["--json", "issue", "list", "GH"]);
    let issues: serde_json::Value = serde_json::from_str(&issues).unwrap();
    assert_eq!(issues.as_array().unwrap().len(), 2);
    let crash = server.ok(&["issue", "show", "GH-1"]);
    assert!(
        crash.contains("Crash on resize") && crash.contains("bug"),
        "{crash}"
    );
    let comments = server.ok(&["comment", "list", "GH-1"]);
    assert!(
        comments.contains("Reproduced on 80x24.") && comments.contains("@hubot"),
        "{comments}"
    );
    assert!(
        server
            .ok(&["issue", "list", "GH", "--closed"])
            .contains("Document the keys")
    );
    // The placeholder cannot sign in; merged, its work belongs to the real person.
    assert!(server.ok(&["user", "list"]).contains("disabled"));
    server.ok(&["user", "create", "octo", "--name", "Octo Cat"]);
    server.ok(&["user", "merge", "octocat", "--into", "octo"]);
    assert!(server.ok(&["issue", "show", "GH-1"]).contains("@octo"));
    assert!(!server.ok(&["user", "list"]).contains("@octocat"));
    // Re-running updates the same issues.
    let again = server.ok(&["import", "github", GITHUB, "--project", "GH"]);
    assert!(again.contains("0 created, 2 updated"), "{again}");
}

#[test]
fn csv_imports_through_a_column_mapping_and_bad_rows_name_their_line() {
    let server = TestServer::start(BIN);
    server.ok(&["project", "create", "TACK", "Tack"]);
    server.ok(&["user", "create", "alice"]);
    server.ok(&["project", "member", "TACK", "alice", "member"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("issues.csv");
    std::fs::write(
        &file,
        "Ref,Summary,Status,Owner,Tags,Prio\nA-1,Crash on resize,In Progress,alice,\"bug ui\",high\nA-2,Write docs,Todo,,docs,low\n",
    )
    .unwrap();
    let map = "id=Ref,title=Summary,state=Status,assignees=Owner,labels=Tags,priority=Prio";
    let out = server.ok(&[
        "import",
        "csv",
        file.to_str().unwrap(),
        "--project",
        "TACK",
        "--map",
        map,
    ]);
    assert!(out.contains("2 created"), "{out}");
    let listed = server.ok(&["issue", "list", "TACK"]);
    assert!(
        listed.contains("In Progress") && listed.contains("@alice") && listed.contains("bug,ui"),
        "{listed}"
    );
    let again = server.ok(&[
        "import",
        "csv",
        file.to_str().unwrap(),
        "--project",
        "TACK",
        "--map",
        map,
    ]);
    assert!(again.contains("0 created, 2 updated"), "{again}");

    std::fs::write(
        &file,
        "Ref,Summary,Status\nB-1,Fine,Todo\nB-2,Bad state,Nowhere\n",
    )
    .unwrap();
    let out = server.ctl(&[
        "import",
        "csv",
        file.to_str().unwrap(),
        "--project",
        "TACK",
        "--map",
        "id=Ref,title=Summary,state=Status",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("line 3") && err.contains("no state 'Nowhere'"),
        "{err}"
    );
    assert!(
        !server.ok(&["issue", "list", "TACK"]).contains("Fine"),
        "a refused batch changes nothing"
    );
    let out = server.ctl(&[
        "import",
        "csv",
        file.to_str().unwrap(),
        "--project",
        "TACK",
        "--map",
        "title=Name",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("its columns are Ref, Summary, Status"),
        "{}",
        stderr(&out)
    );
    let _ = stdout(&out);
}
