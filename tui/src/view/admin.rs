//! The admin console's tabs: a table per tab, and sparklines for health.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Sparkline, Table, TableState, Tabs};

use super::panel;
use crate::admin::{AdminPrompt, AdminTab, TABS};
use crate::app::App;
use crate::text::{bytes, line, when};

/// `MM-DD HH:MM`: enough for what happened lately, narrow enough for 80 columns.
fn recent(ms: i64) -> String {
    when(ms).get(5..).unwrap_or_default().to_string()
}

pub fn prompt_title(prompt: &AdminPrompt) -> String {
    match prompt {
        AdminPrompt::NewUser => "New user · handle [email] [admin]".into(),
        AdminPrompt::NewInvite => "New invite · role and expiry: user 7d, admin 12h".into(),
        AdminPrompt::DeleteUser { handle } => {
            format!("Delete @{handle} · who takes over their issues? (empty: nobody)")
        }
        AdminPrompt::AuditFilter => {
            "Audit filter · @who or console, p:PROJECT, kind:issue_created, since:/until:YYYY-MM-DD"
                .into()
        }
        AdminPrompt::RunJob => "Run now · digest, due_reminders, expire or backup".into(),
    }
}

pub fn draw_admin(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let view = &app.admin;
    let [tabs_area, keys_area, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
    ])
    .areas(area);
    let titles: Vec<Line> = TABS.iter().map(|tab| Line::from(tab.title())).collect();
    let selected = TABS.iter().position(|tab| *tab == view.tab).unwrap_or(0);
    frame.render_widget(
        Tabs::new(titles)
            .select(selected)
            .style(t.dim())
            .highlight_style(t.accent().add_modifier(Modifier::REVERSED))
            .divider("│"),
        tabs_area,
    );
    frame.render_widget(
        Paragraph::new(Span::styled(format!(" {}", view.tab.keys()), t.dim())),
        keys_area,
    );
    if view.tab == AdminTab::Health {
        draw_health(app, frame, body);
        return;
    }
    let (header, widths, rows) = table_of(app);
    let title = match (view.tab, &view.backups) {
        (AdminTab::Backups, Some(b)) => format!(
            "Backups · {} · schedule {} · keeping {}",
            b.dir,
            b.schedule.as_deref().unwrap_or("none"),
            b.retention
        ),
        (AdminTab::Audit, _) if !view.audit_filter.is_empty() => {
            format!("Audit · {}", line(&view.audit_filter, 60))
        }
        (tab, _) => format!("{} · {}", tab.title(), view.rows()),
    };
    let empty = rows.is_empty();
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(t.dim()))
        .row_highlight_style(t.selected())
        .column_spacing(2)
        .block(panel(app, title, true));
    let mut state = TableState::default().with_selected((!empty).then_some(view.row));
    frame.render_stateful_widget(table, body, &mut state);
}

type Columns = (Vec<&'static str>, Vec<Constraint>, Vec<Row<'static>>);

fn table_of(app: &App) -> Columns {
    let view = &app.admin;
    let len = |w: u16| Constraint::Length(w);
    let fill = Constraint::Min(8);
    match view.tab {
        AdminTab::Users => (
            vec!["HANDLE", "NAME", "ROLE", "STATUS", "EMAIL", "SINCE"],
            vec![len(14), len(14), len(6), len(8), fill, len(10)],
            view.users
                .iter()
                .map(|u| {
                    Row::new(vec![
                        format!("@{}", u.handle),
                        line(&u.display_name, 14),
                        u.role.to_string(),
                        if u.disabled { "disabled" } else { "active" }.into(),
                        u.email.clone().map(|e| line(&e, 40)).unwrap_or_default(),
                        when(u.created_at).get(..10).unwrap_or_default().to_string(),
                    ])
                })
                .collect(),
        ),
        AdminTab::Keys => (
            vec!["OWNER", "TYPE", "FINGERPRINT", "COMMENT", "LAST USED"],
            vec![len(12), len(11), Constraint::Min(20), fill, len(11)],
            view.keys
                .iter()
                .map(|k| {
                    Row::new(vec![
                        format!("@{}", app.handle_of(k.owner)),
                        k.algorithm.clone(),
                        k.fingerprint.clone(),
                        line(&k.comment, 30),
                        k.last_used_at.map(recent).unwrap_or_else(|| "never".into()),
                    ])
                })
                .collect(),
        ),
        AdminTab::Invites => (
            vec!["INVITE", "ROLE", "EXPIRES", "STATUS"],
            vec![len(10), len(6), len(16), fill],
            view.invites
                .iter()
                .map(|i| {
                    let status = match (i.revoked, i.redeemed_by) {
                        (true, _) => "revoked".to_string(),
                        (_, Some(user)) => format!("redeemed by @{}", app.handle_of(user)),
                        _ => "open".into(),
                    };
                    Row::new(vec![
                        i.id.clone(),
                        i.role.to_string(),
                        when(i.expires_at),
                        status,
                    ])
                })
                .collect(),
        ),
        AdminTab::Tokens => (
            vec!["OWNER", "NAME", "TOKEN", "LAST USED", "STATUS"],
            vec![len(12), len(14), len(24), len(11), fill],
            view.tokens
                .iter()
                .map(|tok| {
                    Row::new(vec![
                        format!("@{}", app.handle_of(tok.user)),
                        line(&tok.name, 14),
                        format!("tack_{}_…", tok.id),
                        tok.last_used_at
                            .map(recent)
                            .unwrap_or_else(|| "never".into()),
                        if tok.revoked { "revoked" } else { "active" }.into(),
                    ])
                })
                .collect(),
        ),
        AdminTab::Sessions => (
            vec!["ID", "KIND", "WHO", "FROM", "SINCE", "IN", "OUT"],
            vec![
                len(4),
                len(7),
                len(10),
                Constraint::Min(16),
                len(11),
                len(8),
                len(8),
            ],
            view.sessions
                .iter()
                .map(|s| {
                    Row::new(vec![
                        s.id.to_string(),
                        s.kind.to_string(),
                        line(&s.who, 10),
                        s.peer.clone(),
                        recent(s.since),
                        bytes(s.bytes_in),
                        bytes(s.bytes_out),
                    ])
                })
                .collect(),
        ),
        AdminTab::Audit => (
            vec!["SEQ", "WHEN", "WHO", "WHAT", "SUBJECT", "CHANGES"],
            vec![len(5), len(11), len(10), len(15), len(12), fill],
            view.audit
                .iter()
                .map(|a| {
                    let who = match a.actor {
                        tack_protocol::Actor::User(id) => format!("@{}", app.handle_of(id)),
                        tack_protocol::Actor::Console => "console".into(),
                    };
                    let changes: Vec<String> = a
                        .changes
                        .iter()
                        .map(|c| {
                            if c.before.is_empty() {
                                format!("{}: {}", c.field, line(&c.after, 24))
                            } else if c.after.is_empty() {
                                format!("{}: {} → none", c.field, line(&c.before, 24))
                            } else {
                                format!(
                                    "{}: {} → {}",
                                    c.field,
                                    line(&c.before, 16),
                                    line(&c.after, 16)
                                )
                            }
                        })
                        .collect();
                    Row::new(vec![
                        a.seq.to_string(),
                        recent(a.at),
                        who,
                        a.kind.to_string(),
                        line(&a.subject, 12),
                        changes.join(", "),
                    ])
                })
                .collect(),
        ),
        AdminTab::Jobs => (
            vec!["ID", "KIND", "STATE", "TRIES", "RUN AT", "LAST ERROR"],
            vec![len(5), len(13), len(7), len(5), len(11), fill],
            view.jobs
                .iter()
                .map(|j| {
                    Row::new(vec![
                        j.id.to_string(),
                        j.kind.name().to_string(),
                        j.state.to_string(),
                        j.attempts.to_string(),
                        recent(j.run_at),
                        line(j.last_error.as_deref().unwrap_or(""), 120),
                    ])
                })
                .collect(),
        ),
        AdminTab::Backups => (
            vec!["FILE", "SIZE", "WRITTEN"],
            vec![len(30), len(10), fill],
            view.backups
                .iter()
                .flat_map(|b| &b.files)
                .map(|f| Row::new(vec![f.name.clone(), bytes(f.bytes), when(f.modified)]))
                .collect(),
        ),
        AdminTab::Health => (Vec::new(), Vec::new(), Vec::new()),
    }
}

fn draw_health(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some(h) = &app.admin.health else {
        frame.render_widget(
            Paragraph::new("…").block(panel(app, "Health".into(), true)),
            area,
        );
        return;
    };
    let [facts, requests, errors] = Layout::vertical([
        Constraint::Length(8),
        Constraint::Min(3),
        Constraint::Min(3),
    ])
    .areas(area);
    let uptime = h.uptime_secs;
    let fact = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!(" {name:<12}"), t.dim()),
            Span::raw(value),
        ])
    };
    let lines = vec![
        fact(
            "version",
            format!(
                "tack {} · up {}d {}h {}m",
                h.version,
                uptime / 86_400,
                uptime % 86_400 / 3600,
                uptime % 3600 / 60
            ),
        ),
        fact("store", bytes(h.store_bytes)),
        fact(
            "sessions",
            format!(
                "{} ssh · {} protocol connections",
                h.ssh_sessions, h.connections
            ),
        ),
        fact(
            "requests",
            format!(
                "{} total · {} errors · {} rate-limited",
                h.requests_total, h.errors_total, h.rate_limited_total
            ),
        ),
        Line::from(vec![
            Span::styled(format!(" {:<12}", "jobs"), t.dim()),
            Span::raw(format!(
                "{} queued · {} running · ",
                h.jobs_queued, h.jobs_running
            )),
            Span::styled(
                format!("{} failed", h.jobs_failed),
                if h.jobs_failed > 0 {
                    t.error()
                } else {
                    t.text()
                },
            ),
        ]),
    ];
    frame.render_widget(
        Paragraph::new(lines).block(panel(app, "Health · r refreshes".into(), true)),
        facts,
    );
    let mut spark = |title: String, data: &[u32], area: Rect, error: bool| {
        let data: Vec<u64> = data.iter().map(|v| u64::from(*v)).collect();
        let style = if error { t.error() } else { t.accent() };
        frame.render_widget(
            Sparkline::default()
                .block(panel(app, title, false))
                .data(&data)
                .style(style),
            area,
        );
    };
    let last = |data: &[u32]| data.last().copied().unwrap_or(0);
    spark(
        format!("requests/s · now {} · 5 minutes", last(&h.requests_history)),
        &h.requests_history,
        requests,
        false,
    );
    spark(
        format!("errors/s · now {}", last(&h.errors_history)),
        &h.errors_history,
        errors,
        true,
    );
}
