//! Drawing: a pure function of the app state, tested with ratatui's `TestBackend`.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{
    Block, BorderType, Borders, Clear, List, ListItem, ListState, Paragraph, Wrap,
};

use crate::app::{App, Hit, Overlay, Pane, Prompt, Screen};
use crate::keymap::{self, BINDINGS, Scope};
use crate::text::{line, plain};
use crate::theme::{priority_glyph, state_glyph};

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
        Screen::Detail => app
            .detail
            .as_ref()
            .map_or("Issue".into(), |d| d.key.clone()),
    };

    spans.push(Span::styled(crumb, t.title()));
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
    for binding in keymap::hints(app.scope()) {
        spans.push(Span::styled(format!(" {} ", binding.shown), t.accent()));
        spans.push(Span::styled(
            format!("{}  ", binding.hint.unwrap_or_default()),
            t.dim(),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn panel<'a>(app: &App, title: String, focused: bool) -> Block<'a> {
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
    let list = List::new(issues)
        .block(panel(
            app,
            format!("My open issues · {}", app.my_issues.len()),
            focused,
        ))
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
fn record_rows(
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

fn draw_board(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some(board) = &app.board else { return };
    let states = &board.project.states;
    if states.is_empty() {
        return;
    }
    // Done and canceled columns fold to their counts unless the cursor is in them.
    let collapsed: Vec<bool> = states
        .iter()
        .enumerate()
        .map(|(i, s)| s.category.is_closed() && i != board.column)
        .collect();
    let collapsed_width = 9u16;
    let open_columns = collapsed.iter().filter(|c| !**c).count().max(1) as u16;
    let folded =
        (collapsed.len() as u16 - open_columns.min(collapsed.len() as u16)) * collapsed_width;
    let column_width = (area.width.saturating_sub(folded) / open_columns).max(16);
    // Show as many columns as fit, keeping the selected one in view.
    let widths: Vec<u16> = collapsed
        .iter()
        .map(|c| if *c { collapsed_width } else { column_width })
        .collect();
    let mut first = 0;
    while widths[first..=board.column.min(widths.len() - 1)]
        .iter()
        .sum::<u16>()
        > area.width
        && first < board.column
    {
        first += 1;
    }
    let mut x = area.x;
    for (index, state) in states.iter().enumerate().skip(first) {
        let width = widths[index].min(area.x + area.width - x);
        if width < 6 {
            break;
        }
        let rect = Rect {
            x,
            y: area.y,
            width,
            height: area.height,
        };
        x += width;
        let cards = app.column(index);
        let focused = index == board.column;
        let title = if collapsed[index] {
            format!("{} {}", state_glyph(state.category), cards.len())
        } else {
            format!(
                "{} {} · {}",
                state_glyph(state.category),
                line(&state.name, 20),
                cards.len()
            )
        };
        app.hits.borrow_mut().push((rect, Hit::Column(index)));
        let block = panel(app, title, focused);
        let inner = block.inner(rect);
        frame.render_widget(block, rect);
        if collapsed[index] {
            continue;
        }
        let card_height = 3u16;
        let visible = (inner.height / card_height).max(1) as usize;
        let skip = if focused && board.row >= visible {
            board.row + 1 - visible
        } else {
            0
        };
        for (slot, issue) in cards.iter().enumerate().skip(skip).take(visible) {
            let y = inner.y + ((slot - skip) as u16) * card_height;
            let card = Rect {
                x: inner.x,
                y,
                width: inner.width,
                height: card_height.min(inner.y + inner.height - y),
            };
            app.hits.borrow_mut().push((
                card,
                Hit::Card {
                    column: index,
                    row: slot,
                },
            ));
            let selected = focused && slot == board.row;
            let w = inner.width.saturating_sub(1) as usize;
            let assignees: Vec<String> = issue
                .assignees
                .iter()
                .map(|id| format!("@{}", app.handle_of(*id)))
                .collect();
            let mut meta = vec![Span::styled(line(&assignees.join(" "), w / 2), t.dim())];
            if !issue.labels.is_empty() {
                meta.push(Span::styled(
                    format!(" {}", line(&issue.labels.join(" "), w / 3)),
                    t.label(),
                ));
            }
            if let Some(due) = &issue.due {
                meta.push(Span::styled(format!(" ⏱{}", &due[5..]), t.dim()));
            }
            let lines = vec![
                Line::from(vec![
                    Span::styled(
                        format!("{} ", priority_glyph(issue.priority)),
                        t.priority(issue.priority),
                    ),
                    Span::styled(issue.key.clone(), t.dim()),
                ]),
                Line::from(Span::styled(line(&issue.title, w), t.text())),
                Line::from(meta),
            ];
            let style = if selected {
                t.selected()
            } else {
                Style::default()
            };
            frame.render_widget(Paragraph::new(lines).style(style), card);
        }
        if cards.is_empty() && focused {
            frame.render_widget(
                Paragraph::new(Span::styled("empty · c to create", t.dim())),
                inner,
            );
        }
    }
}

fn draw_list(app: &App, frame: &mut Frame, area: Rect) {
    use ratatui::widgets::{Cell, Row, Table, TableState};
    let t = &app.theme;
    let rows = app.list_rows();
    let title_width = area.width.saturating_sub(62).max(10) as usize;
    let body: Vec<Row> = rows
        .iter()
        .map(|issue| {
            let category = app.state_category(issue);
            let state = app
                .project_of(issue)
                .and_then(|p| p.state(issue.state))
                .map_or(String::new(), |s| line(&s.name, 12));
            let picked = if app.list.selected.contains(&issue.key) {
                "●"
            } else {
                " "
            };
            let assignees: Vec<String> = issue
                .assignees
                .iter()
                .map(|id| format!("@{}", app.handle_of(*id)))
                .collect();
            Row::new(vec![
                Cell::from(Span::styled(picked, t.accent())),
                Cell::from(Span::styled(issue.key.clone(), t.dim())),
                Cell::from(Span::styled(
                    format!("{} {state}", state_glyph(category)),
                    t.state(category),
                )),
                Cell::from(Span::styled(
                    priority_glyph(issue.priority),
                    t.priority(issue.priority),
                )),
                Cell::from(line(&issue.title, title_width)),
                Cell::from(Span::styled(line(&assignees.join(" "), 16), t.dim())),
                Cell::from(Span::styled(line(&issue.labels.join(" "), 12), t.label())),
            ])
        })
        .collect();
    let widths = [
        Constraint::Length(1),
        Constraint::Length(9),
        Constraint::Length(14),
        Constraint::Length(2),
        Constraint::Min(10),
        Constraint::Length(16),
        Constraint::Length(12),
    ];
    let header = Row::new(["", "KEY", "STATE", "", "TITLE", "ASSIGNEES", "LABELS"]).style(t.dim());
    let selected = if app.list.selected.is_empty() {
        String::new()
    } else {
        format!(" · {} selected", app.list.selected.len())
    };
    let title = format!(
        "{} {} · sorted by {}{selected}",
        rows.len(),
        if rows.len() == 1 { "issue" } else { "issues" },
        app.list.sort.name()
    );
    let table = Table::new(body, widths)
        .header(header)
        .block(panel(app, title, true))
        .row_highlight_style(t.selected());
    let mut state = TableState::default().with_selected(Some(app.list.row));
    frame.render_stateful_widget(table, area, &mut state);
    record_rows(app, area, state.offset(), rows.len(), 1, Hit::ListRow);
}

fn draw_detail(app: &App, frame: &mut Frame, area: Rect) {
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

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

fn draw_overlay(app: &App, overlay: &Overlay, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    match overlay {
        Overlay::Help => {
            let mut sections: Vec<Vec<Line>> = Vec::new();
            for (scope, name) in [
                (Scope::Global, "Everywhere"),
                (Scope::Home, "Home"),
                (Scope::Board, "Board"),
                (Scope::List, "List"),
                (Scope::Detail, "Issue"),
            ] {
                let mut lines = vec![Line::from(Span::styled(name, t.title()))];
                for binding in BINDINGS.iter().filter(|b| b.scope == scope) {
                    lines.push(Line::from(vec![
                        Span::styled(format!("  {:<7}", binding.shown), t.accent()),
                        Span::raw(binding.description),
                    ]));
                }
                sections.push(lines);
            }
            let total: usize = sections.iter().map(Vec::len).sum();
            // Two columns when one would not fit the screen.
            let two = total as u16 + 2 > area.height;
            let (left, right): (Vec<Line>, Vec<Line>) = if two {
                let mut left = Vec::new();
                let mut right = Vec::new();
                for section in sections {
                    if left.len() + section.len() <= total.div_ceil(2) + 2 && right.is_empty() {
                        left.extend(section)
                    } else {
                        right.extend(section)
                    }
                }
                (left, right)
            } else {
                (sections.concat(), Vec::new())
            };
            let height = left.len().max(right.len()) as u16 + 2;
            let rect = centered(area, if two { 96 } else { 56 }, height);
            frame.render_widget(Clear, rect);
            let block = panel(app, "Keys · any key closes".into(), true);
            let inner = block.inner(rect);
            frame.render_widget(block, rect);
            if two {
                let [l, r] =
                    Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                        .areas(inner);
                frame.render_widget(Paragraph::new(left), l);
                frame.render_widget(Paragraph::new(right), r);
            } else {
                frame.render_widget(Paragraph::new(left), inner);
            }
        }
        Overlay::Input { prompt, text } => {
            let title = match prompt {
                Prompt::Filter => "Filter · words, @who, #label, p:high, s:todo".to_string(),
                Prompt::NewIssue { state } => format!("New issue in {}", plain(state)),
                Prompt::Comment { issue } => format!("Comment on {issue}"),
                Prompt::Title { issue, .. } => format!("Title of {issue}"),
            };
            let rect = centered(area, 70, 5);
            frame.render_widget(Clear, rect);
            let shown = line(text, rect.width.saturating_sub(5) as usize);
            let lines = vec![
                Line::from(vec![Span::raw(shown), Span::styled("▏", t.accent())]),
                Line::from(Span::styled("enter saves · esc cancels", t.dim())),
            ];
            frame.render_widget(Paragraph::new(lines).block(panel(app, title, true)), rect);
        }
        Overlay::Editor(editor) => {
            // The widget keeps its block in itself; a copy takes this frame's.
            let mut editor = (**editor).clone();
            editor.draw(t, frame, area);
        }
        Overlay::Conflict {
            current,
            mine,
            retry,
        } => {
            let theirs = match &**retry {
                tack_protocol::Request::UpdateIssue { patch, .. }
                    if patch.description.is_some() =>
                {
                    current.description.clone()
                }
                _ => current.title.clone(),
            };
            let rect = centered(area, 70, 11);
            frame.render_widget(Clear, rect);
            let lines = vec![
                Line::from(Span::styled(
                    format!("{} changed while you were editing it", current.key),
                    t.error(),
                )),
                Line::raw(""),
                Line::from(vec![
                    Span::styled("theirs  ", t.dim()),
                    Span::raw(line(&theirs, 58)),
                ]),
                Line::from(vec![
                    Span::styled("yours   ", t.dim()),
                    Span::raw(line(mine, 58)),
                ]),
                Line::raw(""),
                Line::from(vec![
                    Span::styled(" r ", t.accent()),
                    Span::raw("reload theirs, drop yours"),
                ]),
                Line::from(vec![
                    Span::styled(" o ", t.accent()),
                    Span::raw("overwrite theirs with yours"),
                ]),
                Line::from(vec![
                    Span::styled(" k ", t.accent()),
                    Span::raw("reload theirs and keep yours as a comment"),
                ]),
            ];
            frame.render_widget(
                Paragraph::new(lines).block(panel(app, "Conflict".into(), true)),
                rect,
            );
        }
        Overlay::Palette { query, selected } => {
            let found = crate::palette::matching(&app.palette_items(), query);
            let rows = (found.len() as u16).clamp(1, area.height.saturating_sub(5).max(1));
            let rect = centered(area, 64, rows + 4);
            frame.render_widget(Clear, rect);
            let block = panel(app, "Commands".into(), true);
            let inner = block.inner(rect);
            frame.render_widget(block, rect);
            let [input, list] =
                Layout::vertical([Constraint::Length(2), Constraint::Min(1)]).areas(inner);
            let prompt = Line::from(vec![
                Span::styled("› ", t.accent()),
                Span::raw(line(query, 56)),
                Span::styled("▏", t.accent()),
            ]);
            frame.render_widget(Paragraph::new(vec![prompt, Line::raw("")]), input);
            let items: Vec<ListItem> = found
                .iter()
                .map(|item| {
                    ListItem::new(Line::from(vec![
                        Span::raw(format!("{:<46}", line(&item.label, 46))),
                        Span::styled(item.keys.clone(), t.dim()),
                    ]))
                })
                .collect();
            let mut state = ListState::default().with_selected(Some(*selected));
            frame.render_stateful_widget(
                List::new(items).highlight_style(t.selected()),
                list,
                &mut state,
            );
        }
        Overlay::Pick {
            options, selected, ..
        } => {
            let items: Vec<ListItem> = options
                .iter()
                .map(|(_, label)| ListItem::new(line(label, 40)))
                .collect();
            let rect = centered(area, 44, (options.len() as u16 + 2).min(area.height));
            frame.render_widget(Clear, rect);
            let mut state = ListState::default().with_selected(Some(*selected));
            frame.render_stateful_widget(
                List::new(items)
                    .block(panel(app, "Choose · enter".into(), true))
                    .highlight_style(t.selected()),
                rect,
                &mut state,
            );
        }
    }
}
