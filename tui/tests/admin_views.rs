//! The admin console's tabs drawn at 80×24 and 120×40, and the requests its keys send.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tack_protocol::*;
use tack_tui::app::{App, Msg};
use tack_tui::{ColorSupport, Command, Theme};
use terminput::{Event, KeyCode, KeyEvent};

fn user(id: u64, handle: &str, role: ServerRole, disabled: bool) -> User {
    User {
        id,
        handle: handle.into(),
        display_name: handle.to_uppercase(),
        email: Some(format!("{handle}@example.com")),
        role,
        disabled,
        created_at: 1_764_115_200_000,
    }
}

fn reply(request: &Request) -> Option<ResponseBody> {
    let at = 1_764_115_200_000;
    Some(match request {
        Request::ListUsers => ResponseBody::Users(vec![
            user(1, "alice", ServerRole::Admin, false),
            user(2, "bob", ServerRole::User, true),
        ]),
        Request::ListSessions => ResponseBody::Sessions(vec![SessionInfo {
            id: 7,
            kind: SessionKind::Ssh,
            who: "@bob".into(),
            peer: "192.0.2.10:50122".into(),
            since: at,
            bytes_in: 2_048,
            bytes_out: 1_300_000,
        }]),
        Request::ListJobs { .. } => ResponseBody::Jobs(vec![Job {
            id: 12,
            kind: JobKind::Webhook {
                hook: 1,
                event: Box::new(tack_protocol::Event {
                    seq: 1,
                    activity: Activity {
                        seq: 1,
                        at,
                        actor: Actor::Console,
                        kind: ActivityKind::IssueCreated,
                        project: Some(1),
                        issue: Some(1),
                        comment: None,
                        subject: "TACK-1".into(),
                        changes: vec![],
                    },
                    record: EventRecord::None,
                }),
            },
            state: JobState::Failed,
            attempts: 8,
            run_at: at,
            created_at: at,
            last_error: Some("the endpoint answered 500 Internal Server Error".into()),
            idempotency_key: "webhook-1-1".into(),
        }]),
        Request::Health => ResponseBody::Health(Health {
            version: "0.1.0".into(),
            uptime_secs: 93_784,
            store_bytes: 5 << 20,
            ssh_sessions: 3,
            connections: 2,
            requests_total: 1234,
            errors_total: 5,
            rate_limited_total: 1,
            jobs_queued: 2,
            jobs_running: 1,
            jobs_failed: 1,
            requests_history: (0..60).map(|i| (i * 7) % 23).collect(),
            errors_history: (0..60).map(|i| u32::from(i % 13 == 0)).collect(),
        }),
        Request::ListProjects { .. } => ResponseBody::Projects(vec![]),
        Request::ListIssues { .. } => ResponseBody::Issues(vec![]),
        _ => return None,
    })
}

fn answer(app: &mut App, commands: Vec<Command>) {
    for command in commands {
        if let Command::Send { token, request } = command
            && let Some(body) = reply(&request)
        {
            let more = app.update(Msg::Answer {
                token,
                result: Ok(body),
            });
            answer(app, more);
        }
    }
}

fn console(size: (u16, u16)) -> App {
    let me = Identity {
        actor: Actor::Console,
        user: None,
        role: ServerRole::Admin,
    };
    let mut app = App::new(me, Theme::new(ColorSupport::TrueColor), size);
    let mut first = app.start();
    first.extend(app.open_admin());
    answer(&mut app, first);
    app
}

fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
    app.update(Msg::Input(Event::Key(KeyEvent::new(code))))
}

fn render(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    terminal
        .draw(|frame| tack_tui::view::draw(app, frame))
        .unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn goto(app: &mut App, title: &str) {
    for _ in 0..9 {
        if render(app).contains(&format!("Admin · {title}")) {
            return;
        }
        let commands = press(app, KeyCode::Tab);
        answer(app, commands);
    }
    panic!("no tab {title}");
}

#[test]
fn users_sessions_jobs_and_health_at_both_sizes() {
    for size in [(80, 24), (120, 40)] {
        let mut app = console(size);
        let users = render(&app);
        assert!(
            users.contains("@bob") && users.contains("disabled"),
            "{users}"
        );
        insta::assert_snapshot!(format!("admin_users_{}x{}", size.0, size.1), users);
        goto(&mut app, "Sessions");
        let sessions = render(&app);
        assert!(
            sessions.contains("192.0.2.10:50122") && sessions.contains("1.2 MiB"),
            "{sessions}"
        );
        insta::assert_snapshot!(format!("admin_sessions_{}x{}", size.0, size.1), sessions);
        goto(&mut app, "Jobs");
        let jobs = render(&app);
        assert!(
            jobs.contains("webhook") && jobs.contains("failed"),
            "{jobs}"
        );
        insta::assert_snapshot!(format!("admin_jobs_{}x{}", size.0, size.1), jobs);
        goto(&mut app, "Health");
        let health = render(&app);
        assert!(
            health.contains("up 1d 2h 3m") && health.contains("1 failed"),
            "{health}"
        );
        insta::assert_snapshot!(format!("admin_health_{}x{}", size.0, size.1), health);
    }
}

#[test]
fn the_keys_of_each_tab_send_what_they_say() {
    let mut app = console((100, 30));
    // Users: the cursor on bob (disabled): d enables him, a makes him an admin.
    let moved = press(&mut app, KeyCode::Down);
    answer(&mut app, moved);
    let sent = press(&mut app, KeyCode::Char('d'));
    assert!(
        sent.iter().any(|c| matches!(c, Command::Send { request: Request::SetUserDisabled { handle, disabled: false }, .. } if handle == "bob")),
        "{sent:?}"
    );
    let sent = press(&mut app, KeyCode::Char('a'));
    assert!(
        sent.iter().any(|c| matches!(c, Command::Send { request: Request::UpdateUser { handle, role: Some(ServerRole::Admin), .. }, .. } if handle == "bob")),
        "{sent:?}"
    );
    goto(&mut app, "Sessions");
    let sent = press(&mut app, KeyCode::Char('x'));
    assert!(
        sent.iter().any(|c| matches!(
            c,
            Command::Send {
                request: Request::KickSession { id: 7 },
                ..
            }
        )),
        "{sent:?}"
    );
    goto(&mut app, "Jobs");
    let sent = press(&mut app, KeyCode::Char('t'));
    assert!(
        sent.iter().any(|c| matches!(
            c,
            Command::Send {
                request: Request::RetryJob { id: 12 },
                ..
            }
        )),
        "{sent:?}"
    );
}

#[test]
fn people_without_the_admin_role_are_kept_out() {
    let me = Identity {
        actor: Actor::User(2),
        user: Some(user(2, "bob", ServerRole::User, false)),
        role: ServerRole::User,
    };
    let mut app = App::new(me, Theme::new(ColorSupport::TrueColor), (80, 24));
    let sent = press(&mut app, KeyCode::Char('A'));
    assert!(sent.is_empty());
    assert!(render(&app).contains("for server admins"));
}
