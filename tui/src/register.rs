//! The one screen an unknown key sees after a valid invite code: choose a handle and a name.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph, Wrap};
use terminput::{Event, KeyCode, KeyModifiers};

use crate::text::line;
use crate::theme::Theme;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOutcome {
    /// Keep showing the form.
    Editing,
    /// The person submitted: handle and display name.
    Submit {
        handle: String,
        display_name: String,
    },
    Quit,
}

#[derive(Debug, Default)]
pub struct RegisterForm {
    pub handle: String,
    pub display_name: String,
    /// 0: handle, 1: display name.
    pub field: usize,
    /// The server's answer to the last attempt.
    pub error: Option<String>,
}

impl RegisterForm {
    pub fn on_input(&mut self, event: Event) -> RegisterOutcome {
        let Event::Key(key) = event else {
            if let Event::Paste(text) = event {
                self.current()
                    .push_str(&crate::text::plain(&text).replace(['\n', '\t'], " "));
            }
            return RegisterOutcome::Editing;
        };
        if key.kind == terminput::KeyEventKind::Release {
            return RegisterOutcome::Editing;
        }
        match key.code {
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CTRL) => {
                return RegisterOutcome::Quit;
            }
            KeyCode::Esc => return RegisterOutcome::Quit,
            KeyCode::Tab | KeyCode::Down | KeyCode::Up => self.field = 1 - self.field,
            KeyCode::Backspace => {
                self.current().pop();
            }
            KeyCode::Enter if self.field == 0 => self.field = 1,
            KeyCode::Enter => {
                return RegisterOutcome::Submit {
                    handle: self.handle.trim().to_string(),
                    display_name: self.display_name.trim().to_string(),
                };
            }
            KeyCode::Char(c) if self.current().chars().count() < 64 => self.current().push(c),
            _ => {}
        }
        RegisterOutcome::Editing
    }

    fn current(&mut self) -> &mut String {
        if self.field == 0 {
            &mut self.handle
        } else {
            &mut self.display_name
        }
    }

    pub fn draw(&self, theme: &Theme, frame: &mut Frame) {
        let area = frame.area();
        let width = area.width.min(64);
        let rect = Rect {
            x: area.x + (area.width - width) / 2,
            y: area.y + area.height.saturating_sub(14) / 2,
            width,
            height: 14.min(area.height),
        };
        let field = |label: &str, value: &str, active: bool| {
            let cursor = if active {
                Span::styled("▏", theme.accent())
            } else {
                Span::raw("")
            };
            Line::from(vec![
                Span::styled(
                    format!("{label:<14}"),
                    if active { theme.accent() } else { theme.dim() },
                ),
                Span::raw(line(value, width.saturating_sub(20) as usize)),
                cursor,
            ])
        };
        let mut lines = vec![
            Line::from(Span::styled("Welcome to tack", theme.title())),
            Line::raw(""),
            Line::from(Span::styled(
                "Your invite is good. Choose how your team will see you.",
                theme.dim(),
            )),
            Line::raw(""),
            field("Handle", &self.handle, self.field == 0),
            Line::from(Span::styled(
                "              lowercase letters, digits, - and _",
                theme.dim(),
            )),
            field("Display name", &self.display_name, self.field == 1),
            Line::raw(""),
        ];
        if let Some(error) = &self.error {
            lines.push(Line::from(Span::styled(
                line(error, width.saturating_sub(4) as usize * 2),
                theme.error(),
            )));
        }
        lines.push(Line::from(Span::styled(
            "tab switches field · enter continues · esc leaves",
            theme.dim(),
        )));
        let block = Block::default()
            .borders(Borders::ALL)
            .border_type(BorderType::Rounded)
            .border_style(theme.accent())
            .title(" tack ");
        frame.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false }),
            rect,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use terminput::KeyEvent;

    fn key(form: &mut RegisterForm, code: KeyCode) -> RegisterOutcome {
        form.on_input(Event::Key(KeyEvent::new(code)))
    }

    #[test]
    fn typing_both_fields_then_enter_submits() {
        let mut form = RegisterForm::default();
        for c in "alice".chars() {
            key(&mut form, KeyCode::Char(c));
        }
        key(&mut form, KeyCode::Enter);
        for c in "Alice A".chars() {
            key(&mut form, KeyCode::Char(c));
        }
        assert_eq!(
            key(&mut form, KeyCode::Enter),
            RegisterOutcome::Submit {
                handle: "alice".into(),
                display_name: "Alice A".into()
            }
        );
    }
}
