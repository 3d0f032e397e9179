//! The command palette (`ctrl-k` or `:`): every action in the keymap, plus jumps to each
//! project's board, fuzzy-matched as you type.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

use crate::keymap::{Action, BINDINGS, Scope};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Action(Action),
    OpenBoard(String),
    OpenList,
    Filter,
}

#[derive(Debug, Clone)]
pub struct PaletteItem {
    pub label: String,
    pub keys: String,
    pub entry: Entry,
}

/// Everything the palette can do from `scope`, with the projects the viewer can open.
pub fn items(scope: Scope, projects: &[(String, String)]) -> Vec<PaletteItem> {
    let mut items: Vec<PaletteItem> = BINDINGS
        .iter()
        .filter(|b| b.scope == scope || b.scope == Scope::Global)
        .filter(|b| {
            !matches!(
                b.action,
                Action::Up | Action::Down | Action::Left | Action::Right
            )
        })
        .map(|b| PaletteItem {
            label: b.description.to_string(),
            keys: b.shown.to_string(),
            entry: Entry::Action(b.action),
        })
        .collect();
    items.push(PaletteItem {
        label: "filter issues".into(),
        keys: "/".into(),
        entry: Entry::Filter,
    });
    if matches!(scope, Scope::Board) {
        items.push(PaletteItem {
            label: "show as a list".into(),
            keys: "v".into(),
            entry: Entry::OpenList,
        });
    }
    for (key, name) in projects {
        items.push(PaletteItem {
            label: format!("open board {key} · {name}"),
            keys: String::new(),
            entry: Entry::OpenBoard(key.clone()),
        });
    }
    items
}

/// The items matching `query`, best first (all of them, in order, for an empty query).
pub fn matching(items: &[PaletteItem], query: &str) -> Vec<PaletteItem> {
    if query.trim().is_empty() {
        return items.to_vec();
    }
    let pattern = Pattern::parse(query, CaseMatching::Ignore, Normalization::Smart);
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    let mut scored: Vec<(u32, &PaletteItem)> = items
        .iter()
        .filter_map(|item| {
            pattern
                .score(Utf32Str::new(&item.label, &mut buf), &mut matcher)
                .map(|score| (score, item))
        })
        .collect();
    scored.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
    scored.into_iter().map(|(_, item)| item.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_finds_actions_and_boards() {
        let all = items(Scope::Board, &[("TACK".into(), "Tack".into())]);
        let found = matching(&all, "mvright");
        assert_eq!(
            found.first().map(|i| i.entry.clone()),
            Some(Entry::Action(Action::MoveRight))
        );
        let found = matching(&all, "tack");
        assert!(
            found
                .iter()
                .any(|i| i.entry == Entry::OpenBoard("TACK".into()))
        );
        assert_eq!(matching(&all, "").len(), all.len());
    }
}
