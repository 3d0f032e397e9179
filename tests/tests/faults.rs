//! Faults without silent loss, on real small disks and real damaged files: a full disk, a flush
//! that fails, a store that lost the end of its log or is damaged mid-file, a broken search
//! index, restores that fail half-way or land beside an old index, an answer larger than a
//! frame, and a second server on the same directory. Each ends in a working server or a clear
//! refusal that says what to do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use tack_protocol::{Client, Request, ResponseBody};
use tack_tests::disk::{SmallDisk, flip_bytes};
use tack_tests::sinks::http_get;
use tack_tests::{TestServer, create_issue, stderr, stdout, wait_until};

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");

async fn issues_in(console: &Client, project: &str) -> Vec<tack_protocol::Issue> {
    match console
        .request(Request::ListIssues {
            project: Some(project.into()),
            filter: Default::default(),
        })
        .await
        .unwrap()
    {
        ResponseBody::Issues(issues) => issues,
        other => panic!("{other:?}"),
    }
}

async fn create_many(console: &Client, project: &str, count: usize) {
    for n in 0..count {
        console
            .request(create_issue(project, &format!("Issue {n}"), ""))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_disk_below_its_reserve_refuses_writes_up_front_and_they_resume_when_space_returns() {
    let disk = SmallDisk::mount(160);
    let data = disk.path().join("data");
    let mut server = TestServer::start_on_with_config(BIN, &data, "[store]\nmin_free_mb = 12\n");
    server.ok(&["project", "create", "TACK", "Tack"]);
    server.ok(&["issue", "create", "TACK", "Before the disk filled"]);
    let filler = disk.fill_leaving(6 * 1024 * 1024);

    let refused = server.ctl(&["issue", "create", "TACK", "While the disk is full"]);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    assert!(
        stderr(&refused).contains("disk full"),
        "{}",
        stderr(&refused)
    );
    assert!(
        stderr(&refused).contains("MiB free"),
        "{}",
        stderr(&refused)
    );
    // Reads go on, and readiness says why writes do not.
    let shown = server.ok(&["issue", "show", "TACK-1"]);
    assert!(shown.contains("Before the disk filled"), "{shown}");
    let (status, body) = http_get(&server.http, "/readyz");
    assert_eq!(status, 503);
    assert!(body.contains("disk full"), "{body}");

    // Space returns: writes resume by themselves, and the refused write never existed.
    std::fs::remove_file(filler).unwrap();
    server.ok(&["issue", "create", "TACK", "After space returned"]);
    assert_eq!(http_get(&server.http, "/readyz").0, 200);
    let console = server.console().await;
    let titles: Vec<String> = issues_in(&console, "TACK")
        .await
        .into_iter()
        .map(|i| format!("{} {}", i.key, i.title))
        .collect();
    assert_eq!(
        titles,
        [
            "TACK-1 Before the disk filled",
            "TACK-2 After space returned"
        ]
    );
    drop(console);
    assert!(server.terminate().is_some());
}

#[tokio::test]
async fn a_disk_that_fills_without_a_reserve_fails_the_store_loudly_and_loses_nothing_acked() {
    let disk = SmallDisk::mount(64);
    let data = disk.path().join("data");
    let mut server = TestServer::start_on_with_config(
        BIN,
        &data,
        "[store]\nmin_free_mb = 0\nflush_timeout_secs = 3\n",
    );
    server.ok(&["project", "create", "TACK", "Tack"]);
    let console = server.console().await;
    let filler = disk.fill_leaving(256 * 1024);
    // Write until the disk refuses; every acknowledged write must survive.
    let mut acked = Vec::new();
    let mut refused = None;
    for n in 0..100_000 {
        let title = format!("Issue {n} {}", "x".repeat(180));
        match console
            .request(create_issue("TACK", &title, &"d".repeat(4000)))
            .await
        {
            Ok(ResponseBody::Issue(issue)) => acked.push(issue.key),
            Ok(other) => panic!("{other:?}"),
            Err(err) => {
                refused = Some(err.to_string());
                break;
            }
        }
    }
    let refused = refused.expect("a full disk refuses a write");
    assert!(!acked.is_empty());
    // The server does not hang on: it says why and exits for its supervisor.
    let code = server.wait_exit(Duration::from_secs(30));
    assert_eq!(
        code,
        Some(75),
        "a failed store must end the process (after: {refused})"
    );
    drop(console);
    std::fs::remove_file(filler).unwrap();
    let restarted = TestServer::start_on(BIN, &data);
    let console = restarted.console().await;
    let keys: Vec<String> = issues_in(&console, "TACK")
        .await
        .into_iter()
        .map(|i| i.key)
        .collect();
    for key in &acked {
        assert!(keys.contains(key), "{key} was acknowledged and is lost");
    }
    assert!(
        keys.len() <= acked.len() + 1,
        "{} issues after restart, {} acknowledged",
        keys.len(),
        acked.len()
    );
}

#[tokio::test]
async fn an_unfinished_snapshot_left_by_a_failed_start_is_cleaned_at_open() {
    let mut server = TestServer::start(BIN);
    server.ok(&["project", "create", "TACK", "Tack"]);
    server.ok(&["issue", "create", "TACK", "Survives"]);
    assert_eq!(server.terminate(), Some(0));
    std::fs::write(
        server.data.join("store/snap.0000000000001234.generating"),
        b"",
    )
    .unwrap();
    server.restart();
    assert!(server.ok(&["issue", "show", "TACK-1"]).contains("Survives"));
    assert!(
        !server
            .data
            .join("store/snap.0000000000001234.generating")
            .exists()
    );
}

/// `tack doctor --data DATA`, run to its end.
fn doctor(data: &Path) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(["doctor", "--data"])
        .arg(data)
        .output()
        .unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test]
async fn a_store_whose_log_ends_before_the_acknowledged_writes_is_refused() {
    let mut server = TestServer::start(BIN);
    server.ok(&["project", "create", "TACK", "Tack"]);
    let console = server.console().await;
    create_many(&console, "TACK", 10).await;
    drop(console);
    assert_eq!(server.terminate(), Some(0));
    let older = server.data.parent().unwrap().join("older-store");
    copy_dir(&server.data.join("store"), &older);
    server.restart();
    let console = server.console().await;
    create_many(&console, "TACK", 40).await;
    drop(console);
    assert_eq!(server.terminate(), Some(0));
    // The log now ends where the older copy did: 40 acknowledged issues are missing.
    std::fs::remove_dir_all(server.data.join("store")).unwrap();
    std::fs::rename(&older, server.data.join("store")).unwrap();

    let out = tack_tests::serve_command(BIN, &server.data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("acknowledged"), "{err}");
    assert!(err.contains("tack restore"), "{err}");
    let doctor = doctor(&server.data);
    assert_ne!(doctor.status.code(), Some(0));
    assert!(
        stdout(&doctor).contains("acknowledged"),
        "{}",
        stdout(&doctor)
    );
    assert!(!stdout(&doctor).contains("no problems found"));

    // What is left can be copied into a new store, knowingly, and served from there.
    let salvaged = server.data.parent().unwrap().join("salvaged");
    let out = std::process::Command::new(BIN)
        .args(["doctor", "--salvage", "--data"])
        .arg(&server.data)
        .arg("--out")
        .arg(&salvaged)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("10 issues"), "{}", stdout(&out));
    let rescued = TestServer::start_on(BIN, &salvaged);
    let console = rescued.console().await;
    assert_eq!(issues_in(&console, "TACK").await.len(), 10);
    console
        .request(create_issue("TACK", "After the salvage", ""))
        .await
        .unwrap();
}

#[tokio::test]
async fn flipped_bytes_in_the_store_end_in_a_message_never_a_panic_or_a_silent_loss() {
    let mut server = TestServer::start(BIN);
    server.ok(&["project", "create", "TACK", "Tack"]);
    let console = server.console().await;
    create_many(&console, "TACK", 300).await;
    drop(console);
    assert_eq!(server.terminate(), Some(0));
    let db = server.data.join("store/db");
    let size = std::fs::metadata(&db).unwrap().len();
    for at in [size / 3, size / 2, size - size / 8, size - 64] {
        flip_bytes(&db, at, 16);
    }
    let out = tack_tests::serve_command(BIN, &server.data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = out.id();
    // Either the store is refused with the way out, or it opens whole.
    let refused = tokio::task::spawn_blocking(move || out.wait_with_output().unwrap());
    let opened = tokio::time::timeout(Duration::from_secs(20), refused).await;
    match opened {
        Ok(output) => {
            let output = output.unwrap();
            assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
            let err = stderr(&output);
            assert!(err.contains("tack restore"), "{err}");
        }
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
            server.restart();
            let console = server.console().await;
            assert_eq!(issues_in(&console, "TACK").await.len(), 300);
        }
    }
    // doctor too: a message, not a panic.
    let doctor = doctor(&server.data);
    let text = format!("{}{}", stdout(&doctor), stderr(&doctor));
    if doctor.status.code() != Some(0) {
        assert!(
            text.contains("restore") || text.contains("problem"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_corrupt_search_index_is_reported_by_doctor_and_rebuilt_by_serve() {
    let mut server = TestServer::start(BIN);
    server.ok(&["project", "create", "TACK", "Tack"]);
    server.ok(&["issue", "create", "TACK", "Zebra crossing"]);
    wait_until("the index has the issue", Duration::from_secs(10), || {
        server.ok(&["search", "zebra"]).contains("TACK-1")
    });
    assert_eq!(server.terminate(), Some(0));
    let index = server.data.join("search");
    for entry in std::fs::read_dir(&index).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".store") || name.ends_with(".idx") || name.ends_with(".term") {
            std::fs::write(&path, b"garbage").unwrap();
        }
    }
    let doctor = doctor(&server.data);
    assert!(
        stdout(&doctor).contains("search index"),
        "{}{}",
        stdout(&doctor),
        stderr(&doctor)
    );
    assert!(stdout(&doctor).contains("--reindex"), "{}", stdout(&doctor));
    server.restart();
    wait_until(
        "the rebuilt index finds the issue",
        Duration::from_secs(20),
        || server.ok(&["search", "zebra"]).contains("TACK-1"),
    );
}

#[tokio::test]
async fn a_restore_onto_a_full_disk_leaves_nothing_that_looks_like_a_store() {
    let mut server = TestServer::start(BIN);
    server.ok(&["project", "create", "TACK", "Tack"]);
    let console = server.console().await;
    for n in 0..300 {
        console
            .request(create_issue(
                "TACK",
                &format!("Issue {n}"),
                &"words ".repeat(2000),
            ))
            .await
            .unwrap();
    }
    drop(console);
    let backup = server.data.parent().unwrap().join("full.tackbak");
    server.ok(&["backup", "create", "--out", &backup.display().to_string()]);
    assert_eq!(server.terminate(), Some(0));

    let disk = SmallDisk::mount(4);
    let data = disk.path().join("data");
    let out = std::process::Command::new(BIN)
        .arg("restore")
        .arg(&backup)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("nothing was restored"),
        "{}",
        stderr(&out)
    );
    assert!(
        !data.join("store").exists(),
        "a partial store was left behind"
    );
    assert!(!data.join("store.restoring").exists());
}

#[tokio::test]
async fn a_restore_beside_an_old_search_index_finds_new_issues() {
    let mut server = TestServer::start(BIN);
    server.ok(&["project", "create", "TACK", "Tack"]);
    server.ok(&["issue", "create", "TACK", "Kept in the backup"]);
    let backup = server.data.parent().unwrap().join("one.tackbak");
    server.ok(&["backup", "create", "--out", &backup.display().to_string()]);
    let console = server.console().await;
    create_many(&console, "TACK", 30).await;
    drop(console);
    wait_until("the index caught up", Duration::from_secs(10), || {
        server.ok(&["search", "issue"]).contains("TACK-")
    });
    assert_eq!(server.terminate(), Some(0));
    std::fs::remove_dir_all(server.data.join("store")).unwrap();
    let out = std::process::Command::new(BIN)
        .arg("restore")
        .arg(&backup)
        .arg("--data")
        .arg(&server.data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    server.restart();
    server.ok(&["issue", "create", "TACK", "Quokka sighting"]);
    wait_until("the new issue is found", Duration::from_secs(20), || {
        server.ok(&["search", "quokka"]).contains("TACK-2")
    });
}

#[tokio::test]
async fn a_search_answer_larger_than_a_frame_is_cut_and_the_connection_stays() {
    let server = TestServer::start(BIN);
    server.ok(&["project", "create", "TACK", "Tack"]);
    let console = server.console().await;
    for n in 0..40 {
        console
            .request(create_issue(
                "TACK",
                &format!("Zebra {n}"),
                &format!("zebra {}", "stripes ".repeat(7000)),
            ))
            .await
            .unwrap();
    }
    wait_until("the index has every issue", Duration::from_secs(20), || {
        server
            .ok(&["search", "zebra", "--limit", "100", "--json"])
            .matches("\"key\"")
            .count()
            > 0
    });
    let hits = console
        .request(Request::Search {
            text: "zebra".into(),
            project: None,
            limit: 100,
        })
        .await
        .expect("the answer is cut to the frame, not dropped");
    let ResponseBody::SearchHits(hits) = hits else {
        panic!()
    };
    assert!(!hits.is_empty() && hits.len() < 40, "{} hits", hits.len());
    assert!(
        console.request(Request::Whoami).await.is_ok(),
        "the connection stays"
    );
}

#[tokio::test]
async fn a_second_server_on_the_same_directory_names_the_first() {
    let server = TestServer::start(BIN);
    let out = tack_tests::serve_command(BIN, &server.data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "another tack serve is using {}",
            server.data.display()
        )),
        "{err}"
    );
    assert!(err.contains(&format!("(pid {})", server.pid())), "{err}");
    assert!(!err.contains("Os {"), "{err}");
}
