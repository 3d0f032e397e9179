//! One issue: its fields, description and comments.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Paragraph, Wrap};

use super::panel;
use crate::app::App;
use crate::text::plain;
use crate::theme::{priority_glyph, state_glyph};

pub(super) fn draw_detail(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some(detail) = &app.detail else { return };
    let Some(issue) = &detail.issue else {
        frame.render_widget(
            Paragraph::new(Span::styled(format!("loading {}…", detail.key), t.dim())).block(panel(
                app,
                detail.key.clone(),
                true,
            )),
            area,
        );
        return;
    };
    let wide = area.width >= 90;
    let (main, side) = if wide {
        let [main, side] =
            Layout::horizontal([Constraint::Min(40), Constraint::Length(30)]).areas(area);
        (main, Some(side))
    } else {
        (area, None)
    };
    let project = app.project_of(issue);
    let state = project.and_then(|p| p.state(issue.state));
    let assignees: Vec<String> = issue
        .assignees
        .iter()
        .map(|id| format!("@{}", app.handle_of(*id)))
        .collect();
    let fields = vec![
        Line::from(vec![
            Span::styled("State     ", t.dim()),
            Span::styled(
                state.map_or("?".into(), |s| {
                    format!("{} {}", state_glyph(s.category), plain(&s.name))
                }),
                state.map_or(t.text(), |s| t.state(s.category)),
            ),
        ]),
        Line::from(vec![
            Span::styled("Priority  ", t.dim()),
            Span::styled(
                format!("{} {}", priority_glyph(issue.priority), issue.priority),
                t.priority(issue.priority),
            ),
        ]),
        Line::from(vec![
            Span::styled("Assignees ", t.dim()),
            Span::raw(if assignees.is_empty() {
                "—".into()
            } else {
                assignees.join(" ")
            }),
        ]),
        Line::from(vec![
            Span::styled("Labels    ", t.dim()),
            Span::styled(
                if issue.labels.is_empty() {
                    "—".into()
                } else {
                    plain(&issue.labels.join(", "))
                },
                t.label(),
            ),
        ]),
        Line::from(vec![
            Span::styled("Due       ", t.dim()),
            Span::raw(issue.due.clone().unwrap_or_else(|| "—".into())),
        ]),
        Line::from(vec![
            Span::styled("Estimate  ", t.dim()),
            Span::raw(issue.estimate.map_or("—".into(), |e| e.to_string())),
        ]),
        Line::from(vec![
            Span::styled("Version   ", t.dim()),
            Span::raw(issue.version.to_string()),
        ]),
    ];
    let mut text: Vec<Line> = vec![
        Line::from(Span::styled(plain(&issue.title), t.title())),
        Line::raw(""),
    ];
    if side.is_none() {
        text.extend(fields.iter().cloned());
        text.push(Line::raw(""));
    }
    if issue.description.is_empty() {
        text.push(Line::from(Span::styled("No description.", t.dim())));
    } else {
        text.extend(Text::raw(plain(&issue.description)).lines);
    }
    text.push(Line::raw(""));
    text.push(Line::from(Span::styled(
        format!("Comments · {}", detail.comments.len()),
        t.title(),
    )));
    for comment in &detail.comments {
        let author = match comment.author {
            tack_protocol::Actor::User(id) => format!("@{}", app.handle_of(id)),
            tack_protocol::Actor::Console => "console".into(),
        };
        text.push(Line::from(Span::styled(author, t.accent())));
        text.extend(Text::raw(plain(&comment.body)).lines);
        text.push(Line::raw(""));
    }
    if !detail.history.is_empty() {
        text.push(Line::from(Span::styled("History", t.title())));
        for entry in &detail.history {
            let who = match entry.actor {
                tack_protocol::Actor::User(id) => format!("@{}", app.handle_of(id)),
                tack_protocol::Actor::Console => "console".into(),
            };
            let what: Vec<String> = entry
                .changes
                .iter()
                .map(|c| {
                    if c.before.is_empty() {
                        format!("{} {}", c.field, plain(&c.after))
                    } else {
                        format!("{} {} → {}", c.field, plain(&c.before), plain(&c.after))
                    }
                })
                .collect();
            text.push(Line::from(vec![
                Span::styled(format!("{who} "), t.dim()),
                Span::raw(crate::text::line(
                    &what.join("; "),
                    main.width.saturating_sub(4) as usize,
                )),
            ]));
        }
    }
    let paragraph = Paragraph::new(text)
        .block(panel(app, issue.key.clone(), true))
        .wrap(Wrap { trim: false })
        .scroll((detail.scroll, 0));
    frame.render_widget(paragraph, main);
    if let Some(side) = side {
        frame.render_widget(
            Paragraph::new(fields).block(panel(app, "Details".into(), false)),
            side,
        );
    }
}
