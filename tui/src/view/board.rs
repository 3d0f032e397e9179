//! The board and the list.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{panel, record_rows};
use crate::app::{App, Hit};
use crate::text::line;
use crate::theme::{priority_glyph, state_glyph};

pub(super) fn draw_board(app: &App, frame: &mut Frame, area: Rect) {
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

pub(super) fn draw_list(app: &App, frame: &mut Frame, area: Rect) {
    use ratatui::widgets::{Cell, Row, Table, TableState};
    let t = &app.theme;
    let rows = app.list_rows();
    let wide = area.width >= 100;
    let assignee_width: u16 = if wide { 16 } else { 10 };
    let title_width = area
        .width
        .saturating_sub(if wide { 62 } else { 44 })
        .max(10) as usize;
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
                Cell::from(Span::styled(
                    line(&assignees.join(" "), assignee_width as usize),
                    t.dim(),
                )),
                Cell::from(Span::styled(line(&issue.labels.join(" "), 12), t.label())),
            ])
        })
        .collect();
    // Narrow terminals give the labels' room to the title.
    let label_width = if wide { 12 } else { 0 };
    let widths = [
        Constraint::Length(1),
        Constraint::Length(9),
        Constraint::Length(14),
        Constraint::Length(2),
        Constraint::Min(10),
        Constraint::Length(assignee_width),
        Constraint::Length(label_width),
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
