//! `tack admin` in a real pseudo-terminal: create a user, revoke a key and watch that person's
//! SSH session end, read the audit log and quit cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tack_tests::pty::PtyProgram;
use tack_tests::{TestServer, ssh, stderr};

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");
const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn the_console_creates_a_user_and_revoking_a_key_ends_its_session() {
    let server = TestServer::start(BIN);
    let key = ssh::new_key();
    server.ok(&["user", "create", "alice", "--name", "Alice"]);
    server.ok(&["key", "add", &ssh::authorized_line(&key), "--user", "alice"]);

    // Alice is in the app over SSH.
    let mut handle = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut handle, &key).await);
    let mut alice = ssh::Terminal::open(&handle, 100, 30).await;
    alice.wait_for("@alice", WAIT).await;

    let socket = server.socket.to_str().unwrap().to_string();
    let mut console = PtyProgram::spawn(server.bin(), &["admin", "--socket", &socket], 100, 30);
    console.wait_for("Admin · Users", WAIT);
    console.wait_for("@alice", WAIT);

    // A new user, typed into the console.
    console.type_text("n");
    console.wait_for("New user", WAIT);
    console.type_text("carol carol@example.com\r");
    console.wait_for("@carol", WAIT);
    assert!(server.ok(&["user", "list"]).contains("carol@example.com"));

    // The live sessions list shows alice's SSH session.
    for _ in 0..4 {
        console.type_text("\t");
    }
    console.wait_for("Admin · Sessions", WAIT);
    console.wait_for("ssh", WAIT);

    // Revoke alice's key: her session ends at once.
    for _ in 0..3 {
        console.type_text("\x1b[D");
    }
    console.wait_for("Admin · Keys", WAIT);
    console.wait_for("ssh-ed25519", WAIT);
    console.type_text("x");
    console.wait_for("Keys · 0", WAIT);
    assert!(
        alice.wait_closed(WAIT).await,
        "revoking the key ends the session using it"
    );

    // The audit log has it, narrowed by a filter.
    for _ in 0..4 {
        console.type_text("\t");
    }
    console.wait_for("Admin · Audit", WAIT);
    console.type_text("/kind:key_removed\r");
    console.wait_for("key_removed", WAIT);
    console.wait_for("Audit · kind:key_removed", WAIT);
    console.type_text("/kind:exploded\r");
    console.wait_for("not a kind", WAIT);

    console.type_text("q");
    assert_eq!(console.wait_exit(WAIT), Some(0), "q quits with status 0");
}

#[test]
fn without_a_server_the_console_says_how_to_reach_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(BIN)
        .args(["admin", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("tack serve"), "{}", stderr(&out));
}
