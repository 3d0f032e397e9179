//! The filter bar (`/`) speaks tack's query language: `is:open label:bug assignee:@me
//! priority:>=high sort:priority-desc`. It narrows the board and the list as you type, marks
//! what it cannot read, and completes keys and values with tab.

use std::collections::HashSet;

use tack_protocol::query::{self, FLAGS, Facts, KEYS, Key, ParseError, Query};
use tack_protocol::{Issue, IssueId, Project, Timestamp, UserId};

use crate::app::App;

#[derive(Debug, Clone)]
pub struct Filter {
    pub text: String,
    pub parsed: Result<Query, ParseError>,
    /// For queries only the server can answer (comments, mentions, watchers): the text it
    /// answered and the issues it found.
    pub server: Option<(String, HashSet<IssueId>)>,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            text: String::new(),
            parsed: Ok(Query::default()),
            server: None,
        }
    }
}

impl Filter {
    pub fn set(&mut self, text: String) {
        self.parsed = query::parse(&text);
        self.text = text;
    }

    pub fn is_empty(&self) -> bool {
        self.text.trim().is_empty()
    }

    pub fn error(&self) -> Option<&ParseError> {
        self.parsed.as_ref().err()
    }

    /// Whether the server must answer this query (and has not yet for this text).
    pub fn wants_server(&self) -> bool {
        matches!(&self.parsed, Ok(q) if q.needs_server())
            && self
                .server
                .as_ref()
                .is_none_or(|(text, _)| *text != self.text)
    }

    /// A query with a mistake in it hides nothing while it is being typed.
    pub fn matches(&self, issue: &Issue, facts: &dyn Facts) -> bool {
        match &self.parsed {
            Err(_) => true,
            Ok(q) if q.needs_server() => self
                .server
                .as_ref()
                .is_some_and(|(text, ids)| *text == self.text && ids.contains(&issue.id)),
            Ok(q) => query::matches(q, issue, facts),
        }
    }

    pub fn sorts(&self) -> &[query::Sort] {
        self.parsed.as_ref().map_or(&[], |q| q.sort.as_slice())
    }
}

/// What the app knows, for evaluating queries on the issues it holds.
pub struct AppFacts<'a> {
    pub app: &'a App,
}

impl Facts for AppFacts<'_> {
    fn me(&self) -> Option<UserId> {
        self.app.me.user.as_ref().map(|u| u.id)
    }
    fn user(&self, handle: &str) -> Option<UserId> {
        self.app
            .users
            .values()
            .find(|u| u.handle.eq_ignore_ascii_case(handle))
            .map(|u| u.id)
    }
    fn project(&self, id: u64) -> Option<&Project> {
        self.app
            .board
            .as_ref()
            .map(|b| &b.project)
            .filter(|p| p.id == id)
            .or_else(|| self.app.projects.iter().find(|p| p.id == id))
    }
    fn issue_key(&self, id: IssueId) -> Option<(String, bool)> {
        let issue = self
            .app
            .board
            .as_ref()
            .and_then(|b| b.issues.iter().find(|i| i.id == id))?;
        Some((
            issue.key.clone(),
            !self.app.state_category(issue).is_closed(),
        ))
    }
    fn now(&self) -> Timestamp {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
    fn text_match(&self, issue: &Issue, text: &str) -> bool {
        let text = text.to_lowercase();
        issue.key.to_lowercase().contains(&text)
            || issue.title.to_lowercase().contains(&text)
            || issue.description.to_lowercase().contains(&text)
    }
}

/// Where the word being typed starts, and the word.
fn last_word(text: &str) -> (usize, &str) {
    let start = text
        .rfind(|c: char| c.is_whitespace() || c == '(')
        .map_or(0, |i| i + 1);
    let word = &text[start..];
    match word.strip_prefix('-') {
        Some(rest) => (start + 1, rest),
        None => (start, word),
    }
}

fn quoted(value: &str) -> String {
    if value.contains(char::is_whitespace) {
        format!("\"{value}\"")
    } else {
        value.to_string()
    }
}

/// Completions for the word being typed: keys, flags, and the values the app knows.
pub fn completions(text: &str, app: &App) -> Vec<String> {
    let (_, word) = last_word(text);
    let lower = word.to_lowercase();
    let Some((head, rest)) = lower.split_once(':') else {
        let mut all: Vec<String> = KEYS.iter().map(|(n, _)| format!("{n}:")).collect();
        all.extend(["is:", "no:", "has:", "sort:"].map(String::from));
        return all.into_iter().filter(|c| c.starts_with(&lower)).collect();
    };
    let after_comma = rest.rsplit(',').next().unwrap_or(rest);
    // A comparison stays in front of the value being completed.
    let partial = [">=", "<=", ">", "<"]
        .iter()
        .find_map(|op| after_comma.strip_prefix(op))
        .unwrap_or(after_comma);
    let values: Vec<String> = match head {
        "is" => FLAGS.iter().map(|(n, _)| n.to_string()).collect(),
        "no" | "has" => KEYS.iter().map(|(n, _)| n.to_string()).collect(),
        "sort" => KEYS
            .iter()
            .filter(|(_, k)| k.is_ordered() || matches!(k, Key::Project | Key::Status))
            .flat_map(|(n, _)| [format!("{n}-desc"), format!("{n}-asc")])
            .collect(),
        _ => match Key::from_name(head) {
            Some(Key::Priority) => ["urgent", "high", "medium", "low", "none"]
                .map(String::from)
                .to_vec(),
            Some(Key::Status) => app
                .board
                .as_ref()
                .map(|b| b.project.states.iter().map(|s| quoted(&s.name)).collect())
                .unwrap_or_default(),
            Some(Key::Assignee | Key::Author | Key::Mentions | Key::Commenter | Key::Watcher) => {
                let mut handles: Vec<String> =
                    app.users.values().map(|u| u.handle.clone()).collect();
                handles.sort();
                std::iter::once("@me".to_string()).chain(handles).collect()
            }
            Some(Key::Label) => {
                let mut labels: Vec<String> = app
                    .board
                    .iter()
                    .flat_map(|b| b.issues.iter().flat_map(|i| i.labels.iter().cloned()))
                    .collect();
                labels.sort();
                labels.dedup();
                labels
            }
            Some(Key::Project) => app.projects.iter().map(|p| p.key.to_lowercase()).collect(),
            Some(k) if k.is_date() => ["<=@today+7d", "@today", "<@today", ">7d"]
                .map(String::from)
                .to_vec(),
            _ => Vec::new(),
        },
    };
    let done = &rest[..rest.len() - partial.len()];
    values
        .into_iter()
        .filter(|v| v.to_lowercase().starts_with(partial) && v.to_lowercase() != partial)
        .map(|v| format!("{head}:{done}{v}"))
        .collect()
}

/// The text with the word being typed replaced by `completion`.
pub fn complete(text: &str, completion: &str) -> String {
    let (start, _) = last_word(text);
    format!("{}{completion}", &text[..start])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_being_typed_is_completed_in_place() {
        assert_eq!(last_word("is:open -lab"), (9, "lab"));
        assert_eq!(complete("is:open -lab", "label:"), "is:open -label:");
        assert_eq!(complete("(prio", "priority:"), "(priority:");
        let mut filter = Filter::default();
        filter.set("is:open asignee:x".into());
        assert_eq!(filter.error().map(|e| e.column), Some(9));
        filter.set("commenter:bob".into());
        assert!(filter.wants_server());
        filter.server = Some(("commenter:bob".into(), HashSet::from([3])));
        assert!(!filter.wants_server());
    }
}
