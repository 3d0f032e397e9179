//! Colours, chosen from what the terminal says it can show; `NO_COLOR` gets a monochrome theme
//! that uses bold, reverse and dim only.

use ratatui::style::{Color, Modifier, Style};
use tack_protocol::{Priority, StateCategory};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorSupport {
    None,
    Basic,
    Ansi256,
    TrueColor,
}

impl ColorSupport {
    /// From the session's TERM, COLORTERM and NO_COLOR.
    pub fn detect(term: Option<&str>, colorterm: Option<&str>, no_color: bool) -> ColorSupport {
        if no_color {
            return ColorSupport::None;
        }
        if matches!(colorterm, Some("truecolor") | Some("24bit")) {
            return ColorSupport::TrueColor;
        }
        match term {
            Some(t) if t.contains("256color") => ColorSupport::Ansi256,
            Some("dumb") => ColorSupport::None,
            _ => ColorSupport::Basic,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub support: ColorSupport,
}

impl Theme {
    pub fn new(support: ColorSupport) -> Theme {
        Theme { support }
    }

    fn pick(&self, rgb: (u8, u8, u8), indexed: u8, basic: Color) -> Option<Color> {
        match self.support {
            ColorSupport::None => None,
            ColorSupport::Basic => Some(basic),
            ColorSupport::Ansi256 => Some(Color::Indexed(indexed)),
            ColorSupport::TrueColor => Some(Color::Rgb(rgb.0, rgb.1, rgb.2)),
        }
    }

    fn fg(&self, rgb: (u8, u8, u8), indexed: u8, basic: Color) -> Style {
        match self.pick(rgb, indexed, basic) {
            Some(color) => Style::default().fg(color),
            None => Style::default(),
        }
    }

    pub fn accent(&self) -> Style {
        self.fg((129, 140, 248), 105, Color::Blue)
            .add_modifier(Modifier::BOLD)
    }

    pub fn dim(&self) -> Style {
        match self.support {
            ColorSupport::None => Style::default().add_modifier(Modifier::DIM),
            _ => self.fg((120, 120, 130), 244, Color::DarkGray),
        }
    }

    pub fn text(&self) -> Style {
        Style::default()
    }

    pub fn title(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    pub fn selected(&self) -> Style {
        match self.pick((49, 50, 68), 236, Color::DarkGray) {
            Some(bg) if self.support != ColorSupport::Basic => {
                Style::default().bg(bg).add_modifier(Modifier::BOLD)
            }
            _ => Style::default().add_modifier(Modifier::REVERSED),
        }
    }

    pub fn border(&self) -> Style {
        self.dim()
    }

    pub fn focused_border(&self) -> Style {
        self.accent()
    }

    pub fn error(&self) -> Style {
        self.fg((248, 113, 113), 203, Color::Red)
            .add_modifier(Modifier::BOLD)
    }

    pub fn ok(&self) -> Style {
        self.fg((74, 222, 128), 114, Color::Green)
    }

    pub fn label(&self) -> Style {
        self.fg((244, 162, 97), 215, Color::Yellow)
    }

    pub fn priority(&self, priority: Priority) -> Style {
        match priority {
            Priority::Urgent => self.error(),
            Priority::High => self.fg((251, 146, 60), 208, Color::Yellow),
            Priority::Medium => self.fg((250, 204, 21), 220, Color::Yellow),
            Priority::Low => self.fg((96, 165, 250), 75, Color::Cyan),
            Priority::None => self.dim(),
        }
    }

    pub fn state(&self, category: StateCategory) -> Style {
        match category {
            StateCategory::Backlog => self.dim(),
            StateCategory::Unstarted => self.text(),
            StateCategory::Started => self.fg((250, 204, 21), 220, Color::Yellow),
            StateCategory::Done => self.fg((129, 140, 248), 105, Color::Blue),
            StateCategory::Canceled => self.dim().add_modifier(Modifier::CROSSED_OUT),
        }
    }
}

pub fn priority_glyph(priority: Priority) -> &'static str {
    match priority {
        Priority::Urgent => "!!",
        Priority::High => "▲▲",
        Priority::Medium => "▲ ",
        Priority::Low => "▽ ",
        Priority::None => "· ",
    }
}

pub fn state_glyph(category: StateCategory) -> &'static str {
    match category {
        StateCategory::Backlog => "◌",
        StateCategory::Unstarted => "○",
        StateCategory::Started => "◐",
        StateCategory::Done => "●",
        StateCategory::Canceled => "⊘",
    }
}
