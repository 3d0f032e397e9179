//! The SSH front end to end: a russh client with a pty against a real `tack serve`, the screen
//! read with vt100.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tack_protocol::{Request, ResponseBody};
use tack_tests::TestServer;
use tack_tests::ssh::{self, Terminal};

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");
const WAIT: Duration = Duration::from_secs(15);

/// A server with alice (who owns TACK, with two issues assigned to her) and her SSH key.
async fn team() -> (TestServer, russh::keys::PrivateKey) {
    let server = TestServer::start(BIN);
    let key = ssh::new_key();
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        )
    };
    ok(server.ctl(&["user", "create", "alice", "--name", "Alice"]));
    ok(server.ctl(&["key", "add", &ssh::authorized_line(&key), "--user", "alice"]));
    ok(server.ctl(&["project", "create", "TACK", "Tack"]));
    ok(server.ctl(&["project", "member", "TACK", "alice", "owner"]));
    ok(server.ctl(&[
        "issue",
        "create",
        "TACK",
        "Crash on resize",
        "--assignee",
        "alice",
        "--priority",
        "high",
    ]));
    ok(server.ctl(&[
        "issue",
        "create",
        "TACK",
        "Invite flow",
        "--assignee",
        "alice",
    ]));
    (server, key)
}

#[tokio::test]
async fn a_known_key_sees_its_issues_and_moves_a_card_that_another_session_sees() {
    let (server, key) = team().await;
    let mut first = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut first, &key).await);
    let mut one = Terminal::open(&first, 80, 24).await;
    one.wait_for("My open issues · 2", WAIT).await;
    one.wait_for("Crash on resize", WAIT).await;

    let mut second = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut second, &key).await);
    let mut two = Terminal::open(&second, 120, 40).await;
    two.wait_for("Projects · 1", WAIT).await;
    for term in [&one, &two] {
        term.type_text("\t").await;
        term.type_text("\r").await;
    }
    one.wait_for("Todo · 2", WAIT).await;
    two.wait_for("Todo · 2", WAIT).await;

    // Move the first card to In Progress in one session; the other shows it without asking.
    one.type_text("L").await;
    one.wait_for("In Progress · 1", WAIT).await;
    two.wait_for("In Progress · 1", WAIT).await;
    let card_move = two.bytes_received;
    assert!(card_move > 0);

    // Create an issue with the keyboard.
    one.type_text("c").await;
    one.wait_for("New issue in", WAIT).await;
    one.type_text("Typed in the TUI\r").await;
    two.wait_for("Typed in the TUI", WAIT).await;
    let console = server.console().await;
    let listed = console
        .request(Request::ListIssues {
            project: Some("TACK".into()),
            filter: Default::default(),
        })
        .await
        .unwrap();
    let ResponseBody::Issues(issues) = listed else {
        panic!()
    };
    assert!(issues.iter().any(|i| i.title == "Typed in the TUI"));

    // Resize: the board redraws for the new size — its footer moves to the new last row.
    let footer = one.row(23);
    assert!(footer.contains("help"), "{footer}");
    one.resize(100, 30).await;
    one.wait_for_row(29, "help", WAIT).await;
    assert!(!one.row(23).contains("help"), "{}", one.contents());

    // q leaves, and the session ends cleanly.
    one.type_text("q").await;
    assert!(one.wait_closed(WAIT).await, "q did not end the session");
}

#[tokio::test]
async fn an_invite_registers_a_new_key_and_a_wrong_code_is_refused() {
    let server = TestServer::start(BIN);
    let code = server.invite.clone().unwrap();
    let key = ssh::new_key();

    let mut wrong = ssh::connect(&server.ssh).await;
    assert!(
        !ssh::login_with_invite(&mut wrong, &key, "AAAAAA-AAAA-AAAA-AAAA-AAAA-AAAA").await,
        "a wrong code is refused"
    );

    let mut handle = ssh::connect(&server.ssh).await;
    assert!(ssh::login_with_invite(&mut handle, &key, &code).await);
    let mut term = Terminal::open(&handle, 80, 24).await;
    term.wait_for("Welcome to tack", WAIT).await;
    term.type_text("newbie\r").await;
    term.type_text("New Person\r").await;
    term.wait_for("@newbie", WAIT).await;
    term.wait_for("My open issues", WAIT).await;

    // The key is now theirs: the next login needs no code.
    let mut again = ssh::connect(&server.ssh).await;
    assert!(
        ssh::login(&mut again, &key).await,
        "the registered key logs in"
    );
    let (status, out, _) = ssh::exec(&again, "whoami").await;
    assert_eq!(status, 0);
    assert!(out.contains("@newbie"), "{out}");
}

/// `ssh host COMMAND`: a connection of its own, as OpenSSH makes one.
async fn ssh_exec(
    server: &TestServer,
    key: &russh::keys::PrivateKey,
    command: &str,
) -> (u32, String, String) {
    let mut handle = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut handle, key).await);
    ssh::exec(&handle, command).await
}

#[tokio::test]
async fn exec_runs_ctl_commands_as_the_key_owner() {
    let (server, key) = team().await;
    let (status, out, err) = ssh_exec(&server, &key, "issue list TACK --json").await;
    assert_eq!(status, 0, "{err}");
    let issues: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(issues.as_array().unwrap().len(), 2);
    let (status, out, _) = ssh_exec(
        &server,
        &key,
        "issue create TACK 'From ssh exec' --priority urgent",
    )
    .await;
    assert_eq!(status, 0);
    assert!(out.contains("TACK-3  From ssh exec"), "{out}");
    let (status, _, err) = ssh_exec(&server, &key, "user create mallory").await;
    assert_eq!(status, 1, "alice is no admin");
    assert!(err.contains("forbidden"), "{err}");
    let (status, _, err) = ssh_exec(&server, &key, "frobnicate").await;
    assert_eq!(status, 2);
    assert!(err.contains("frobnicate"), "{err}");
    // One session channel per connection.
    let mut handle = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut handle, &key).await);
    let _ = ssh::exec(&handle, "whoami").await;
    assert!(handle.channel_open_session().await.is_err());
}

#[tokio::test]
async fn hostile_sizes_and_requests_are_contained() {
    let (server, key) = team().await;
    let mut handle = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut handle, &key).await);
    // A 65535×65535 pty is clamped, not allocated.
    let mut term = Terminal::open(&handle, 65535, 65535).await;
    term.wait_for("My open issues", WAIT).await;
    // Port forwarding is refused.
    assert!(
        handle
            .channel_open_direct_tcpip("127.0.0.1", 22, "127.0.0.1", 5000)
            .await
            .is_err()
    );
    // An unknown key without an invite gets nothing.
    let mut stranger = ssh::connect(&server.ssh).await;
    assert!(!ssh::login(&mut stranger, &ssh::new_key()).await);
}

#[tokio::test]
async fn escape_sequences_in_user_text_never_reach_another_terminal() {
    let (server, key) = team().await;
    let mut handle = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut handle, &key).await);
    let mut term = Terminal::open(&handle, 120, 40).await;
    term.wait_for("My open issues · 2", WAIT).await;
    term.type_text("\t\r").await;
    term.wait_for("Todo · 2", WAIT).await;
    let before = term.bytes_received;
    // OSC 52 (clipboard), OSC 0 (title), a CSI clear and a bidi override, in a title and a comment.
    let evil = "pwn\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}]0;owned\u{7}\u{1b}[2J\u{202e}txt.exe";
    let console = server.console().await;
    let created = console
        .request(tack_tests::create_issue("TACK", evil, evil))
        .await
        .unwrap();
    let ResponseBody::Issue(issue) = created else {
        panic!()
    };
    console
        .request(Request::AddComment {
            issue: issue.key.clone(),
            body: evil.into(),
        })
        .await
        .unwrap();
    term.wait_for("pwn]52;c;ZXZpbA==]0;owned[2J", WAIT).await;
    let screen = term.contents();
    assert!(!screen.contains('\u{202e}'), "{screen}");
    let stream = &term.raw[before..];
    let contains = |needle: &[u8]| stream.windows(needle.len()).any(|w| w == needle);
    assert!(
        !contains(b"\x1b]52"),
        "no clipboard write reached the terminal"
    );
    assert!(
        !contains(b"\x1b]0;"),
        "no title change reached the terminal"
    );
    assert!(
        !contains("\u{202e}".as_bytes()),
        "no bidi override reached the terminal"
    );
}

#[tokio::test]
async fn idle_unauthenticated_connections_do_not_lock_out_a_real_login() {
    let (server, key) = team().await;
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(tokio::net::TcpStream::connect(&server.ssh).await.unwrap());
    }
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut handle = ssh::connect(&server.ssh).await;
        assert!(ssh::login(&mut handle, &key).await);
        let mut term = Terminal::open(&handle, 80, 24).await;
        term.wait_for("My open issues", WAIT).await;
    })
    .await
    .expect("a real login waited behind idle unauthenticated connections");
    drop(idle);
}

fn code_at(secret: &str, offset_steps: i64) -> String {
    tack_tests::totp_code(secret, offset_steps)
}

#[tokio::test]
async fn two_factor_enrolment_then_login_asks_for_a_code_and_refuses_a_replay() {
    let (server, key) = team().await;
    let console = server.console().await;
    let ResponseBody::TokenCreated { secret: token, .. } = console
        .request(Request::CreateToken {
            user: Some("alice".into()),
            name: "t".into(),
        })
        .await
        .unwrap()
    else {
        panic!()
    };
    let alice = server.with_token(&token).await;
    let ResponseBody::TotpSetup { uri, secret } = alice.request(Request::BeginTotp).await.unwrap()
    else {
        panic!()
    };
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains("alice"),
        "{uri}"
    );
    let wrong = alice
        .request(Request::ConfirmTotp {
            code: "000000".into(),
        })
        .await;
    assert!(wrong.is_err() || code_at(&secret, 0) == "000000");
    alice
        .request(Request::ConfirmTotp {
            code: code_at(&secret, 0),
        })
        .await
        .unwrap();
    assert_eq!(
        alice.request(Request::TotpStatus).await.unwrap(),
        ResponseBody::Totp { enabled: true }
    );

    // The key alone is not enough any more.
    let mut bare = ssh::connect(&server.ssh).await;
    assert!(!ssh::login(&mut bare, &key).await);

    // A wrong code is refused; the next valid code lets alice in; the same code again does not.
    let mut wrong = ssh::connect(&server.ssh).await;
    assert!(!ssh::login_with_code(&mut wrong, &key, "12345").await);
    let next = code_at(&secret, 1);
    let mut handle = ssh::connect(&server.ssh).await;
    assert!(ssh::login_with_code(&mut handle, &key, &next).await);
    let mut term = Terminal::open(&handle, 80, 24).await;
    term.wait_for("My open issues", WAIT).await;
    let mut replay = ssh::connect(&server.ssh).await;
    assert!(
        !ssh::login_with_code(&mut replay, &key, &next).await,
        "a used code is refused"
    );
}

#[tokio::test]
async fn admins_without_two_factor_may_only_enrol_when_the_server_requires_it() {
    let server = TestServer::start_with_config(BIN, "[security]\nrequire_totp_for_admins = true\n");
    let key = ssh::new_key();
    assert!(
        server
            .ctl(&["user", "create", "root", "--admin"])
            .status
            .success()
    );
    assert!(
        server
            .ctl(&["key", "add", &ssh::authorized_line(&key), "--user", "root"])
            .status
            .success()
    );
    let mut handle = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut handle, &key).await);
    let mut term = Terminal::open(&handle, 120, 40).await;
    term.wait_for("scan with your authenticator app", WAIT)
        .await;
    let mut other = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut other, &key).await);
    let (status, _, err) = ssh::exec(&other, "user list").await;
    assert_eq!(status, 1);
    assert!(err.contains("requires two-factor"), "{err}");
}

#[tokio::test]
async fn removing_a_key_or_disabling_the_account_ends_live_sessions() {
    let (server, key) = team().await;
    let mut handle = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut handle, &key).await);
    let mut term = Terminal::open(&handle, 80, 24).await;
    term.wait_for("My open issues", WAIT).await;
    let fingerprint = tack_keys::parse_public_key(&ssh::authorized_line(&key))
        .unwrap()
        .fingerprint;
    assert!(
        server
            .ctl(&["key", "remove", &fingerprint])
            .status
            .success()
    );
    assert!(
        term.wait_closed(WAIT).await,
        "the session of a removed key ends"
    );

    let second = ssh::new_key();
    assert!(
        server
            .ctl(&[
                "key",
                "add",
                &ssh::authorized_line(&second),
                "--user",
                "alice"
            ])
            .status
            .success()
    );
    let mut handle = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut handle, &second).await);
    let mut term = Terminal::open(&handle, 80, 24).await;
    term.wait_for("My open issues", WAIT).await;
    assert!(server.ctl(&["user", "disable", "alice"]).status.success());
    assert!(
        term.wait_closed(WAIT).await,
        "a disabled account's session ends"
    );
    let mut again = ssh::connect(&server.ssh).await;
    assert!(
        !ssh::login(&mut again, &second).await,
        "and it cannot log in"
    );
}

#[tokio::test]
async fn a_new_assignment_reaches_the_inbox_of_an_open_session() {
    let (server, key) = team().await;
    let mut handle = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut handle, &key).await);
    let mut term = Terminal::open(&handle, 100, 30).await;
    term.wait_for("My open issues · 2", WAIT).await;
    assert!(
        server
            .ctl(&[
                "issue",
                "create",
                "TACK",
                "Needs alice",
                "--assignee",
                "alice"
            ])
            .status
            .success()
    );
    term.wait_for("unread (i)", WAIT).await;
    term.type_text("i").await;
    term.wait_for("assigned you TACK-3", WAIT).await;
}

#[tokio::test]
async fn pasted_text_arrives_whole_and_agent_forwarding_is_refused() {
    let (server, key) = team().await;
    let mut handle = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut handle, &key).await);
    let mut term = Terminal::open(&handle, 100, 30).await;
    term.wait_for("Projects · 1", WAIT).await;
    term.type_text("\t\r").await;
    term.wait_for("Todo · 2", WAIT).await;
    term.type_text("c").await;
    term.wait_for("New issue in", WAIT).await;
    // A bracketed paste, escape sequences inside it included, becomes plain text.
    term.type_text("\x1b[200~Pasted \x1b[31mtitle\x1b[201~\r")
        .await;
    term.wait_for("Pasted [31mtitle", WAIT).await;

    // Agent forwarding is refused.
    let mut other = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut other, &key).await);
    let mut channel = other.channel_open_session().await.unwrap();
    channel.agent_forward(true).await.unwrap();
    let reply = tokio::time::timeout(WAIT, channel.wait()).await.unwrap();
    assert!(
        matches!(reply, Some(russh::ChannelMsg::Failure)),
        "{reply:?}"
    );
}

#[tokio::test]
async fn a_terminal_that_stops_reading_gets_the_newest_screen_not_a_backlog() {
    let (server, key) = team().await;
    let console = server.console().await;
    for n in 0..150 {
        let title = format!("Card {n} with a title long enough to fill its column");
        console
            .request(tack_tests::create_issue("TACK", &title, ""))
            .await
            .unwrap();
    }
    // A stock OpenSSH client at the largest size, on the board. A terminal that stops reading
    // stops OpenSSH granting the server window, while its resizes still go out.
    let (mut client, _key_dir) = ssh::stock_client(&server.ssh, &key, 500, 200);
    client.wait_for("Projects · 1", WAIT);
    client.type_text("\t\r");
    client.wait_for("Todo · 152", WAIT);
    // One full redraw at this size, as the server sends it for every resize it draws.
    let mut frame = 0;
    for n in 0..6 {
        let before_resize = client.bytes_received;
        client.resize(if n % 2 == 0 { 499 } else { 500 }, 200);
        client.settle(Duration::from_millis(150));
        frame = frame.max(client.bytes_received - before_resize);
    }
    // The terminal stops reading and keeps resizing: every resize asks for a whole new screen.
    client.pause_reading(true);
    const RESIZES: usize = 2000;
    for n in 0..RESIZES {
        client.resize(if n % 2 == 0 { 499 } else { 500 }, 200);
        // OpenSSH sends one window change per SIGWINCH it sees; give it time to see each.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The last size is one no screen before it had.
    client.resize(321, 99);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // What a server keeps for a terminal that does not read, the terminal gets once it reads
    // again: a backlog of every frame, or only what was in flight (OpenSSH's window, the
    // sockets) and the newest screen.
    const BOUND: usize = 32 * 1024 * 1024;
    let would_send = frame * RESIZES;
    eprintln!(
        "one frame {} KiB; {RESIZES} resizes ask for {} MiB",
        frame / 1024,
        would_send / 1024 / 1024
    );
    assert!(
        would_send > 4 * BOUND,
        "the test must ask for far more output ({} MiB) than the bound it checks",
        would_send / 1024 / 1024
    );
    client.pause_reading(false);
    let caught_up = client.settle_at_most(Duration::from_secs(2), BOUND);
    eprintln!("caught up with {} MiB", caught_up / 1024 / 1024);
    assert!(
        caught_up < BOUND,
        "the terminal was sent more than {} MiB of old frames once it read again",
        BOUND / 1024 / 1024
    );
    // The screen it catches up to is drawn at the newest size: the board's bottom border sits
    // on the row above the key hints and spans all 321 columns.
    client.wait_for("Todo · 152", WAIT);
    let border = client.row(97);
    assert!(
        border.starts_with('╰') && border.ends_with('╯') && border.chars().count() == 321,
        "the board is not drawn at 321×99; the screen:\n{}",
        client.contents()
    );
}
