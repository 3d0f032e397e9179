//! Every key the app answers to, in one table: the key handling, the footer hints and the help
//! screen are all built from it, so they cannot disagree.

use terminput::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    Home,
    Board,
    Detail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Back,
    Help,
    GoHome,
    Up,
    Down,
    Left,
    Right,
    Open,
    SwitchPane,
    MoveLeft,
    MoveRight,
    RankUp,
    RankDown,
    Create,
    Comment,
    SetState,
    SetPriority,
    Assign,
    EditTitle,
    Close,
    Refresh,
}

pub struct Binding {
    pub scope: Scope,
    pub keys: &'static [KeyCode],
    pub shown: &'static str,
    pub action: Action,
    pub description: &'static str,
    /// The footer's short label, for the keys shown there too.
    pub hint: Option<&'static str>,
}

use KeyCode::*;

pub const BINDINGS: &[Binding] = &[
    Binding {
        scope: Scope::Global,
        keys: &[Char('?')],
        shown: "?",
        action: Action::Help,
        description: "help: every key",
        hint: Some("help"),
    },
    Binding {
        scope: Scope::Global,
        keys: &[Char('q')],
        shown: "q",
        action: Action::Quit,
        description: "quit",
        hint: Some("quit"),
    },
    Binding {
        scope: Scope::Global,
        keys: &[Esc, Backspace],
        shown: "esc",
        action: Action::Back,
        description: "back",
        hint: Some("back"),
    },
    Binding {
        scope: Scope::Global,
        keys: &[Char('g')],
        shown: "g",
        action: Action::GoHome,
        description: "go home",
        hint: None,
    },
    Binding {
        scope: Scope::Global,
        keys: &[Up, Char('k')],
        shown: "↑/k",
        action: Action::Up,
        description: "up",
        hint: None,
    },
    Binding {
        scope: Scope::Global,
        keys: &[Down, Char('j')],
        shown: "↓/j",
        action: Action::Down,
        description: "down",
        hint: None,
    },
    Binding {
        scope: Scope::Global,
        keys: &[Char('r')],
        shown: "r",
        action: Action::Refresh,
        description: "reload from the server",
        hint: None,
    },
    Binding {
        scope: Scope::Home,
        keys: &[Enter],
        shown: "enter",
        action: Action::Open,
        description: "open the issue or project",
        hint: Some("open"),
    },
    Binding {
        scope: Scope::Home,
        keys: &[Tab, Left, Right, Char('h'), Char('l')],
        shown: "tab",
        action: Action::SwitchPane,
        description: "switch between issues and projects",
        hint: Some("switch"),
    },
    Binding {
        scope: Scope::Board,
        keys: &[Left, Char('h')],
        shown: "←/h",
        action: Action::Left,
        description: "previous column",
        hint: None,
    },
    Binding {
        scope: Scope::Board,
        keys: &[Right, Char('l')],
        shown: "→/l",
        action: Action::Right,
        description: "next column",
        hint: None,
    },
    Binding {
        scope: Scope::Board,
        keys: &[Enter],
        shown: "enter",
        action: Action::Open,
        description: "open the card",
        hint: Some("open"),
    },
    Binding {
        scope: Scope::Board,
        keys: &[Char('H')],
        shown: "H",
        action: Action::MoveLeft,
        description: "move the card one column left",
        hint: Some("move ←"),
    },
    Binding {
        scope: Scope::Board,
        keys: &[Char('L')],
        shown: "L",
        action: Action::MoveRight,
        description: "move the card one column right",
        hint: Some("move →"),
    },
    Binding {
        scope: Scope::Board,
        keys: &[Char('K')],
        shown: "K",
        action: Action::RankUp,
        description: "move the card up",
        hint: None,
    },
    Binding {
        scope: Scope::Board,
        keys: &[Char('J')],
        shown: "J",
        action: Action::RankDown,
        description: "move the card down",
        hint: None,
    },
    Binding {
        scope: Scope::Board,
        keys: &[Char('c')],
        shown: "c",
        action: Action::Create,
        description: "create an issue in this column",
        hint: Some("new"),
    },
    Binding {
        scope: Scope::Detail,
        keys: &[Char('s')],
        shown: "s",
        action: Action::SetState,
        description: "set the state",
        hint: Some("state"),
    },
    Binding {
        scope: Scope::Detail,
        keys: &[Char('p')],
        shown: "p",
        action: Action::SetPriority,
        description: "set the priority",
        hint: Some("priority"),
    },
    Binding {
        scope: Scope::Detail,
        keys: &[Char('a')],
        shown: "a",
        action: Action::Assign,
        description: "assign or unassign someone",
        hint: Some("assign"),
    },
    Binding {
        scope: Scope::Detail,
        keys: &[Char('e')],
        shown: "e",
        action: Action::EditTitle,
        description: "edit the title",
        hint: None,
    },
    Binding {
        scope: Scope::Detail,
        keys: &[Char('m')],
        shown: "m",
        action: Action::Comment,
        description: "write a comment",
        hint: Some("comment"),
    },
    Binding {
        scope: Scope::Detail,
        keys: &[Char('x')],
        shown: "x",
        action: Action::Close,
        description: "close or reopen",
        hint: None,
    },
];

/// The action `key` means in `scope` (screen keys first, then global ones).
pub fn action_for(scope: Scope, key: &KeyEvent) -> Option<Action> {
    let code = match key.code {
        // Shifted letters arrive as upper case; a SHIFT modifier on them changes nothing.
        Char(c) if key.modifiers.contains(KeyModifiers::CTRL) && c == 'c' => {
            return Some(Action::Quit);
        }
        other => other,
    };
    let lookup = |wanted: Scope| {
        BINDINGS
            .iter()
            .find(|b| b.scope == wanted && b.keys.contains(&code))
            .map(|b| b.action)
    };
    lookup(scope).or_else(|| lookup(Scope::Global))
}

/// The bindings shown in the footer of a screen.
pub fn hints(scope: Scope) -> impl Iterator<Item = &'static Binding> {
    BINDINGS
        .iter()
        .filter(move |b| b.hint.is_some() && (b.scope == scope || b.scope == Scope::Global))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screen_keys_win_over_global_ones() {
        assert_eq!(
            action_for(Scope::Board, &KeyEvent::new(Char('l'))),
            Some(Action::Right)
        );
        assert_eq!(
            action_for(Scope::Detail, &KeyEvent::new(Char('j'))),
            Some(Action::Down)
        );
        assert_eq!(
            action_for(Scope::Board, &KeyEvent::new(Char('L'))),
            Some(Action::MoveRight)
        );
        assert_eq!(
            action_for(
                Scope::Home,
                &KeyEvent::new(Char('c')).modifiers(KeyModifiers::CTRL)
            ),
            Some(Action::Quit)
        );
    }

    #[test]
    fn no_key_means_two_things_on_one_screen() {
        for scope in [Scope::Global, Scope::Home, Scope::Board, Scope::Detail] {
            let mut seen = Vec::new();
            for binding in BINDINGS.iter().filter(|b| b.scope == scope) {
                for key in binding.keys {
                    assert!(!seen.contains(key), "{key:?} twice in {scope:?}");
                    seen.push(*key);
                }
            }
        }
    }
}
