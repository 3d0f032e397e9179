//! Every key the app answers to, in one table: the key handling, the footer hints and the help
//! screen are all built from it, so they cannot disagree.

use terminput::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    Home,
    Board,
    List,
    Detail,
    Profile,
    Inbox,
    Admin,
    Insights,
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
    EditDescription,
    Close,
    Refresh,
    Palette,
    Filter,
    ToggleView,
    Sort,
    Select,
    Profile,
    AddKey,
    NewToken,
    Remove,
    TwoFactor,
    Inbox,
    ReadAll,
    Labels,
    Due,
    Admin,
    AdminDisable,
    AdminUnlock,
    AdminRole,
    AdminDelete,
    AdminRetry,
    AdminVerify,
    Watch,
    Unwatch,
    EmailMode,
    SaveView,
    Insights,
    Search,
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

const fn bind(
    scope: Scope,
    keys: &'static [KeyCode],
    shown: &'static str,
    action: Action,
    description: &'static str,
    hint: Option<&'static str>,
) -> Binding {
    Binding {
        scope,
        keys,
        shown,
        action,
        description,
        hint,
    }
}

use Scope::{
    Admin as A, Board as B, Detail as D, Global as G, Home as H, Inbox as I, List as L,
    Profile as P,
};

#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    bind(G, &[Char('?')], "?", Action::Help, "help: the keys of this screen", Some("help")),
    bind(G, &[Char(':')], ":", Action::Palette, "command palette (also ctrl-k)", Some("commands")),
    bind(G, &[Char('q')], "q", Action::Quit, "quit", Some("quit")),
    bind(G, &[Esc, Backspace], "esc", Action::Back, "back", Some("back")),
    bind(G, &[Char('g')], "g", Action::GoHome, "go home", None),
    bind(G, &[Up, Char('k')], "↑/k", Action::Up, "up", None),
    bind(G, &[Down, Char('j')], "↓/j", Action::Down, "down", None),
    bind(G, &[Char('r')], "r", Action::Refresh, "reload from the server", None),
    bind(G, &[Char('P')], "P", Action::Profile, "your profile: SSH keys and API tokens", None),
    bind(G, &[Char('i')], "i", Action::Inbox, "your inbox", Some("inbox")),
    bind(G, &[Char('A')], "A", Action::Admin, "the admin console (server admins)", None),
    bind(G, &[Char('f')], "f", Action::Search, "find: search every issue's words, ranked", Some("find")),
    bind(A, &[Tab, Right, Char('l')], "tab/→", Action::Right, "next tab", Some("next tab")),
    bind(A, &[Left, Char('h')], "←", Action::Left, "previous tab", None),
    bind(A, &[Char('n')], "n", Action::Create, "new user, invite, backup or job run", Some("new")),
    bind(A, &[Char('x'), Delete], "x", Action::Remove, "revoke, end, drop (keys, invites, tokens, sessions, jobs)", Some("revoke")),
    bind(A, &[Char('d')], "d", Action::AdminDisable, "disable or enable the user", None),
    bind(A, &[Char('a')], "a", Action::AdminRole, "make the user an admin, or a user again", None),
    bind(A, &[Char('u')], "u", Action::AdminUnlock, "lift the lock of too many wrong two-factor codes", None),
    bind(A, &[Char('D')], "D", Action::AdminDelete, "delete the user (their issues go to whom you name)", None),
    bind(A, &[Char('t')], "t", Action::AdminRetry, "retry the failed job", None),
    bind(A, &[Char('v')], "v", Action::AdminVerify, "verify the backup", None),
    bind(A, &[Char('/')], "/", Action::Filter, "filter the audit log", Some("filter")),
    bind(I, &[Enter], "enter", Action::Open, "open the issue (and mark it read)", Some("open")),
    bind(I, &[Char('R')], "R", Action::ReadAll, "mark everything read", Some("all read")),
    bind(H, &[Enter], "enter", Action::Open, "open the issue or project", Some("open")),
    bind(H, &[Char('c')], "c", Action::Create, "create an issue", Some("new")),
    bind(L, &[Char('c')], "c", Action::Create, "create an issue", Some("new")),
    bind(D, &[Char('c')], "c", Action::Create, "create an issue in this project", None),
    bind(H, &[Tab, Left, Right, Char('h'), Char('l')], "tab", Action::SwitchPane, "switch between issues, projects and views", Some("switch")),
    bind(B, &[Left, Char('h')], "←/h", Action::Left, "previous column", None),
    bind(B, &[Right, Char('l')], "→/l", Action::Right, "next column", None),
    bind(B, &[Enter], "enter", Action::Open, "open the card", Some("open")),
    bind(B, &[Char('H')], "H", Action::MoveLeft, "move the card one column left", Some("move ←")),
    bind(B, &[Char('L')], "L", Action::MoveRight, "move the card one column right", Some("move →")),
    bind(B, &[Char('K')], "K", Action::RankUp, "move the card up", None),
    bind(B, &[Char('J')], "J", Action::RankDown, "move the card down", None),
    bind(B, &[Char('c')], "c", Action::Create, "create an issue in this column", Some("new")),
    bind(B, &[Char('/')], "/", Action::Filter, "filter: a query (is:open label:bug assignee:@me sort:due)", Some("filter")),
    bind(B, &[Char('v')], "v", Action::ToggleView, "show the issues as a list", None),
    bind(B, &[Char('I')], "I", Action::Insights, "insights: charts of the project (the burndown follows the filter)", None),
    bind(L, &[Char('I')], "I", Action::Insights, "insights: charts of the project (the burndown follows the filter)", None),
    bind(B, &[Char('S')], "S", Action::SaveView, "save the filter as a view (on the home screen)", None),
    bind(L, &[Char('S')], "S", Action::SaveView, "save the filter as a view (on the home screen)", None),
    bind(L, &[Enter], "enter", Action::Open, "open the issue", Some("open")),
    bind(L, &[Char('o')], "o", Action::Sort, "sort by the next column", Some("sort")),
    bind(L, &[Char(' ')], "space", Action::Select, "select for a bulk change", Some("select")),
    bind(L, &[Char('s')], "s", Action::SetState, "set the state of the selection", Some("state")),
    bind(L, &[Char('p')], "p", Action::SetPriority, "set the priority of the selection", None),
    bind(L, &[Char('a')], "a", Action::Assign, "assign or unassign the selection", None),
    bind(L, &[Char('l')], "l", Action::Labels, "add or remove labels on the selection", None),
    bind(L, &[Char('/')], "/", Action::Filter, "filter: a query (is:open label:bug assignee:@me sort:due)", Some("filter")),
    bind(L, &[Char('v')], "v", Action::ToggleView, "show the issues as a board", None),
    bind(P, &[Tab, Left, Right, Char('h'), Char('l')], "tab", Action::SwitchPane, "switch between keys and tokens", Some("switch")),
    bind(P, &[Char('a')], "a", Action::AddKey, "add an SSH key (paste its .pub line)", Some("add key")),
    bind(P, &[Char('t')], "t", Action::NewToken, "create an API token (shown once)", Some("new token")),
    bind(P, &[Char('x'), Delete], "x", Action::Remove, "remove the key or revoke the token", Some("remove")),
    bind(P, &[Char('T')], "T", Action::TwoFactor, "turn on two-factor (TOTP) for SSH logins", Some("2fa")),
    bind(P, &[Char('e')], "e", Action::EmailMode, "email notifications: off, instant or a daily digest", Some("email")),
    bind(D, &[Char('s')], "s", Action::SetState, "set the state", Some("state")),
    bind(D, &[Char('p')], "p", Action::SetPriority, "set the priority", Some("priority")),
    bind(D, &[Char('a')], "a", Action::Assign, "assign or unassign someone", Some("assign")),
    bind(D, &[Char('e')], "e", Action::EditTitle, "edit the title", None),
    bind(D, &[Char('d')], "d", Action::EditDescription, "edit the description", None),
    bind(D, &[Char('m')], "m", Action::Comment, "write a comment", Some("comment")),
    bind(D, &[Char('x')], "x", Action::Close, "close or reopen", None),
    bind(D, &[Char('l')], "l", Action::Labels, "add or remove labels", None),
    bind(D, &[Char('u')], "u", Action::Due, "set the due date", None),
    bind(D, &[Char('w')], "w", Action::Watch, "watch: its comments and state changes reach your inbox", None),
    bind(D, &[Char('W')], "W", Action::Unwatch, "stop watching", None),
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
        for scope in [
            Scope::Global,
            Scope::Home,
            Scope::Board,
            Scope::List,
            Scope::Detail,
            Scope::Profile,
            Scope::Inbox,
            Scope::Admin,
            Scope::Insights,
        ] {
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
