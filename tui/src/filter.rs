//! The filter bar (`/`): words narrow the board and the list. `@alice` or `@me` for an assignee,
//! `#bug` for a label, `p:high` for a priority, `s:todo` for a state, anything else must appear
//! in the key or the title.

use tack_protocol::{Issue, Priority, Project};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub text: String,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.text.trim().is_empty()
    }

    /// Whether `issue` passes every word. `handle_of` names assignees; `me` is the viewer.
    pub fn matches(
        &self,
        issue: &Issue,
        project: Option<&Project>,
        me: Option<u64>,
        handle_of: &dyn Fn(u64) -> String,
    ) -> bool {
        self.text.split_whitespace().all(|word| {
            let lower = word.to_lowercase();
            if let Some(handle) = lower.strip_prefix('@') {
                if handle == "me" {
                    return me.is_some_and(|me| issue.assignees.contains(&me));
                }
                return issue
                    .assignees
                    .iter()
                    .any(|id| handle_of(*id).to_lowercase().starts_with(handle));
            }
            if let Some(label) = lower.strip_prefix('#') {
                return issue.labels.iter().any(|l| l.starts_with(label));
            }
            if let Some(priority) = lower.strip_prefix("p:") {
                return priority
                    .parse::<Priority>()
                    .is_ok_and(|p| p == issue.priority);
            }
            if let Some(state) = lower.strip_prefix("s:") {
                return project
                    .and_then(|p| p.state(issue.state))
                    .is_some_and(|s| s.name.to_lowercase().starts_with(state));
            }
            issue.key.to_lowercase().contains(&lower) || issue.title.to_lowercase().contains(&lower)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tack_protocol::Actor;

    fn issue() -> Issue {
        Issue {
            id: 1,
            project: 1,
            number: 7,
            key: "TACK-7".into(),
            title: "Crash on resize".into(),
            description: String::new(),
            state: 1,
            priority: Priority::High,
            assignees: vec![3],
            labels: vec!["bug".into()],
            estimate: None,
            due: None,
            parent: None,
            blocked_by: vec![],
            rank: "i".into(),
            created_at: 0,
            updated_at: 0,
            closed_at: None,
            creator: Actor::Console,
            version: 1,
        }
    }

    #[test]
    fn words_combine() {
        let handle = |id: u64| {
            if id == 3 {
                "alice".to_string()
            } else {
                "bob".to_string()
            }
        };
        let check =
            |text: &str| Filter { text: text.into() }.matches(&issue(), None, Some(3), &handle);
        assert!(check("crash"));
        assert!(check("tack-7"));
        assert!(check("@ali #bug p:high"));
        assert!(check("@me"));
        assert!(!check("@bob"));
        assert!(!check("#ui"));
        assert!(!check("crash p:low"));
        assert!(check(""));
    }
}
