//! Whether an issue matches a query, and ordering issues by a query's sorts.

use std::cmp::Ordering;

use super::{Cmp, Expr, Flag, Key, Query, Sort, Term, Value};
use crate::model::{Actor, Issue, IssueId, Priority, Project, StateCategory, Timestamp, UserId};

const DAY_MS: i64 = 86_400_000;

/// What evaluation needs beyond the issue itself. The server answers everything; the TUI
/// answers what it holds (the keys that need the server say so in `Key::needs_server`).
pub trait Facts {
    fn me(&self) -> Option<UserId>;
    fn user(&self, handle: &str) -> Option<UserId>;
    fn project(&self, id: u64) -> Option<&Project>;
    /// `TACK-12` of an issue id, and whether it is still open.
    fn issue_key(&self, id: IssueId) -> Option<(String, bool)>;
    fn now(&self) -> Timestamp;
    /// Free text: the server asks its search index; by default, words in the title or
    /// description, case-insensitively.
    fn text_match(&self, issue: &Issue, text: &str) -> bool {
        let text = text.to_lowercase();
        issue.title.to_lowercase().contains(&text)
            || issue.description.to_lowercase().contains(&text)
    }
    fn commenters(&self, _issue: &Issue) -> Vec<UserId> {
        Vec::new()
    }
    fn mentions(&self, _issue: &Issue) -> Vec<UserId> {
        Vec::new()
    }
    fn watchers(&self, _issue: &Issue) -> Vec<UserId> {
        Vec::new()
    }
}

/// Days since the epoch of `YYYY-MM-DD` (Howard Hinnant's days-from-civil).
pub fn day_of(date: &str) -> Option<i64> {
    let mut parts = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || parts.next().is_some() {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

fn today(facts: &dyn Facts) -> i64 {
    facts.now().div_euclid(DAY_MS)
}

/// A value as a day number, for date keys.
fn day_value(value: &Value, facts: &dyn Facts) -> Option<i64> {
    match value {
        Value::Today(shift) => Some(today(facts) + shift),
        Value::Ago(days) => Some(today(facts) - days),
        Value::Word(w) | Value::Quoted(w) => day_of(w),
        Value::Me => None,
    }
}

fn text_of(value: &Value) -> Option<&str> {
    match value {
        Value::Word(w) | Value::Quoted(w) => Some(w),
        _ => None,
    }
}

fn user_of(value: &Value, facts: &dyn Facts) -> Option<UserId> {
    match value {
        Value::Me => facts.me(),
        Value::Word(w) | Value::Quoted(w) => facts.user(w.trim_start_matches('@')),
        _ => None,
    }
}

fn rank(priority: Priority) -> u8 {
    match priority {
        Priority::None => 0,
        Priority::Low => 1,
        Priority::Medium => 2,
        Priority::High => 3,
        Priority::Urgent => 4,
    }
}

/// The issue's value for an ordered key, as a number to compare.
fn ordinal(key: Key, issue: &Issue) -> Option<i64> {
    match key {
        Key::Priority => Some(i64::from(rank(issue.priority))),
        Key::Estimate => issue.estimate.map(i64::from),
        Key::Due => issue.due.as_deref().and_then(day_of),
        Key::Created => Some(issue.created_at.div_euclid(DAY_MS)),
        Key::Updated => Some(issue.updated_at.div_euclid(DAY_MS)),
        Key::Closed => issue.closed_at.map(|t| t.div_euclid(DAY_MS)),
        _ => None,
    }
}

/// A value as a number on the key's scale.
fn ordinal_value(key: Key, value: &Value, facts: &dyn Facts) -> Option<i64> {
    match key {
        Key::Priority => text_of(value)?
            .parse::<Priority>()
            .ok()
            .map(|p| i64::from(rank(p))),
        Key::Estimate => text_of(value)?.parse::<i64>().ok(),
        _ => day_value(value, facts),
    }
}

fn category(issue: &Issue, facts: &dyn Facts) -> Option<StateCategory> {
    facts
        .project(issue.project)
        .and_then(|p| p.state(issue.state))
        .map(|s| s.category)
}

fn is_open(issue: &Issue, facts: &dyn Facts) -> bool {
    category(issue, facts).is_none_or(|c| !c.is_closed())
}

fn users_of(key: Key, issue: &Issue, facts: &dyn Facts) -> Vec<UserId> {
    match key {
        Key::Assignee => issue.assignees.clone(),
        Key::Author => match issue.creator {
            Actor::User(id) => vec![id],
            Actor::Console => Vec::new(),
        },
        Key::Mentions => facts.mentions(issue),
        Key::Commenter => facts.commenters(issue),
        Key::Watcher => facts.watchers(issue),
        _ => Vec::new(),
    }
}

fn matches_value(key: Key, value: &Value, issue: &Issue, facts: &dyn Facts) -> bool {
    match key {
        Key::Project => text_of(value).is_some_and(|v| {
            facts
                .project(issue.project)
                .is_some_and(|p| p.key.eq_ignore_ascii_case(v))
        }),
        Key::Status => text_of(value).is_some_and(|v| {
            facts
                .project(issue.project)
                .and_then(|p| p.state(issue.state))
                .is_some_and(|s| s.name.eq_ignore_ascii_case(v))
        }),
        Key::Author if text_of(value).is_some_and(|v| v.eq_ignore_ascii_case("console")) => {
            issue.creator == Actor::Console
        }
        Key::Assignee | Key::Author | Key::Mentions | Key::Commenter | Key::Watcher => {
            user_of(value, facts).is_some_and(|u| users_of(key, issue, facts).contains(&u))
        }
        Key::Label => {
            text_of(value).is_some_and(|v| issue.labels.iter().any(|l| l.eq_ignore_ascii_case(v)))
        }
        Key::Parent => text_of(value).is_some_and(|v| {
            issue
                .parent
                .and_then(|p| facts.issue_key(p))
                .is_some_and(|(key, _)| key.eq_ignore_ascii_case(v))
        }),
        Key::BlockedBy => text_of(value).is_some_and(|v| {
            issue
                .blocked_by
                .iter()
                .filter_map(|b| facts.issue_key(*b))
                .any(|(key, _)| key.eq_ignore_ascii_case(v))
        }),
        Key::Priority | Key::Estimate | Key::Due | Key::Created | Key::Updated | Key::Closed => {
            match (ordinal(key, issue), ordinal_value(key, value, facts)) {
                (Some(have), Some(want)) => have == want,
                _ => false,
            }
        }
    }
}

fn is_set(key: Key, issue: &Issue, facts: &dyn Facts) -> bool {
    match key {
        Key::Project | Key::Status | Key::Created | Key::Updated => true,
        Key::Priority => issue.priority != Priority::None,
        Key::Label => !issue.labels.is_empty(),
        Key::Parent => issue.parent.is_some(),
        Key::BlockedBy => !issue.blocked_by.is_empty(),
        Key::Estimate => issue.estimate.is_some(),
        Key::Due => issue.due.is_some(),
        Key::Closed => issue.closed_at.is_some(),
        Key::Assignee | Key::Author | Key::Mentions | Key::Commenter | Key::Watcher => {
            !users_of(key, issue, facts).is_empty()
        }
    }
}

fn compare(cmp: Cmp, have: i64, want: i64) -> bool {
    match cmp {
        Cmp::Gt => have > want,
        Cmp::Ge => have >= want,
        Cmp::Lt => have < want,
        Cmp::Le => have <= want,
    }
}

fn term_matches(term: &Term, issue: &Issue, facts: &dyn Facts) -> bool {
    match term {
        Term::Match { key, values } => values.iter().any(|v| matches_value(*key, v, issue, facts)),
        Term::Compare { key, cmp, value } => {
            match (ordinal(*key, issue), ordinal_value(*key, value, facts)) {
                (Some(have), Some(want)) => compare(*cmp, have, want),
                _ => false,
            }
        }
        Term::Range { key, from, to } => match (
            ordinal(*key, issue),
            ordinal_value(*key, from, facts),
            ordinal_value(*key, to, facts),
        ) {
            (Some(have), Some(from), Some(to)) => from.min(to) <= have && have <= from.max(to),
            _ => false,
        },
        Term::No(key) => !is_set(*key, issue, facts),
        Term::Has(key) => is_set(*key, issue, facts),
        Term::Is(flag) => match flag {
            Flag::Open => is_open(issue, facts),
            Flag::Closed => !is_open(issue, facts),
            Flag::Blocked => issue
                .blocked_by
                .iter()
                .any(|b| facts.issue_key(*b).is_some_and(|(_, open)| open)),
            Flag::Overdue => {
                is_open(issue, facts)
                    && issue
                        .due
                        .as_deref()
                        .and_then(day_of)
                        .is_some_and(|d| d < today(facts))
            }
            Flag::Unassigned => issue.assignees.is_empty(),
            Flag::Category(c) => category(issue, facts) == Some(*c),
        },
        Term::Text(text) => facts.text_match(issue, text),
    }
}

fn expr_matches(expr: &Expr, issue: &Issue, facts: &dyn Facts) -> bool {
    match expr {
        Expr::And(all) => all.iter().all(|e| expr_matches(e, issue, facts)),
        Expr::Or(all) => all.iter().any(|e| expr_matches(e, issue, facts)),
        Expr::Not(inner) => !expr_matches(inner, issue, facts),
        Expr::Term(term) => term_matches(term, issue, facts),
    }
}

pub fn matches(query: &Query, issue: &Issue, facts: &dyn Facts) -> bool {
    query
        .expr
        .as_ref()
        .is_none_or(|e| expr_matches(e, issue, facts))
}

fn sort_value(key: Key, issue: &Issue, facts: &dyn Facts) -> (Option<i64>, String) {
    match key {
        Key::Project => (
            None,
            facts
                .project(issue.project)
                .map(|p| p.key.clone())
                .unwrap_or_default(),
        ),
        Key::Status => (
            facts
                .project(issue.project)
                .and_then(|p| p.states.iter().position(|s| s.id == issue.state))
                .map(|i| i as i64),
            String::new(),
        ),
        _ => (ordinal(key, issue), String::new()),
    }
}

/// Orders issues by the sorts, in turn; issues without a value go last either way.
/// How two issues compare under the sorts, in turn; issues without a value go last either way.
pub fn order(a: &Issue, b: &Issue, sorts: &[Sort], facts: &dyn Facts) -> Ordering {
    for sort in sorts {
        let (va, vb) = (
            sort_value(sort.key, a, facts),
            sort_value(sort.key, b, facts),
        );
        let ordering = match (va.0, vb.0) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => return Ordering::Less,
            (None, Some(_)) => return Ordering::Greater,
            (None, None) => va.1.cmp(&vb.1),
        };
        let ordering = if sort.desc {
            ordering.reverse()
        } else {
            ordering
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// Orders issues by the sorts (stable: ties keep their order).
pub fn sort_issues(issues: &mut [Issue], sorts: &[Sort], facts: &dyn Facts) {
    issues.sort_by(|a, b| order(a, b, sorts, facts));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Member, ProjectRole, WorkflowState};
    use crate::query::parse;

    struct Team {
        project: Project,
        issues: Vec<Issue>,
    }

    impl Facts for Team {
        fn me(&self) -> Option<UserId> {
            Some(1)
        }
        fn user(&self, handle: &str) -> Option<UserId> {
            match handle {
                "alice" => Some(1),
                "bob" => Some(2),
                _ => None,
            }
        }
        fn project(&self, id: u64) -> Option<&Project> {
            (id == self.project.id).then_some(&self.project)
        }
        fn issue_key(&self, id: IssueId) -> Option<(String, bool)> {
            let issue = self.issues.iter().find(|i| i.id == id)?;
            Some((issue.key.clone(), is_open(issue, self)))
        }
        fn now(&self) -> Timestamp {
            // 2026-11-26 12:00 UTC
            day_of("2026-11-26").unwrap() * DAY_MS + DAY_MS / 2
        }
        fn commenters(&self, issue: &Issue) -> Vec<UserId> {
            if issue.number == 2 { vec![2] } else { vec![] }
        }
    }

    fn issue(
        n: u64,
        state: u32,
        priority: Priority,
        assignees: Vec<u64>,
        due: Option<&str>,
    ) -> Issue {
        Issue {
            id: n,
            project: 1,
            number: n,
            key: format!("TACK-{n}"),
            title: format!("Issue number {n}"),
            description: if n == 1 {
                "The board crashes".into()
            } else {
                String::new()
            },
            state,
            priority,
            assignees,
            labels: if n.is_multiple_of(2) {
                vec!["bug".into()]
            } else {
                vec![]
            },
            estimate: Some(n as u32),
            due: due.map(str::to_string),
            parent: None,
            blocked_by: if n == 3 { vec![1] } else { vec![] },
            rank: String::new(),
            created_at: day_of("2026-11-20").unwrap() * DAY_MS + (n as i64) * DAY_MS,
            updated_at: 0,
            closed_at: None,
            creator: Actor::User(2),
            version: 1,
        }
    }

    fn team() -> Team {
        let states = [
            ("Todo", StateCategory::Unstarted),
            ("In Progress", StateCategory::Started),
            ("Done", StateCategory::Done),
        ];
        Team {
            project: Project {
                id: 1,
                key: "TACK".into(),
                name: "Tack".into(),
                description: String::new(),
                states: states
                    .iter()
                    .enumerate()
                    .map(|(i, (name, category))| WorkflowState {
                        id: i as u32 + 1,
                        name: (*name).into(),
                        category: *category,
                    })
                    .collect(),
                next_state_id: 4,
                members: vec![Member {
                    user: 1,
                    role: ProjectRole::Owner,
                }],
                next_issue_number: 5,
                archived: false,
                created_at: 0,
                updated_at: 0,
            },
            issues: vec![
                issue(1, 1, Priority::Urgent, vec![1], Some("2026-11-25")),
                issue(2, 2, Priority::High, vec![1, 2], Some("2026-11-28")),
                issue(3, 1, Priority::Low, vec![], None),
                issue(4, 3, Priority::Medium, vec![2], Some("2026-11-20")),
            ],
        }
    }

    fn keys(text: &str) -> Vec<String> {
        let team = team();
        let query = parse(text).unwrap();
        let mut found: Vec<Issue> = team
            .issues
            .iter()
            .filter(|i| matches(&query, i, &team))
            .cloned()
            .collect();
        sort_issues(&mut found, &query.sort, &team);
        found.into_iter().map(|i| i.key).collect()
    }

    #[test]
    fn terms_match_what_they_say() {
        assert_eq!(keys(""), ["TACK-1", "TACK-2", "TACK-3", "TACK-4"]);
        assert_eq!(keys("is:open"), ["TACK-1", "TACK-2", "TACK-3"]);
        assert_eq!(keys("is:done"), ["TACK-4"]);
        assert_eq!(keys("assignee:@me"), ["TACK-1", "TACK-2"]);
        assert_eq!(
            keys("-assignee:bob"),
            ["TACK-1", "TACK-3"],
            "plain complement"
        );
        assert_eq!(keys("no:assignee"), ["TACK-3"]);
        assert_eq!(keys("is:unassigned"), ["TACK-3"]);
        assert_eq!(keys("label:bug,regression"), ["TACK-2", "TACK-4"]);
        assert_eq!(keys("priority:>=high"), ["TACK-1", "TACK-2"]);
        assert_eq!(keys("status:\"in progress\""), ["TACK-2"]);
        assert_eq!(keys("due:<=@today+3d is:open"), ["TACK-1", "TACK-2"]);
        assert_eq!(keys("is:overdue"), ["TACK-1"], "TACK-4 is done");
        assert_eq!(keys("is:blocked"), ["TACK-3"]);
        assert_eq!(keys("blocked-by:tack-1"), ["TACK-3"]);
        assert_eq!(keys("estimate:2..3"), ["TACK-2", "TACK-3"]);
        assert_eq!(keys("created:>=2026-11-23"), ["TACK-3", "TACK-4"]);
        assert_eq!(
            keys("created:>4d"),
            ["TACK-3", "TACK-4"],
            "within the last 4 days"
        );
        assert_eq!(keys("commenter:bob"), ["TACK-2"]);
        assert_eq!(keys("author:bob project:tack crashes"), ["TACK-1"]);
        assert_eq!(
            keys("(priority:urgent OR is:blocked) -status:done"),
            ["TACK-1", "TACK-3"]
        );
        assert_eq!(keys("has:due -has:label"), ["TACK-1"]);
    }

    #[test]
    fn sorts_order_the_matches() {
        assert_eq!(
            keys("sort:priority-desc"),
            ["TACK-1", "TACK-2", "TACK-4", "TACK-3"]
        );
        assert_eq!(
            keys("sort:due"),
            ["TACK-4", "TACK-1", "TACK-2", "TACK-3"],
            "no due date last"
        );
        assert_eq!(
            keys("sort:status-desc sort:estimate"),
            ["TACK-4", "TACK-2", "TACK-1", "TACK-3"]
        );
    }
}
