//! `tack serve` on PostgreSQL, end to end: a real server process on a fresh database of a
//! private PostgreSQL this test process starts; moving a sled installation over with backup +
//! restore; and what a wrong configuration or an unreachable database says.

use std::process::Command;
use std::time::Duration;

use tack_pg_test_cluster::TestCluster;
use tack_tests::{TestServer, stderr, stdout, wait_until};

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");

fn on_postgres(url: &str) -> String {
    format!("[store]\nengine = \"postgres\"\nurl = \"{url}\"\n")
}

#[tokio::test]
async fn a_server_on_postgres_keeps_its_records_in_the_database() {
    let url = TestCluster::shared().create_database().await;
    let server = TestServer::start_with_config(BIN, &on_postgres(&url));
    server.ok(&["project", "create", "TACK", "Tack"]);
    server.ok(&["issue", "create", "TACK", "Kept in PostgreSQL"]);
    server.ok(&["issue", "create", "TACK", "Second"]);
    drop(server);
    // Another node, with a data directory of its own, on the same database.
    let other = TestServer::start_with_config(BIN, &on_postgres(&url));
    let list = other.ok(&["issue", "list", "TACK"]);
    assert!(list.contains("Kept in PostgreSQL"), "{list}");
    assert!(list.contains("TACK-2"), "{list}");
    other.ok(&["issue", "create", "TACK", "Third"]);
    assert!(other.ok(&["issue", "list", "TACK"]).contains("TACK-3"));
}

#[tokio::test]
async fn moving_from_sled_to_postgres_is_backup_and_restore() {
    let mut sled = TestServer::start(BIN);
    sled.ok(&["project", "create", "TACK", "Tack"]);
    for n in 0..5 {
        sled.ok(&["issue", "create", "TACK", &format!("Moved issue {n}")]);
    }
    sled.ok(&["comment", "add", "TACK-2", "A comment that moves too"]);
    let backup = sled.data.parent().unwrap().join("move.tackbak");
    sled.ok(&["backup", "create", "--out", &backup.display().to_string()]);
    assert_eq!(sled.terminate(), Some(0));

    let url = TestCluster::shared().create_database().await;
    let restore = |url: &str| {
        Command::new(BIN)
            .arg("restore")
            .arg(&backup)
            .args(["--store", url])
            .output()
            .unwrap()
    };
    let out = restore(&url);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("5 issues verified"),
        "{}",
        stdout(&out)
    );
    // A second restore would overwrite: refused, and nothing changes.
    let again = restore(&url);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("restore into an empty database"),
        "{}",
        stderr(&again)
    );

    let server = TestServer::start_with_config(BIN, &on_postgres(&url));
    let list = server.ok(&["issue", "list", "TACK"]);
    for n in 0..5 {
        assert!(list.contains(&format!("Moved issue {n}")), "{list}");
    }
    let comments = server.ok(&["comment", "list", "TACK-2"]);
    assert!(comments.contains("A comment that moves too"), "{comments}");
    // New ids continue after the restored ones.
    let created = server.ok(&["issue", "create", "TACK", "After the move"]);
    assert!(created.contains("TACK-6"), "{created}");
    // And back: a backup of the PostgreSQL store restores into sled.
    let back = server.data.parent().unwrap().join("back.tackbak");
    server.ok(&["backup", "create", "--out", &back.display().to_string()]);
    let data = server.data.parent().unwrap().join("sled-again");
    let out = Command::new(BIN)
        .arg("restore")
        .arg(&back)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("6 issues verified"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn a_wrong_store_configuration_says_what_to_set() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tack.toml");
    let serve = |text: &str| {
        std::fs::write(&config, text).unwrap();
        Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&config)
            .arg("--data")
            .arg(dir.path().join("data"))
            .output()
            .unwrap()
    };
    let out = serve("[store]\nengine = \"postgres\"\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("needs store.url"), "{}", stderr(&out));
    let out = serve("[store]\nurl = \"postgres://x@localhost/tack\"\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("set store.engine = \"postgres\""),
        "{}",
        stderr(&out)
    );
    let out = serve("[store]\nengine = \"mysql\"\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("postgres"), "{}", stderr(&out));
}

#[tokio::test]
async fn an_unreachable_database_is_named_without_its_password() {
    let cluster = TestCluster::shared();
    let dir = tempfile::tempdir().unwrap();
    // No database of that name: the server must say so, and never show the password.
    let url = format!(
        "postgres://tack:hunter2-secret@localhost/no_such_database?host={}",
        cluster.socket_dir().display()
    );
    let out = tack_tests::serve_command(BIN, &dir.path().join("data"))
        .env("TACK_STORE__ENGINE", "postgres")
        .env("TACK_STORE__URL", &url)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(said.contains("no_such_database"), "{said}");
    assert!(!said.contains("hunter2"), "the password was shown: {said}");
    assert!(said.contains("tack:***@"), "{said}");
}

#[tokio::test]
async fn a_node_is_unready_while_the_database_is_down_and_recovers_by_itself() {
    // A server of this test's own: stopping the shared one would fail the others.
    let cluster = TestCluster::start();
    let url = cluster.create_database().await;
    let server = TestServer::start_with_config(BIN, &on_postgres(&url));
    server.ok(&["project", "create", "TACK", "Tack"]);
    let readyz = || tack_tests::sinks::http_get(&server.http, "/readyz");
    assert_eq!(readyz().0, 200, "{}", readyz().1);

    cluster.stop();
    wait_until(
        "the node says it is not ready",
        Duration::from_secs(10),
        || readyz().0 == 503,
    );
    let (_, said) = readyz();
    assert!(said.contains("PostgreSQL cannot be reached"), "{said}");
    let refused = server.ctl(&["issue", "create", "TACK", "While the database is down"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("PostgreSQL cannot be reached"),
        "{}",
        stderr(&refused)
    );

    cluster.start_again();
    wait_until("the node is ready again", Duration::from_secs(20), || {
        readyz().0 == 200
    });
    server.ok(&["issue", "create", "TACK", "After the database came back"]);
    let list = server.ok(&["issue", "list", "TACK"]);
    assert!(list.contains("After the database came back"), "{list}");
    assert!(!list.contains("While the database is down"), "{list}");
}

#[tokio::test]
async fn doctor_reads_every_row_back_and_repairs_what_it_finds() {
    let url = TestCluster::shared().create_database().await;
    let server = TestServer::start_with_config(BIN, &on_postgres(&url));
    server.ok(&["project", "create", "TACK", "Tack"]);
    server.ok(&["issue", "create", "TACK", "On the board"]);
    let doctor = |repair: bool| {
        let mut command = Command::new(BIN);
        command.args(["doctor", "--store", &url]);
        if repair {
            command.arg("--repair");
        }
        command.output().unwrap()
    };
    // With the node running.
    let out = doctor(false);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("no problems found"),
        "{}",
        stdout(&out)
    );

    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute("UPDATE issues SET state = state + 100")
        .await
        .unwrap();
    let out = doctor(false);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("do not match the record"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("--repair"), "{}", stdout(&out));
    let out = doctor(true);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let board = server.ok(&["issue", "list", "TACK", "--state", "Todo"]);
    assert!(board.contains("On the board"), "{board}");
}
