//! The multi-line editor for descriptions and comments (ratatui-textarea): cursor movement, word
//! jumps, paste, undo. `ctrl-s` saves, `esc` cancels.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, BorderType, Borders, Clear};
use ratatui_textarea::{Input, Key, TextArea};
use terminput::{KeyCode, KeyEvent, KeyModifiers};

use crate::theme::Theme;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditTarget {
    Comment { issue: String },
    Description { issue: String, version: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditorOutcome {
    Editing,
    Save(String),
    Cancel,
}

#[derive(Debug, Clone)]
pub struct Editor {
    pub target: EditTarget,
    area: TextArea<'static>,
}

fn to_input(key: &KeyEvent) -> Input {
    let code = match key.code {
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Enter => Key::Enter,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Tab => Key::Tab,
        KeyCode::Delete => Key::Delete,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Esc => Key::Esc,
        KeyCode::F(n) => Key::F(n),
        _ => Key::Null,
    };
    Input {
        key: code,
        ctrl: key.modifiers.contains(KeyModifiers::CTRL),
        alt: key.modifiers.contains(KeyModifiers::ALT),
        shift: key.modifiers.contains(KeyModifiers::SHIFT),
    }
}

impl Editor {
    pub fn new(target: EditTarget, text: &str) -> Editor {
        let lines = if text.is_empty() {
            vec![String::new()]
        } else {
            text.lines().map(str::to_string).collect()
        };
        let mut area = TextArea::new(lines);
        area.set_placeholder_text("Write here. Markdown is kept as you type it.");
        area.move_cursor(ratatui_textarea::CursorMove::Bottom);
        area.move_cursor(ratatui_textarea::CursorMove::End);
        Editor { target, area }
    }

    pub fn text(&self) -> String {
        self.area.lines().join("\n")
    }

    pub fn on_key(&mut self, key: &KeyEvent) -> EditorOutcome {
        let ctrl = key.modifiers.contains(KeyModifiers::CTRL);
        match key.code {
            KeyCode::Esc => EditorOutcome::Cancel,
            KeyCode::Char('s') if ctrl => EditorOutcome::Save(self.text()),
            KeyCode::Enter if key.modifiers.contains(KeyModifiers::ALT) => {
                EditorOutcome::Save(self.text())
            }
            _ => {
                self.area.input(to_input(key));
                EditorOutcome::Editing
            }
        }
    }

    pub fn paste(&mut self, text: &str) {
        self.area.insert_str(crate::text::plain(text));
    }

    pub fn draw(&mut self, theme: &Theme, frame: &mut Frame, area: Rect) {
        let title = match &self.target {
            EditTarget::Comment { issue } => {
                format!(" Comment on {issue} · ctrl-s saves · esc cancels ")
            }
            EditTarget::Description { issue, .. } => {
                format!(" Description of {issue} · ctrl-s saves · esc cancels ")
            }
        };
        let width = area.width.saturating_sub(4).min(100);
        let height = area.height.saturating_sub(2).min(20);
        let rect = Rect {
            x: area.x + (area.width - width) / 2,
            y: area.y + (area.height - height) / 2,
            width,
            height,
        };
        frame.render_widget(Clear, rect);
        self.area.set_block(
            Block::default()
                .borders(Borders::ALL)
                .border_type(BorderType::Rounded)
                .border_style(theme.accent())
                .title(Span::styled(title, theme.accent())),
        );
        self.area
            .set_cursor_line_style(ratatui::style::Style::default());
        frame.render_widget(&self.area, rect);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(editor: &mut Editor, code: KeyCode, modifiers: KeyModifiers) -> EditorOutcome {
        editor.on_key(&KeyEvent::new(code).modifiers(modifiers))
    }

    #[test]
    fn lines_undo_and_save() {
        let mut editor = Editor::new(
            EditTarget::Comment {
                issue: "TACK-1".into(),
            },
            "",
        );
        for c in "first".chars() {
            key(&mut editor, KeyCode::Char(c), KeyModifiers::NONE);
        }
        key(&mut editor, KeyCode::Enter, KeyModifiers::NONE);
        for c in "second".chars() {
            key(&mut editor, KeyCode::Char(c), KeyModifiers::NONE);
        }
        key(&mut editor, KeyCode::Char('u'), KeyModifiers::CTRL);
        assert_eq!(editor.text().lines().next(), Some("first"));
        editor.paste("pasted\u{1b}[31m");
        assert!(!editor.text().contains('\u{1b}'));
        assert!(
            matches!(key(&mut editor, KeyCode::Char('s'), KeyModifiers::CTRL), EditorOutcome::Save(text) if text.starts_with("first\n"))
        );
    }
}
