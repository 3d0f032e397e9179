//! The mouse: clicks, the wheel and dragging cards.

use tack_protocol::Request;
use terminput::{MouseEventKind, ScrollDirection};

use crate::app::{App, Command, Hit, Pane, Pending};
use crate::keymap::Action;

impl App {
    pub(crate) fn hit_at(&self, column: u16, row: u16) -> Option<Hit> {
        let hits = self.hits.borrow();
        hits.iter()
            .rev()
            .find(|(rect, _)| rect.contains(ratatui::layout::Position { x: column, y: row }))
            .map(|(_, hit)| *hit)
    }

    /// A click selects (a second click opens), the wheel scrolls, and a card dragged onto
    /// another column moves there.
    pub(crate) fn on_mouse(&mut self, mouse: terminput::MouseEvent) -> Vec<Command> {
        use terminput::MouseButton;
        match mouse.kind {
            MouseEventKind::Scroll(ScrollDirection::Down) => self.on_action(Action::Down),
            MouseEventKind::Scroll(ScrollDirection::Up) => self.on_action(Action::Up),
            MouseEventKind::Down(MouseButton::Left) => {
                let Some(hit) = self.hit_at(mouse.column, mouse.row) else {
                    return Vec::new();
                };
                match hit {
                    Hit::HomeIssue(row) | Hit::HomeProject(row) => {
                        let pane = if matches!(hit, Hit::HomeIssue(_)) {
                            Pane::Issues
                        } else {
                            Pane::Projects
                        };
                        let again = self.pane == pane && self.home_row == row;
                        self.pane = pane;
                        self.home_row = row;
                        if again {
                            return self.on_action(Action::Open);
                        }
                    }
                    Hit::Card { column, row } => {
                        let again = self
                            .board
                            .as_ref()
                            .is_some_and(|b| b.column == column && b.row == row);
                        self.set_cursor(column, row);
                        if again {
                            return self.on_action(Action::Open);
                        }
                        self.drag = self.selected_card().map(|card| (card.key.clone(), column));
                    }
                    Hit::Column(column) => {
                        let row = self.board.as_ref().map_or(0, |b| b.row);
                        self.set_cursor(column, row);
                    }
                    Hit::ListRow(row) => {
                        let again = self.list.row == row;
                        self.list.row = row;
                        if again {
                            return self.on_action(Action::Open);
                        }
                    }
                }
                Vec::new()
            }
            MouseEventKind::Up(MouseButton::Left) => {
                let Some((key, from)) = self.drag.take() else {
                    return Vec::new();
                };
                let target = match self.hit_at(mouse.column, mouse.row) {
                    Some(Hit::Column(column) | Hit::Card { column, .. }) if column != from => {
                        column
                    }
                    _ => return Vec::new(),
                };
                let state = self
                    .board
                    .as_ref()
                    .and_then(|b| b.project.states.get(target))
                    .map(|s| s.name.clone());
                match state {
                    Some(state) => {
                        self.set_cursor(target, usize::MAX);
                        vec![self.send(Pending::Change, Request::MoveIssue { key, state })]
                    }
                    None => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }
}
