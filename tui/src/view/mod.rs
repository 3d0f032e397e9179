//! Drawing: a pure function of the app state, tested with ratatui's `TestBackend`.

mod admin;
mod board;
mod detail;
mod insights;
mod overlay;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, BorderType, Borders, Clear, List, ListItem, ListState, Paragraph, Wrap,
};

use crate::app::{App, Hit, Pane, Screen};
use crate::keymap::{self};
use crate::text::line;
use crate::theme::{priority_glyph, state_glyph};
use board::{draw_board, draw_list};
use detail::draw_detail;
use overlay::draw_overlay;

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 20;

pub fn draw(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let notice = Paragraph::new(vec![
            Line::from(Span::styled("terminal too small", app.theme.title())),
            Line::from(format!(
                "tack needs {MIN_WIDTH}×{MIN_HEIGHT}; this is {}×{}",
                area.width, area.height
            )),
        ])
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true });
        let y = area.height / 2;
        frame.render_widget(
            notice,
            Rect {
                x: 0,
                y: y.saturating_sub(1),
                width: area.width,
                height: area.height.saturating_sub(y.saturating_sub(1)),
            },
        );
        return;
    }
    app.hits.borrow_mut().clear();
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(app, frame, header);
    match app.screen {
        Screen::Home => draw_home(app, frame, body),
        Screen::Board => draw_board(app, frame, body),
        Screen::List => draw_list(app, frame, body),
        Screen::Profile => draw_profile(app, frame, body),
        Screen::Inbox => draw_inbox(app, frame, body),
        Screen::Admin => admin::draw_admin(app, frame, body),
        Screen::Insights => insights::draw_insights(app, frame, body),
        Screen::Detail => draw_detail(app, frame, body),
    }
    draw_footer(app, frame, footer);
    draw_toasts(app, frame, body);
    if let Some(overlay) = &app.overlay {
        draw_overlay(app, overlay, frame, body);
    }
}

fn draw_header(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let mut spans = vec![
        Span::styled(" tack ", t.accent().add_modifier(Modifier::REVERSED)),
        Span::raw("  "),
    ];
    let crumb = match app.screen {
        Screen::Home => "Home".to_string(),
        Screen::Board | Screen::List => {
            let view = if app.screen == Screen::List {
                "list"
            } else {
                "board"
            };
            app.board.as_ref().map_or("Board".into(), |b| {
                format!("{} · {} · {view}", b.project.key, line(&b.project.name, 40))
            })
        }
        Screen::Profile => "Profile".to_string(),
        Screen::Inbox => "Inbox".to_string(),
        Screen::Admin => format!("Admin · {}", app.admin.tab.title()),
        Screen::Insights => app.insights.as_ref().map_or("Insights".into(), |i| {
            format!("{} · insights · last {} weeks", i.project, i.weeks.len())
        }),
        Screen::Detail => app
            .detail
            .as_ref()
            .map_or("Issue".into(), |d| d.key.clone()),
    };

    spans.push(Span::styled(crumb, t.title()));
    let unread = app.unread();
    if unread > 0 && app.screen != Screen::Inbox {
        spans.push(Span::styled(
            format!("   ● {unread} unread (i)"),
            t.accent(),
        ));
    }
    if !app.filter.is_empty() && matches!(app.screen, Screen::Board | Screen::List) {
        spans.push(Span::styled(
            format!("   / {}", line(&app.filter.text, 30)),
            t.accent(),
        ));
    }
    let who = match &app.me.user {
        Some(user) => format!("@{} ", user.handle),
        None => "console ".into(),
    };
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let pad = (area.width as usize).saturating_sub(used + who.chars().count());
    spans.push(Span::raw(" ".repeat(pad)));
    spans.push(Span::styled(who, t.dim()));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_footer(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let mut spans = Vec::new();
    // The console has no inbox or profile of its own.
    let console = app.me.user.is_none();
    for binding in keymap::hints(app.scope())
        .filter(|b| !(console && matches!(b.action, keymap::Action::Inbox)))
    {
        spans.push(Span::styled(format!(" {} ", binding.shown), t.accent()));
        spans.push(Span::styled(
            format!("{}  ", binding.hint.unwrap_or_default()),
            t.dim(),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub(super) fn panel<'a>(app: &App, title: String, focused: bool) -> Block<'a> {
    let t = &app.theme;
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(if focused {
            t.focused_border()
        } else {
            t.border()
        })
        .title(Span::styled(
            format!(" {title} "),
            if focused { t.accent() } else { t.title() },
        ))
}

fn draw_home(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let wide = area.width >= 100;
    let [left, right] = if wide {
        Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(area)
    } else {
        Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(area)
    };
    let title_width = left.width.saturating_sub(22) as usize;
    let issues: Vec<ListItem> = app
        .my_issues
        .iter()
        .map(|issue| {
            let category = app.state_category(issue);
            ListItem::new(Line::from(vec![
                Span::styled(format!(" {} ", state_glyph(category)), t.state(category)),
                Span::styled(format!("{:<10}", issue.key), t.dim()),
                Span::styled(
                    format!("{} ", priority_glyph(issue.priority)),
                    t.priority(issue.priority),
                ),
                Span::raw(line(&issue.title, title_width)),
            ]))
        })
        .collect();
    let empty_issues = issues.is_empty();
    let focused = app.pane == Pane::Issues;
    let mut state = ListState::default().with_selected(focused.then_some(app.home_row));
    let title = match &app.home_view {
        Some(view) => format!(
            "View {} · {} · g for your issues",
            line(view, 30),
            app.my_issues.len()
        ),
        None => format!("My open issues · {}", app.my_issues.len()),
    };
    let list = List::new(issues)
        .block(panel(app, title, focused))
        .highlight_style(t.selected());
    frame.render_stateful_widget(list, left, &mut state);
    record_rows(
        app,
        left,
        state.offset(),
        app.my_issues.len(),
        0,
        Hit::HomeIssue,
    );
    if empty_issues {
        let inner = left.inner(ratatui::layout::Margin {
            horizontal: 2,
            vertical: 1,
        });
        frame.render_widget(
            Paragraph::new(Span::styled(
                "Nothing assigned to you. Open a project with tab.",
                t.dim(),
            )),
            inner,
        );
    }

    let projects: Vec<ListItem> = app
        .projects
        .iter()
        .map(|p| {
            ListItem::new(Line::from(vec![
                Span::styled(format!(" {:<8}", p.key), t.accent()),
                Span::raw(line(&p.name, right.width.saturating_sub(20) as usize)),
                Span::styled(
                    format!("  {}", p.next_issue_number.saturating_sub(1)),
                    t.dim(),
                ),
            ]))
        })
        .collect();
    // Saved views are pinned under the projects.
    let (right, views_area) = if app.views.is_empty() {
        (right, None)
    } else {
        let rows = (app.views.len() as u16 + 2).min(right.height / 2);
        let [top, bottom] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(rows)]).areas(right);
        (top, Some(bottom))
    };
    if let Some(area) = views_area {
        let me = app.me.user.as_ref().map_or(0, |u| u.id);
        let views: Vec<ListItem> = app
            .views
            .iter()
            .map(|v| {
                let whose = match (&v.project_key, v.owner == me) {
                    (Some(key), true) => key.clone(),
                    (Some(key), false) => format!("{key} · shared"),
                    (None, _) => "all".into(),
                };
                ListItem::new(Line::from(vec![
                    Span::styled(" ★ ", t.accent()),
                    Span::raw(line(&v.name, area.width.saturating_sub(22) as usize)),
                    Span::styled(format!("  {whose}"), t.dim()),
                ]))
            })
            .collect();
        let focused = app.pane == Pane::Views;
        let mut state = ListState::default().with_selected(focused.then_some(app.home_row));
        let list = List::new(views)
            .block(panel(app, format!("Views · {}", app.views.len()), focused))
            .highlight_style(t.selected());
        frame.render_stateful_widget(list, area, &mut state);
    }
    let focused = app.pane == Pane::Projects;
    let mut state = ListState::default().with_selected(focused.then_some(app.home_row));
    let list = List::new(projects)
        .block(panel(
            app,
            format!("Projects · {}", app.projects.len()),
            focused,
        ))
        .highlight_style(t.selected());
    frame.render_stateful_widget(list, right, &mut state);
    record_rows(
        app,
        right,
        state.offset(),
        app.projects.len(),
        0,
        Hit::HomeProject,
    );
}

/// Records one clickable row per visible item of a bordered list drawn in `area`.
pub(super) fn record_rows(
    app: &App,
    area: Rect,
    offset: usize,
    len: usize,
    header: u16,
    hit: fn(usize) -> Hit,
) {
    let top = area.y + 1 + header;
    let visible = area.height.saturating_sub(2 + header) as usize;
    let mut hits = app.hits.borrow_mut();
    for (slot, index) in (offset..len).take(visible).enumerate() {
        hits.push((
            Rect {
                x: area.x + 1,
                y: top + slot as u16,
                width: area.width.saturating_sub(2),
                height: 1,
            },
            hit(index),
        ));
    }
}

fn draw_toasts(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let mut y = area.y + area.height;
    for toast in app.toasts.iter().rev() {
        let text = line(&toast.text, (area.width as usize).saturating_sub(6).min(70));
        let width = (text.chars().count() as u16 + 4).min(area.width);
        y = y.saturating_sub(3);
        if y < area.y {
            break;
        }
        let rect = Rect {
            x: area.x + area.width - width,
            y,
            width,
            height: 3,
        };
        let style = if toast.error { t.error() } else { t.ok() };
        frame.render_widget(Clear, rect);
        frame.render_widget(
            Paragraph::new(Span::styled(text, style)).block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_type(BorderType::Rounded)
                    .border_style(style),
            ),
            rect,
        );
    }
}

pub(super) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

fn draw_profile(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let [account, panes] =
        Layout::vertical([Constraint::Length(4), Constraint::Min(4)]).areas(area);
    let who = match &app.me.user {
        Some(user) => vec![
            Line::from(vec![
                Span::styled(format!("@{}", user.handle), t.accent()),
                Span::raw(format!("  {}", crate::text::plain(&user.display_name))),
            ]),
            Line::from(vec![
                Span::styled(
                    format!("server role: {}   two-factor: ", user.role),
                    t.dim(),
                ),
                match app.profile.totp {
                    Some(true) => Span::styled("on", t.ok()),
                    Some(false) => Span::styled("off (T turns it on)", t.dim()),
                    None => Span::styled("…", t.dim()),
                },
                Span::styled("   email: ", t.dim()),
                match (&user.email, app.profile.email) {
                    (None, _) => Span::styled("none set", t.dim()),
                    (Some(_), None) => Span::styled("…", t.dim()),
                    (Some(_), Some(mode)) => Span::raw(format!("{mode} (e)")),
                },
            ]),
        ],
        None => vec![Line::from("the admin console has no account of its own")],
    };
    frame.render_widget(
        Paragraph::new(who).block(panel(app, "Account".into(), false)),
        account,
    );
    let [keys_area, tokens_area] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(panes);
    let profile = &app.profile;
    let keys: Vec<ListItem> = profile
        .keys
        .iter()
        .map(|k| {
            ListItem::new(Line::from(vec![
                Span::raw(format!(" {} ", k.fingerprint)),
                Span::styled(format!("{} {}", k.algorithm, line(&k.comment, 24)), t.dim()),
            ]))
        })
        .collect();
    let mut state = ListState::default().with_selected((!profile.on_tokens).then_some(profile.row));
    let list = List::new(keys)
        .block(panel(
            app,
            format!("SSH keys · {}", profile.keys.len()),
            !profile.on_tokens,
        ))
        .highlight_style(t.selected());
    frame.render_stateful_widget(list, keys_area, &mut state);
    let tokens: Vec<ListItem> = profile
        .tokens
        .iter()
        .map(|tok| {
            let status = if tok.revoked {
                Span::styled("revoked", t.dim())
            } else {
                Span::styled("active", t.ok())
            };
            ListItem::new(Line::from(vec![
                Span::raw(format!(" {:<24} ", line(&tok.name, 24))),
                Span::styled(format!("tack_{}_…  ", tok.id), t.dim()),
                status,
            ]))
        })
        .collect();
    let mut state = ListState::default().with_selected(profile.on_tokens.then_some(profile.row));
    let list = List::new(tokens)
        .block(panel(
            app,
            format!("API tokens · {}", profile.tokens.len()),
            profile.on_tokens,
        ))
        .highlight_style(t.selected());
    frame.render_stateful_widget(list, tokens_area, &mut state);
}

fn draw_inbox(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let items: Vec<ListItem> = app
        .inbox
        .iter()
        .map(|n| {
            let what = n.kind.verb();
            let who = match n.actor {
                tack_protocol::Actor::User(id) => format!("@{}", app.handle_of(id)),
                tack_protocol::Actor::Console => "the console".into(),
            };
            let title = app
                .find_issue(&n.issue_key)
                .map(|i| line(&i.title, 50))
                .unwrap_or_default();
            let mark = if n.read {
                Span::raw("   ")
            } else {
                Span::styled(" ● ", t.accent())
            };
            let style = if n.read { t.dim() } else { t.text() };
            ListItem::new(Line::from(vec![
                mark,
                Span::styled(format!("{who} {what} "), style),
                Span::styled(n.issue_key.clone(), t.accent()),
                Span::styled(format!("  {title}"), t.dim()),
            ]))
        })
        .collect();
    let empty = items.is_empty();
    let mut state = ListState::default().with_selected(Some(app.inbox_row));
    let title = format!("Inbox · {} unread", app.unread());
    frame.render_stateful_widget(
        List::new(items)
            .block(panel(app, title, true))
            .highlight_style(t.selected()),
        area,
        &mut state,
    );
    if empty {
        let inner = area.inner(ratatui::layout::Margin {
            horizontal: 2,
            vertical: 1,
        });
        frame.render_widget(Paragraph::new(Span::styled("Nothing here yet. Assignments, mentions and comments on issues you watch arrive here.", t.dim())), inner);
    }
}
