//! Every screen drawn at 80×24 and 120×40 with ratatui's `TestBackend`, from a fixed app state.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tack_protocol::*;
use tack_tui::app::{App, Msg};
use tack_tui::{ColorSupport, Theme};
use terminput::{Event, KeyCode, KeyEvent};

fn user(id: u64, handle: &str) -> User {
    User {
        id,
        handle: handle.into(),
        display_name: handle.to_uppercase(),
        email: None,
        role: ServerRole::User,
        disabled: false,
        created_at: 0,
    }
}

fn project() -> Project {
    let states = [
        ("Backlog", StateCategory::Backlog),
        ("Todo", StateCategory::Unstarted),
        ("In Progress", StateCategory::Started),
        ("Done", StateCategory::Done),
        ("Canceled", StateCategory::Canceled),
    ];
    Project {
        id: 1,
        key: "TACK".into(),
        name: "Tack".into(),
        description: String::new(),
        states: states
            .iter()
            .enumerate()
            .map(|(i, (n, c))| WorkflowState {
                id: i as u32 + 1,
                name: (*n).into(),
                category: *c,
            })
            .collect(),
        next_state_id: 6,
        members: vec![Member {
            user: 1,
            role: ProjectRole::Owner,
        }],
        next_issue_number: 5,
        archived: false,
        created_at: 0,
        updated_at: 0,
    }
}

fn issue(
    number: u64,
    state: u32,
    title: &str,
    priority: Priority,
    assignees: Vec<u64>,
    labels: &[&str],
) -> Issue {
    Issue {
        id: number,
        project: 1,
        number,
        key: format!("TACK-{number}"),
        title: title.into(),
        description: if number == 1 {
            "Resizing the window while a board is open crashes the session.\n\nSteps: open a board, resize.".into()
        } else {
            String::new()
        },
        state,
        priority,
        assignees,
        labels: labels.iter().map(|l| l.to_string()).collect(),
        estimate: Some(3),
        due: Some("2026-12-01".into()),
        parent: None,
        blocked_by: vec![],
        rank: format!("i{number}"),
        created_at: 0,
        updated_at: 0,
        closed_at: None,
        creator: Actor::User(1),
        version: 2,
    }
}

fn answer(
    app: &mut App,
    commands: Vec<tack_tui::Command>,
    reply: fn(&Request) -> Option<ResponseBody>,
) {
    for command in commands {
        if let tack_tui::Command::Send { token, request } = command
            && let Some(body) = reply(&request)
        {
            let more = app.update(Msg::Answer {
                token,
                result: Ok(body),
            });
            answer(app, more, reply);
        }
    }
}

fn issues() -> Vec<Issue> {
    vec![
        issue(1, 2, "Crash on resize", Priority::High, vec![1], &["bug"]),
        issue(
            2,
            3,
            "Board columns collapse when narrow",
            Priority::Medium,
            vec![1, 2],
            &["ui"],
        ),
        issue(3, 2, "Inbox shows mentions", Priority::Low, vec![2], &[]),
        issue(4, 4, "Invite codes", Priority::None, vec![], &["auth"]),
    ]
}

fn reply(request: &Request) -> Option<ResponseBody> {
    Some(match request {
        Request::ListProjects { .. } => ResponseBody::Projects(vec![project()]),
        Request::ListUsers => ResponseBody::Users(vec![user(1, "alice"), user(2, "bob")]),
        Request::ListIssues { project: None, .. } => ResponseBody::Issues(
            issues()
                .into_iter()
                .filter(|i| i.assignees.contains(&1))
                .collect(),
        ),
        Request::ListIssues { .. } => ResponseBody::Issues(issues()),
        Request::GetIssue { .. } => ResponseBody::Issue(issues().remove(0)),
        Request::ListKeys { .. } => ResponseBody::Keys(vec![SshKey {
            fingerprint: "SHA256:gjTUxDiYsS5kbTCtWJk4sOi+SqJeTvAA6xI19YyDGtY".into(),
            owner: 1,
            algorithm: "ssh-ed25519".into(),
            comment: "alice@laptop".into(),
            public_key: String::new(),
            added_at: 0,
            last_used_at: None,
        }]),
        Request::ListTokens { .. } => ResponseBody::Tokens(vec![ApiToken { id: "0123456789abcdef".into(), user: 1, name: "ci".into(), created_at: 0, last_used_at: None, revoked: false }]),
        Request::TotpStatus => ResponseBody::Totp { enabled: false },
        Request::Search { text, .. } => ResponseBody::SearchHits(vec![SearchHit {
            issue: issues().remove(0),
            score: 1234,
            field: "description".into(),
            snippet: format!("Resizing the window while a board is open {text}es the session."),
            highlights: vec![(42, 47)],
        }]),
        Request::Insights { query, .. } => ResponseBody::Insights(Insights {
            project: "TACK".into(),
            weeks: (0..12).map(|w| WeekCount { week: format!("2026-09-{:02}", w + 1), created: (w * 3 % 7) as u32, closed: (w * 2 % 5) as u32 }).collect(),
            cycle_time: ["< 1 day", "1–2 days", "2–4 days"].iter().enumerate().map(|(n, l)| Bucket { label: (*l).into(), count: n as u32 + 1 }).collect(),
            cycle_time_median_hours: Some(36),
            work_in_progress: vec![Bucket { label: "Todo".into(), count: 2 }, Bucket { label: "In Progress".into(), count: 1 }],
            burndown_query: query.clone().unwrap_or_default(),
            burndown: (0..30).map(|d| DayCount { day: format!("2026-11-{:02}", d + 1), open: 30 - d }).collect(),
        }),
        Request::ListViews { .. } => ResponseBody::Views(vec![
            SavedView { id: 1, name: "Bugs".into(), owner: 1, project: Some(1), project_key: Some("TACK".into()), shared: false, query: "label:bug".into(), layout: Layout::Board, created_at: 0 },
            SavedView { id: 2, name: "Urgent anywhere".into(), owner: 2, project: None, project_key: None, shared: true, query: "priority:urgent".into(), layout: Layout::List, created_at: 0 },
        ]),
        Request::SaveView { name, query, .. } => ResponseBody::Views(vec![SavedView { id: 3, name: name.clone(), owner: 1, project: Some(1), project_key: Some("TACK".into()), shared: false, query: query.clone(), layout: Layout::Board, created_at: 0 }]),
        Request::ShowView { .. } => ResponseBody::View {
            view: SavedView { id: 2, name: "Urgent anywhere".into(), owner: 2, project: None, project_key: None, shared: true, query: "priority:urgent".into(), layout: Layout::List, created_at: 0 },
            issues: vec![issues().remove(3)],
        },
        Request::IssueActivity { .. } => ResponseBody::Activity(vec![Activity {
            seq: 4,
            at: 0,
            actor: Actor::User(2),
            kind: ActivityKind::IssueUpdated,
            project: Some(1),
            issue: Some(1),
            comment: None,
            subject: "TACK-1".into(),
            changes: vec![FieldChange { field: "state".into(), before: "Backlog".into(), after: "Todo".into() }],
        }]),
        Request::ListNotifications { .. } => ResponseBody::Notifications(vec![
            Notification { id: 9, user: 1, issue: 3, issue_key: "TACK-3".into(), kind: NotificationKind::Mentioned, actor: Actor::User(2), at: 0, read: false },
            Notification { id: 5, user: 1, issue: 1, issue_key: "TACK-1".into(), kind: NotificationKind::Assigned, actor: Actor::User(2), at: 0, read: true },
        ]),
        Request::BeginTotp => ResponseBody::TotpSetup { uri: "otpauth://totp/tack:alice?secret=JBSWY3DPEHPK3PXP&issuer=tack".into(), secret: "JBSWY3DPEHPK3PXP".into() },
        Request::ConfirmTotp { .. } => ResponseBody::Totp { enabled: true },
        Request::CreateToken { name, .. } => ResponseBody::TokenCreated {
            token: ApiToken { id: "fedcba9876543210".into(), user: 1, name: name.clone(), created_at: 0, last_used_at: None, revoked: false },
            secret: "tack_fedcba9876543210_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff".into(),
        },
        Request::ListComments { .. } => ResponseBody::Comments(vec![Comment {
            id: 1,
            issue: 1,
            project: 1,
            author: Actor::User(2),
            body: "Reproduced at 80×24.".into(),
            created_at: 0,
            edited_at: None,
        }]),
        _ => return None,
    })
}

fn app(size: (u16, u16), support: ColorSupport) -> App {
    let me = Identity {
        actor: Actor::User(1),
        user: Some(user(1, "alice")),
        role: ServerRole::User,
    };
    let mut app = App::new(me, Theme::new(support), size);
    let start = app.start();
    answer(&mut app, start, reply);
    app
}

fn key(app: &mut App, code: KeyCode) {
    let commands = app.update(Msg::Input(Event::Key(KeyEvent::new(code))));
    answer(app, commands, reply);
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

#[test]
fn every_screen_at_both_sizes() {
    for size in [(80, 24), (120, 40)] {
        let mut app = app(size, ColorSupport::TrueColor);
        let home = render(&app);
        assert!(
            home.contains("My open issues · 2")
                && home.contains("TACK-1")
                && home.contains("Crash on resize"),
            "{home}"
        );
        assert!(home.contains("Projects · 1"), "{home}");
        insta::assert_snapshot!(format!("home_{}x{}", size.0, size.1), home);

        key(&mut app, KeyCode::Tab);
        key(&mut app, KeyCode::Enter);
        let board = render(&app);
        assert!(
            board.contains("Todo · 2") && board.contains("In Progress · 1"),
            "{board}"
        );
        assert!(
            board.contains("TACK-3") && board.contains("@alice"),
            "{board}"
        );
        insta::assert_snapshot!(format!("board_{}x{}", size.0, size.1), board);

        key(&mut app, KeyCode::Char('v'));
        let list = render(&app);
        assert!(
            list.contains("4 issues · sorted by state") && list.contains("Invite codes"),
            "{list}"
        );
        insta::assert_snapshot!(format!("list_{}x{}", size.0, size.1), list);
        key(&mut app, KeyCode::Char('/'));
        for c in "label:bug".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        key(&mut app, KeyCode::Enter);
        let filtered = render(&app);
        assert!(
            filtered.contains("1 issue ·")
                && filtered.contains("Crash on resize")
                && !filtered.contains("Invite codes"),
            "{filtered}"
        );
        key(&mut app, KeyCode::Char(':'));
        for c in "board".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        let palette = render(&app);
        assert!(
            palette.contains("Commands") && palette.contains("show the issues as a board"),
            "{palette}"
        );
        insta::assert_snapshot!(format!("palette_{}x{}", size.0, size.1), palette);
        key(&mut app, KeyCode::Esc);
        key(&mut app, KeyCode::Char('/'));
        for _ in 0.."label:bug".len() {
            key(&mut app, KeyCode::Backspace);
        }
        key(&mut app, KeyCode::Enter);
        key(&mut app, KeyCode::Char('v'));

        key(&mut app, KeyCode::Enter);
        let detail = render(&app);
        assert!(
            detail.contains("Crash on resize")
                && detail.contains("Reproduced at 80×24.")
                && detail.contains("high"),
            "{detail}"
        );
        insta::assert_snapshot!(format!("detail_{}x{}", size.0, size.1), detail);

        key(&mut app, KeyCode::Char('?'));
        let help = render(&app);
        assert!(
            help.contains("On an issue")
                && help.contains("edit the description")
                && help.contains("command palette"),
            "{help}"
        );
        insta::assert_snapshot!(format!("help_{}x{}", size.0, size.1), help);
    }
}

#[test]
fn no_color_draws_the_same_text() {
    let colour = app((80, 24), ColorSupport::TrueColor);
    let mono = app((80, 24), ColorSupport::None);
    assert_eq!(render(&colour), render(&mono));
}

#[test]
fn a_small_terminal_gets_a_notice() {
    let app = app((50, 15), ColorSupport::Basic);
    let screen = render(&app);
    assert!(screen.contains("terminal too small"), "{screen}");
}

#[test]
fn a_bulk_state_change_from_the_list_sends_one_move_per_selected_issue() {
    let mut app = app((120, 40), ColorSupport::Basic);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('v'));
    key(&mut app, KeyCode::Char(' '));
    key(&mut app, KeyCode::Char(' '));
    key(&mut app, KeyCode::Char('s'));
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    let commands = app.update(Msg::Input(Event::Key(KeyEvent::new(KeyCode::Enter))));
    let moves: Vec<&Request> = commands
        .iter()
        .filter_map(|c| match c {
            tack_tui::Command::Send {
                request: request @ Request::MoveIssue { .. },
                ..
            } => Some(request),
            _ => None,
        })
        .collect();
    assert_eq!(moves.len(), 2, "{commands:?}");
}

#[test]
fn moving_a_card_asks_the_server_and_follows_it() {
    let mut app = app((120, 40), ColorSupport::Basic);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Enter);
    let commands = app.update(Msg::Input(Event::Key(KeyEvent::new(KeyCode::Char('L')))));
    assert!(
        commands.iter().any(|c| matches!(c, tack_tui::Command::Send { request: Request::MoveIssue { key, state }, .. } if key == "TACK-1" && state == "In Progress")),
        "{commands:?}"
    );
}

#[test]
fn hostile_text_never_reaches_the_screen_as_escapes() {
    let mut app = app((80, 24), ColorSupport::Basic);
    let mut evil = issue(
        9,
        2,
        "x\u{1b}]52;c;ZXZpbA==\u{7}\u{202e}gnp.exe",
        Priority::None,
        vec![1],
        &[],
    );
    evil.version = 9;
    app.update(Msg::Server(Event9::event(evil)));
    let screen = render(&app);
    assert!(
        !screen.contains('\u{1b}') && !screen.contains('\u{202e}'),
        "{screen:?}"
    );
    assert!(screen.contains("x]52;c;ZXZpbA==gnp.exe"), "{screen}");
}

struct Event9;
impl Event9 {
    fn event(issue: Issue) -> tack_protocol::Event {
        tack_protocol::Event {
            seq: 99,
            activity: Activity {
                seq: 99,
                at: 0,
                actor: Actor::User(2),
                kind: ActivityKind::IssueCreated,
                project: Some(1),
                issue: Some(issue.id),
                comment: None,
                subject: issue.key.clone(),
                changes: vec![],
            },
            record: EventRecord::Issue(issue),
        }
    }
}

#[test]
fn an_edit_that_loses_a_race_asks_and_keeps_a_copy() {
    let mut app = app((120, 40), ColorSupport::Basic);
    key(&mut app, KeyCode::Enter); // open TACK-1 from home
    key(&mut app, KeyCode::Char('d'));
    assert!(render(&app).contains("Description of TACK-1"));
    for c in " More detail.".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let commands = app.update(Msg::Input(Event::Key(
        KeyEvent::new(KeyCode::Char('s')).modifiers(terminput::KeyModifiers::CTRL),
    )));
    let token = match &commands[..] {
        [
            tack_tui::Command::Send {
                token,
                request:
                    Request::UpdateIssue {
                        version: 2, patch, ..
                    },
            },
        ] => {
            assert!(
                patch
                    .description
                    .as_deref()
                    .is_some_and(|d| d.ends_with("More detail."))
            );
            *token
        }
        other => panic!("{other:?}"),
    };
    let mut theirs = issues().remove(0);
    theirs.version = 3;
    theirs.description = "Someone else's rewrite".into();
    app.update(Msg::Answer {
        token,
        result: Err(ApiError::Conflict {
            current: Box::new(theirs),
        }),
    });
    let screen = render(&app);
    assert!(
        screen.contains("changed while you were editing it")
            && screen.contains("keep yours as a comment"),
        "{screen}"
    );
    insta::assert_snapshot!("conflict_120x40", screen);
    let commands = app.update(Msg::Input(Event::Key(KeyEvent::new(KeyCode::Char('k')))));
    assert!(
        matches!(&commands[..], [tack_tui::Command::Send { request: Request::AddComment { issue, body }, .. }] if issue == "TACK-1" && body.contains("More detail.")),
        "{commands:?}"
    );
    assert!(
        render(&app).contains("Someone else's rewrite"),
        "their version is shown"
    );
}

#[test]
fn the_mouse_selects_and_drags_a_card_to_another_column() {
    use terminput::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = app((120, 40), ColorSupport::Basic);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Enter);
    render(&app);
    let spot = |app: &App, wanted: tack_tui::app::Hit| {
        let hits = app.hits.borrow();
        let (rect, _) = hits
            .iter()
            .find(|(_, hit)| *hit == wanted)
            .copied()
            .unwrap();
        (rect.x + 1, rect.y + 1)
    };
    let mouse = |kind, (column, row): (u16, u16)| {
        Msg::Input(Event::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: terminput::KeyModifiers::NONE,
        }))
    };
    let card = spot(&app, tack_tui::app::Hit::Card { column: 1, row: 1 });
    app.update(mouse(MouseEventKind::Down(MouseButton::Left), card));
    assert_eq!(app.selected_card().map(|i| i.key.as_str()), Some("TACK-3"));
    let target = spot(&app, tack_tui::app::Hit::Column(2));
    let commands = app.update(mouse(MouseEventKind::Up(MouseButton::Left), target));
    assert!(
        matches!(&commands[..], [tack_tui::Command::Send { request: Request::MoveIssue { key, state }, .. }] if key == "TACK-3" && state == "In Progress"),
        "{commands:?}"
    );
}

#[test]
fn the_profile_lists_keys_and_tokens_and_shows_a_new_token_once() {
    for size in [(80, 24), (120, 40)] {
        let mut app = app(size, ColorSupport::TrueColor);
        key(&mut app, KeyCode::Char('P'));
        let profile = render(&app);
        assert!(
            profile.contains("SSH keys · 1")
                && profile.contains("alice@laptop")
                && profile.contains("API tokens · 1"),
            "{profile}"
        );
        insta::assert_snapshot!(format!("profile_{}x{}", size.0, size.1), profile);
        key(&mut app, KeyCode::Char('t'));
        for c in "laptop".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        key(&mut app, KeyCode::Enter);
        let shown = render(&app);
        assert!(
            shown.contains("shown only now") && shown.contains("tack_fedcba9876543210_"),
            "{shown}"
        );
        key(&mut app, KeyCode::Esc);
        assert!(
            !render(&app).contains("tack_fedcba9876543210_0011"),
            "the secret is gone once closed"
        );
    }
}

#[test]
fn two_factor_enrolment_shows_a_qr_code_and_confirms() {
    let mut app = app((120, 40), ColorSupport::TrueColor);
    key(&mut app, KeyCode::Char('P'));
    assert!(render(&app).contains("two-factor: off"));
    key(&mut app, KeyCode::Char('T'));
    let screen = render(&app);
    assert!(
        screen.contains("scan with your authenticator app")
            && screen.contains("JBSWY3DPEHPK3PXP")
            && screen.contains('█'),
        "{screen}"
    );
    for c in "123456".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    assert!(render(&app).contains("two-factor: on"));
}

#[test]
fn the_inbox_shows_unread_first_and_opening_one_marks_it_read() {
    for size in [(80, 24), (120, 40)] {
        let mut app = app(size, ColorSupport::TrueColor);
        assert!(render(&app).contains("1 unread (i)"), "the header tells");
        key(&mut app, KeyCode::Char('i'));
        let inbox = render(&app);
        assert!(
            inbox.contains("Inbox · 1 unread") && inbox.contains("@bob mentioned you on TACK-3"),
            "{inbox}"
        );
        insta::assert_snapshot!(format!("inbox_{}x{}", size.0, size.1), inbox);
        let commands = app.update(Msg::Input(Event::Key(KeyEvent::new(KeyCode::Enter))));
        assert!(
            commands.iter().any(|c| matches!(c, tack_tui::Command::Send { request: Request::MarkNotificationsRead { ids }, .. } if ids == &vec![9])),
            "{commands:?}"
        );
        assert_eq!(app.unread(), 0);
    }
}

#[test]
fn labels_and_due_dates_are_edited_from_the_issue() {
    let mut app = app((120, 40), ColorSupport::Basic);
    key(&mut app, KeyCode::Enter);
    // The label picker lists the labels in use; toggling one that is set removes it.
    key(&mut app, KeyCode::Char('l'));
    assert!(render(&app).contains("+ new label") && render(&app).contains("✓ bug"));
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    let commands = app.update(Msg::Input(Event::Key(KeyEvent::new(KeyCode::Enter))));
    assert!(
        matches!(&commands[..], [tack_tui::Command::Send { request: Request::LabelIssue { key, add, remove }, .. }] if key == "TACK-1" && add.is_empty() && remove == &vec!["bug".to_string()]),
        "{commands:?}"
    );
    // "+ new label…" asks for words: they add, -words remove.
    key(&mut app, KeyCode::Char('l'));
    key(&mut app, KeyCode::Enter);
    for c in "ui -bug".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let commands = app.update(Msg::Input(Event::Key(KeyEvent::new(KeyCode::Enter))));
    assert!(
        matches!(&commands[..], [tack_tui::Command::Send { request: Request::LabelIssue { key, add, remove }, .. }] if key == "TACK-1" && add == &vec!["ui".to_string()] && remove == &vec!["bug".to_string()]),
        "{commands:?}"
    );
    key(&mut app, KeyCode::Char('u'));
    assert!(render(&app).contains("tomorrow") && render(&app).contains("no due date"));
    for _ in 0..7 {
        key(&mut app, KeyCode::Down);
    }
    let commands = app.update(Msg::Input(Event::Key(KeyEvent::new(KeyCode::Enter))));
    assert!(
        matches!(&commands[..], [tack_tui::Command::Send { request: Request::UpdateIssue { patch, .. }, .. }] if patch.due == Some(None)),
        "an empty due date clears it: {commands:?}"
    );
}

#[test]
fn c_creates_an_issue_from_anywhere_in_the_project_in_view() {
    let mut app = app((120, 40), ColorSupport::Basic);
    key(&mut app, KeyCode::Enter); // TACK-1
    key(&mut app, KeyCode::Char('c'));
    assert!(render(&app).contains("New issue in TACK"));
    for ch in "From the issue".chars() {
        key(&mut app, KeyCode::Char(ch));
    }
    let commands = app.update(Msg::Input(Event::Key(KeyEvent::new(KeyCode::Enter))));
    assert!(
        matches!(&commands[..], [tack_tui::Command::Send { request: Request::CreateIssue(new), .. }] if new.project == "TACK" && new.state.is_none() && new.title == "From the issue"),
        "{commands:?}"
    );
}

#[test]
fn w_watches_the_open_issue_and_e_asks_for_an_email_first() {
    let mut app = app((80, 24), ColorSupport::TrueColor);
    key(&mut app, KeyCode::Enter);
    let sent = app.update(Msg::Input(Event::Key(KeyEvent::new(KeyCode::Char('w')))));
    assert!(
        sent.iter().any(|c| matches!(c, tack_tui::Command::Send { request: Request::WatchIssue { key, watch: true }, .. } if key == "TACK-1")),
        "{sent:?}"
    );
    assert!(render(&app).contains("watching TACK-1"));
    key(&mut app, KeyCode::Char('P'));
    let sent = app.update(Msg::Input(Event::Key(KeyEvent::new(KeyCode::Char('e')))));
    assert!(sent.is_empty(), "no email address: nothing to switch on");
    assert!(
        render(&app).contains("no email address"),
        "{}",
        render(&app)
    );
}

#[test]
fn the_query_bar_completes_marks_mistakes_and_sorts() {
    for size in [(80, 24), (120, 40)] {
        let mut app = app(size, ColorSupport::TrueColor);
        key(&mut app, KeyCode::Tab);
        key(&mut app, KeyCode::Enter);
        key(&mut app, KeyCode::Char('v'));
        key(&mut app, KeyCode::Char('/'));
        for c in "is:open prio".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        let completing = render(&app);
        assert!(completing.contains("tab: priority:"), "{completing}");
        insta::assert_snapshot!(
            format!("query_bar_completion_{}x{}", size.0, size.1),
            completing
        );
        key(&mut app, KeyCode::Tab);
        for c in ">=med".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        key(&mut app, KeyCode::Tab);
        assert_eq!(app.filter.text, "is:open priority:>=medium");
        for c in " asignee:bob".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        let marked = render(&app);
        assert!(marked.contains("you mean 'assignee'"), "{marked}");
        insta::assert_snapshot!(format!("query_bar_error_{}x{}", size.0, size.1), marked);
        for _ in 0..12 {
            key(&mut app, KeyCode::Backspace);
        }
        for c in " sort:priority-asc".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        key(&mut app, KeyCode::Enter);
        let list = render(&app);
        let medium = list.find("Board columns collapse").unwrap();
        let high = list.find("Crash on resize").unwrap();
        assert!(medium < high, "sorted by priority, lowest first:\n{list}");
        assert!(
            !list.contains("Inbox shows mentions"),
            "low priority is filtered out"
        );
    }
}

#[test]
fn saved_views_are_pinned_at_home_and_open_with_their_query() {
    for size in [(80, 24), (120, 40)] {
        let mut app = app(size, ColorSupport::TrueColor);
        let home = render(&app);
        assert!(
            home.contains("Views · 2") && home.contains("Bugs"),
            "{home}"
        );
        key(&mut app, KeyCode::Tab);
        key(&mut app, KeyCode::Tab);
        key(&mut app, KeyCode::Enter);
        let board = render(&app);
        assert!(board.contains("/ label:bug"), "{board}");
        assert!(
            board.contains("Crash on resize") && !board.contains("Inbox shows mentions"),
            "{board}"
        );
        key(&mut app, KeyCode::Char('S'));
        let sent = app.update(Msg::Input(Event::Key(KeyEvent::new(KeyCode::Char('x')))));
        assert!(sent.is_empty());
        let sent = app.update(Msg::Input(Event::Key(KeyEvent::new(KeyCode::Enter))));
        assert!(
            sent.iter().any(|c| matches!(c, tack_tui::Command::Send { request: Request::SaveView { name, query, layout: Layout::Board, shared: false, .. }, .. } if name == "x" && query == "label:bug")),
            "{sent:?}"
        );
        // The answer is said once and the views are listed again, once.
        answer(&mut app, sent, reply);
        assert!(render(&app).contains("view x saved"));
        // A view across projects fills the home list.
        // Home again, still on the views.
        key(&mut app, KeyCode::Char('g'));
        key(&mut app, KeyCode::Down);
        key(&mut app, KeyCode::Enter);
        let home = render(&app);
        assert!(
            home.contains("View Urgent anywhere · 1") && home.contains("Invite codes"),
            "{home}"
        );
        insta::assert_snapshot!(format!("home_view_{}x{}", size.0, size.1), home);
    }
}

#[test]
fn insights_draw_the_projects_charts_with_the_filter_as_burndown() {
    for size in [(80, 24), (120, 40)] {
        let mut app = app(size, ColorSupport::TrueColor);
        key(&mut app, KeyCode::Tab);
        key(&mut app, KeyCode::Enter);
        key(&mut app, KeyCode::Char('/'));
        for c in "label:bug".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        key(&mut app, KeyCode::Enter);
        key(&mut app, KeyCode::Char('I'));
        let charts = render(&app);
        assert!(
            charts.contains("Created / closed per week")
                && charts.contains("median 1.5 days")
                && charts.contains("Work in progress")
                && charts.contains("Burndown · label:bug"),
            "{charts}"
        );
        insta::assert_snapshot!(format!("insights_{}x{}", size.0, size.1), charts);
    }
}

#[test]
fn f_finds_issues_by_their_words_and_opens_one() {
    for size in [(80, 24), (120, 40)] {
        let mut app = app(size, ColorSupport::TrueColor);
        key(&mut app, KeyCode::Char('f'));
        for c in "crash".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        let found = render(&app);
        assert!(
            found.contains("1 found")
                && found.contains("TACK-1")
                && found.contains("crashes the session"),
            "{found}"
        );
        insta::assert_snapshot!(format!("find_{}x{}", size.0, size.1), found);
        key(&mut app, KeyCode::Enter);
        assert!(
            render(&app).contains("Reproduced at 80×24."),
            "the issue opens"
        );
    }
}
