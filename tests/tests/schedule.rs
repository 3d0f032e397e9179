//! Scheduled work firing by itself, with no one asking: a cron backup with its retention and
//! the daily digest at `digest_hour`; and the hourly due-soon reminders, run at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tack_tests::sinks::SmtpSink;
use tack_tests::{TestServer, wait_until};

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");

#[test]
fn a_minute_cron_takes_a_backup_by_itself_and_keeps_only_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let backups = data.join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    // Three old scheduled backups: with retention 2, only the newest of them survives the next.
    let old = [
        "tack-20200101-000000.tackbak",
        "tack-20200102-000000.tackbak",
        "tack-20200103-000000.tackbak",
    ];
    for name in old {
        std::fs::write(backups.join(name), b"old").unwrap();
    }
    let server = TestServer::start_on_with_config(
        BIN,
        &data,
        "[backup]\nschedule = \"* * * * *\"\nretention = 2\n",
    );
    server.ok(&["project", "create", "TACK", "Tack"]);
    let names = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&backups)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tackbak"))
            .collect();
        names.sort();
        names
    };
    wait_until("a scheduled backup", Duration::from_secs(90), || {
        names().iter().any(|n| !old.contains(&n.as_str()))
    });
    wait_until(
        "the old backups to be pruned",
        Duration::from_secs(10),
        || names().len() == 2,
    );
    let kept = names();
    assert_eq!(kept[0], old[2], "the newest old one is kept: {kept:?}");
    let verified = server.ok(&["backup", "verify", &kept[1]]);
    assert!(
        verified.contains("sha256") || verified.contains("records"),
        "{verified}"
    );
}

#[test]
fn the_digest_goes_out_by_itself_and_due_soon_reminders_reach_the_inbox() {
    let sink = SmtpSink::start();
    let server = TestServer::start_with_config(
        BIN,
        &format!(
            "{}[notifications]\ndigest_hour = 0\ndue_soon_hours = 48\n[jobs]\nretry_base_ms = 100\n",
            sink.config()
        ),
    );
    server.ok(&["project", "create", "TACK", "Tack"]);
    server.ok(&["user", "create", "carol", "--email", "carol@example.com"]);
    server.ok(&["user", "create", "alice"]);
    for who in ["carol", "alice"] {
        server.ok(&["project", "member", "TACK", who, "member"]);
    }
    server.ok(&["user", "update", "carol", "--email-notifications", "digest"]);
    server.ok(&[
        "issue",
        "create",
        "TACK",
        "For the digest",
        "--assignee",
        "carol",
    ]);
    server.ok(&[
        "issue",
        "create",
        "TACK",
        "Due tomorrow",
        "--assignee",
        "alice",
        "--due",
        &(chrono::Utc::now() + chrono::Duration::days(1))
            .format("%Y-%m-%d")
            .to_string(),
    ]);
    // No one runs a job: the scheduler's next tick (every 30 s) sends the digest.
    let mails = sink.wait_for(1, Duration::from_secs(60));
    assert_eq!(mails[0].to, ["<carol@example.com>"]);
    assert!(mails[0].data.contains("daily digest"), "{}", mails[0].data);
    assert!(
        mails[0].data.contains("For the digest"),
        "{}",
        mails[0].data
    );
    // Reminders run once an hour (the first ran at start, before the issue existed): run the
    // hour's job now.
    server.ok(&["job", "run", "due_reminders"]);
    let alice = server.token_for("alice");
    wait_until("alice's due-soon reminder", Duration::from_secs(20), || {
        let out = server.ctl_token(&alice, &["inbox", "--json"]);
        String::from_utf8_lossy(&out.stdout).contains("due_soon")
    });
}
