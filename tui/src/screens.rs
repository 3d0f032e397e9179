//! What each screen does with an action: home, board, list and issue detail.

use std::collections::HashMap;

use tack_protocol::{Issue, Priority, Request, User};

use crate::app::{App, Command, Overlay, Pane, Pending, Picker, Prompt, Screen, SortKey};
use crate::keymap::Action;

impl App {
    pub(crate) fn screen_action(&mut self, action: Action) -> Vec<Command> {
        match (self.screen, action) {
            (Screen::Board | Screen::List, Action::Filter) => {
                self.overlay = Some(Overlay::Input {
                    prompt: Prompt::Filter,
                    text: self.filter.text.clone(),
                });
                Vec::new()
            }
            (Screen::Board | Screen::List, Action::SaveView) => {
                if self.filter.is_empty() {
                    self.toast("type a filter with / first; a view saves it", true);
                } else {
                    self.overlay = Some(Overlay::Input {
                        prompt: Prompt::SaveView,
                        text: String::new(),
                    });
                }
                Vec::new()
            }
            (Screen::Board, Action::ToggleView) => {
                self.screen = Screen::List;
                Vec::new()
            }
            (Screen::List, Action::ToggleView) => {
                self.screen = Screen::Board;
                Vec::new()
            }
            (Screen::Home | Screen::List | Screen::Detail, Action::Create) => {
                self.quick_create();
                Vec::new()
            }
            (Screen::Board | Screen::List, Action::Insights) => {
                self.go(Screen::Insights);
                self.insights_request()
            }
            (Screen::Home, _) => self.home_action(action),
            (Screen::Board, _) => self.board_action(action),
            (Screen::List, _) => self.list_action(action),
            (Screen::Detail, _) => self.detail_action(action),
            (Screen::Profile, _) => self.profile_action(action),
            (Screen::Inbox, _) => self.inbox_action(action),
            (Screen::Insights, _) => Vec::new(),
            (Screen::Admin, _) => self.admin_action(action),
        }
    }

    fn home_action(&mut self, action: Action) -> Vec<Command> {
        let len = match self.pane {
            Pane::Issues => self.my_issues.len(),
            Pane::Projects => self.projects.len(),
            Pane::Views => self.views.len(),
        };
        match action {
            Action::Up => self.home_row = self.home_row.saturating_sub(1),
            Action::Down => self.home_row = (self.home_row + 1).min(len.saturating_sub(1)),
            Action::SwitchPane => {
                self.pane = match self.pane {
                    Pane::Issues => Pane::Projects,
                    Pane::Projects if !self.views.is_empty() => Pane::Views,
                    _ => Pane::Issues,
                };
                self.home_row = 0;
            }
            Action::Open => match self.pane {
                Pane::Issues => {
                    if let Some(issue) = self.my_issues.get(self.home_row) {
                        return self.open_issue(issue.key.clone());
                    }
                }
                Pane::Projects => {
                    if let Some(project) = self.projects.get(self.home_row).cloned() {
                        return self.open_board(project);
                    }
                }
                Pane::Views => {
                    if let Some(view) = self.views.get(self.home_row).cloned() {
                        return self.open_view(view);
                    }
                }
            },
            _ => {}
        }
        Vec::new()
    }

    fn passes_filter(&self, issue: &Issue) -> bool {
        if self.filter.is_empty() {
            return true;
        }
        self.filter
            .matches(issue, &crate::filter::AppFacts { app: self })
    }

    /// The issues of one board column that pass the filter, in rank order.
    pub fn column(&self, index: usize) -> Vec<&Issue> {
        let Some(board) = &self.board else {
            return Vec::new();
        };
        let Some(state) = board.project.states.get(index) else {
            return Vec::new();
        };
        let mut issues: Vec<&Issue> = board
            .issues
            .iter()
            .filter(|i| i.state == state.id && self.passes_filter(i))
            .collect();
        issues.sort_by(|a, b| a.rank.cmp(&b.rank).then(a.id.cmp(&b.id)));
        issues
    }

    pub fn selected_card(&self) -> Option<&Issue> {
        let board = self.board.as_ref()?;
        self.column(board.column).get(board.row).copied()
    }

    fn board_action(&mut self, action: Action) -> Vec<Command> {
        let Some(board) = &self.board else {
            return Vec::new();
        };
        let states: Vec<String> = board
            .project
            .states
            .iter()
            .map(|s| s.name.clone())
            .collect();
        let (column, row) = (board.column, board.row);
        let cards: Vec<String> = self.column(column).iter().map(|i| i.key.clone()).collect();
        let selected = cards.get(row).cloned();
        let mut out = Vec::new();
        match action {
            Action::Left => self.set_cursor(column.saturating_sub(1), row),
            Action::Right => self.set_cursor((column + 1).min(states.len().saturating_sub(1)), row),
            Action::Up => self.set_cursor(column, row.saturating_sub(1)),
            Action::Down => self.set_cursor(column, (row + 1).min(cards.len().saturating_sub(1))),
            Action::Open => {
                if let Some(key) = selected {
                    return self.open_issue(key);
                }
            }
            Action::MoveLeft | Action::MoveRight => {
                let target = if action == Action::MoveLeft {
                    column.checked_sub(1)
                } else {
                    Some(column + 1).filter(|c| *c < states.len())
                };
                if let (Some(key), Some(target)) = (selected, target) {
                    out.push(self.send(
                        Pending::Change,
                        Request::MoveIssue {
                            key,
                            state: states[target].clone(),
                        },
                    ));
                    self.set_cursor(target, usize::MAX);
                }
            }
            Action::RankUp | Action::RankDown => {
                let request = match (selected, action) {
                    (Some(key), Action::RankUp) if row > 0 => Some((
                        Request::RankIssue {
                            key,
                            after: None,
                            before: Some(cards[row - 1].clone()),
                        },
                        row - 1,
                    )),
                    (Some(key), Action::RankDown) if row + 1 < cards.len() => Some((
                        Request::RankIssue {
                            key,
                            after: Some(cards[row + 1].clone()),
                            before: None,
                        },
                        row + 1,
                    )),
                    _ => None,
                };
                if let Some((request, next)) = request {
                    out.push(self.send(Pending::Change, request));
                    self.set_cursor(column, next);
                }
            }
            Action::Create => {
                let state = states.get(column).cloned().unwrap_or_default();
                self.overlay = Some(Overlay::Input {
                    prompt: Prompt::NewIssue {
                        project: self
                            .board
                            .as_ref()
                            .map(|b| b.project.key.clone())
                            .unwrap_or_default(),
                        state: Some(state),
                    },
                    text: String::new(),
                });
            }
            _ => {}
        }
        out
    }

    pub(crate) fn set_cursor(&mut self, column: usize, row: usize) {
        let rows = self.column(column).len();
        if let Some(board) = &mut self.board {
            board.column = column;
            board.row = row.min(rows.saturating_sub(1));
        }
    }

    /// After the data or the filter changed, keep every cursor on something that exists.
    pub(crate) fn clamp_cursors(&mut self) {
        let (column, row) = self.board.as_ref().map_or((0, 0), |b| (b.column, b.row));
        if self.board.is_some() {
            self.set_cursor(column, row);
        }
        let rows = self.list_rows().len();
        self.list.row = self.list.row.min(rows.saturating_sub(1));
        self.home_row = self.home_row.min(self.my_issues.len().saturating_sub(1));
    }

    /// The list view's rows: the board's issues that pass the filter, in the chosen order.
    pub fn list_rows(&self) -> Vec<&Issue> {
        let Some(board) = &self.board else {
            return Vec::new();
        };
        let state_order = |issue: &Issue| {
            board
                .project
                .states
                .iter()
                .position(|s| s.id == issue.state)
                .unwrap_or(usize::MAX)
        };
        let mut rows: Vec<&Issue> = board
            .issues
            .iter()
            .filter(|i| self.passes_filter(i))
            .collect();
        match self.list.sort {
            SortKey::State => rows.sort_by(|a, b| {
                state_order(a)
                    .cmp(&state_order(b))
                    .then(a.rank.cmp(&b.rank))
            }),
            SortKey::Priority => {
                rows.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.number.cmp(&b.number)))
            }
            SortKey::Key => rows.sort_by_key(|i| i.number),
            SortKey::Updated => rows.sort_by_key(|i| std::cmp::Reverse(i.updated_at)),
            SortKey::Title => rows.sort_by_key(|i| i.title.to_lowercase()),
        }
        // A query's own sort wins over the list's.
        let sorts = self.filter.sorts();
        if !sorts.is_empty() {
            let mut owned: Vec<Issue> = rows.iter().map(|i| (*i).clone()).collect();
            tack_protocol::query::sort_issues(
                &mut owned,
                sorts,
                &crate::filter::AppFacts { app: self },
            );
            let order: HashMap<u64, usize> =
                owned.iter().enumerate().map(|(n, i)| (i.id, n)).collect();
            rows.sort_by_key(|i| order.get(&i.id).copied().unwrap_or(usize::MAX));
        }
        rows
    }

    /// The issues a list action applies to: the selection, or else the row under the cursor.
    fn list_targets(&self) -> Vec<String> {
        if !self.list.selected.is_empty() {
            return self.list.selected.iter().cloned().collect();
        }
        self.list_rows()
            .get(self.list.row)
            .map(|i| vec![i.key.clone()])
            .unwrap_or_default()
    }

    fn list_action(&mut self, action: Action) -> Vec<Command> {
        let rows: Vec<String> = self.list_rows().iter().map(|i| i.key.clone()).collect();
        match action {
            Action::Up => self.list.row = self.list.row.saturating_sub(1),
            Action::Down => self.list.row = (self.list.row + 1).min(rows.len().saturating_sub(1)),
            Action::Sort => self.list.sort = self.list.sort.next(),
            Action::Select => {
                if let Some(key) = rows.get(self.list.row) {
                    if !self.list.selected.remove(key) {
                        self.list.selected.insert(key.clone());
                    }
                    self.list.row = (self.list.row + 1).min(rows.len().saturating_sub(1));
                }
            }
            Action::Open => {
                if let Some(key) = rows.get(self.list.row).cloned() {
                    return self.open_issue(key);
                }
            }
            Action::SetState | Action::SetPriority | Action::Assign | Action::Labels => {
                let targets = self.list_targets();
                if !targets.is_empty() {
                    let current = targets.first().and_then(|k| self.find_issue(k)).cloned();
                    self.open_picker(action, targets, current.as_ref());
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// Opens the state, priority or assignee picker for `issues`, starting at `current`'s value.
    fn open_picker(&mut self, action: Action, issues: Vec<String>, current: Option<&Issue>) {
        let (picker, options, selected): (Picker, Vec<(String, String)>, usize) = match action {
            Action::SetState => {
                let project = current
                    .and_then(|i| self.project_of(i))
                    .or(self.board.as_ref().map(|b| &b.project));
                let states = project.map(|p| p.states.clone()).unwrap_or_default();
                let selected = current
                    .and_then(|i| states.iter().position(|s| s.id == i.state))
                    .unwrap_or(0);
                (
                    Picker::State { issues },
                    states
                        .iter()
                        .map(|s| (s.name.clone(), s.name.clone()))
                        .collect(),
                    selected,
                )
            }
            Action::SetPriority => {
                let all = [
                    Priority::None,
                    Priority::Low,
                    Priority::Medium,
                    Priority::High,
                    Priority::Urgent,
                ];
                let selected = current
                    .and_then(|i| all.iter().position(|p| *p == i.priority))
                    .unwrap_or(0);
                (
                    Picker::Priority { issues },
                    all.iter().map(|p| (p.to_string(), p.to_string())).collect(),
                    selected,
                )
            }
            Action::Labels => {
                // Every label in use on the board, plus a way to make a new one.
                let mut labels: Vec<String> = self
                    .board
                    .as_ref()
                    .map(|b| b.issues.iter().flat_map(|i| i.labels.clone()).collect())
                    .unwrap_or_default();
                labels.extend(current.map(|i| i.labels.clone()).unwrap_or_default());
                labels.sort();
                labels.dedup();
                let mut options = vec![(String::new(), "+ new label…".to_string())];
                options.extend(labels.into_iter().map(|l| {
                    let mark = if current.is_some_and(|i| i.labels.contains(&l)) {
                        "✓ "
                    } else {
                        "  "
                    };
                    let shown = format!("{mark}{l}");
                    (l, shown)
                }));
                (Picker::Labels { issues }, options, 0)
            }
            _ => {
                let mut users: Vec<&User> = self.users.values().filter(|u| !u.disabled).collect();
                users.sort_by(|a, b| a.handle.cmp(&b.handle));
                let options = users
                    .iter()
                    .map(|u| {
                        let mark = if current.is_some_and(|i| i.assignees.contains(&u.id)) {
                            "✓ "
                        } else {
                            "  "
                        };
                        (
                            u.handle.clone(),
                            format!("{mark}@{} {}", u.handle, u.display_name),
                        )
                    })
                    .collect();
                (Picker::Assignee { issues }, options, 0)
            }
        };
        self.overlay = Some(Overlay::Pick {
            picker,
            options,
            selected,
        });
    }

    fn detail_action(&mut self, action: Action) -> Vec<Command> {
        let Some(issue) = self.detail_issue().cloned() else {
            return Vec::new();
        };
        match action {
            Action::Down | Action::Up => {
                if let Some(detail) = &mut self.detail {
                    detail.scroll = if action == Action::Down {
                        detail.scroll.saturating_add(1)
                    } else {
                        detail.scroll.saturating_sub(1)
                    };
                }
            }
            Action::Comment => {
                let editor = crate::editor::Editor::new(
                    crate::editor::EditTarget::Comment { issue: issue.key },
                    "",
                );
                self.overlay = Some(Overlay::Editor(Box::new(editor)));
            }
            Action::EditDescription => {
                let target = crate::editor::EditTarget::Description {
                    issue: issue.key.clone(),
                    version: issue.version,
                };
                self.overlay = Some(Overlay::Editor(Box::new(crate::editor::Editor::new(
                    target,
                    &issue.description,
                ))));
            }
            Action::EditTitle => {
                self.overlay = Some(Overlay::Input {
                    prompt: Prompt::Title {
                        issue: issue.key,
                        version: issue.version,
                    },
                    text: issue.title,
                })
            }
            Action::SetState | Action::SetPriority | Action::Assign | Action::Labels => {
                self.open_picker(action, vec![issue.key.clone()], Some(&issue))
            }
            Action::Due => {
                let today = crate::text::today();
                let mut options: Vec<(String, String)> = [
                    (0, "today"),
                    (1, "tomorrow"),
                    (3, "in 3 days"),
                    (7, "in a week"),
                    (14, "in two weeks"),
                    (30, "in 30 days"),
                ]
                .iter()
                .map(|(days, label)| {
                    let date = crate::text::date_after(today, *days);
                    (date.clone(), format!("{label:<14}{date}"))
                })
                .collect();
                options.push(("custom".into(), "a date…".into()));
                options.push(("none".into(), "no due date".into()));
                self.overlay = Some(Overlay::Pick {
                    picker: Picker::Due {
                        issue: issue.key.clone(),
                        version: issue.version,
                    },
                    options,
                    selected: 0,
                });
            }
            Action::Watch | Action::Unwatch => {
                let watch = action == Action::Watch;
                self.toast(
                    if watch {
                        format!(
                            "watching {}: its comments and state changes reach your inbox",
                            issue.key
                        )
                    } else {
                        format!("no longer watching {}", issue.key)
                    },
                    false,
                );
                return vec![self.send(
                    Pending::Change,
                    Request::WatchIssue {
                        key: issue.key,
                        watch,
                    },
                )];
            }
            Action::Close => {
                let request = if issue.closed_at.is_some() {
                    Request::ReopenIssue { key: issue.key }
                } else {
                    Request::CloseIssue { key: issue.key }
                };
                return vec![self.send(Pending::Change, request)];
            }
            _ => {}
        }
        Vec::new()
    }

    fn profile_action(&mut self, action: Action) -> Vec<Command> {
        let len = if self.profile.on_tokens {
            self.profile.tokens.len()
        } else {
            self.profile.keys.len()
        };
        match action {
            Action::Up => self.profile.row = self.profile.row.saturating_sub(1),
            Action::Down => self.profile.row = (self.profile.row + 1).min(len.saturating_sub(1)),
            Action::SwitchPane => {
                self.profile.on_tokens = !self.profile.on_tokens;
                self.profile.row = 0;
            }
            Action::AddKey => {
                self.overlay = Some(Overlay::Input {
                    prompt: Prompt::AddKey,
                    text: String::new(),
                })
            }
            Action::TwoFactor => return vec![self.send(Pending::Totp, Request::BeginTotp)],
            Action::EmailMode => return self.next_email_mode(),
            Action::NewToken => {
                self.overlay = Some(Overlay::Input {
                    prompt: Prompt::NewToken,
                    text: String::new(),
                })
            }
            Action::Remove => {
                let request = if self.profile.on_tokens {
                    self.profile
                        .tokens
                        .get(self.profile.row)
                        .filter(|t| !t.revoked)
                        .map(|t| Request::RevokeToken { id: t.id.clone() })
                } else {
                    self.profile
                        .keys
                        .get(self.profile.row)
                        .map(|k| Request::RemoveKey {
                            fingerprint: k.fingerprint.clone(),
                        })
                };
                if let Some(request) = request {
                    return vec![self.send(Pending::ProfileChange, request)];
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn inbox_action(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::Up => self.inbox_row = self.inbox_row.saturating_sub(1),
            Action::Down => {
                self.inbox_row = (self.inbox_row + 1).min(self.inbox.len().saturating_sub(1))
            }
            Action::Open => {
                let Some(notification) = self.inbox.get_mut(self.inbox_row) else {
                    return Vec::new();
                };
                let (id, key, unread) = (
                    notification.id,
                    notification.issue_key.clone(),
                    !notification.read,
                );
                notification.read = true;
                let mut out = Vec::new();
                if unread {
                    out.push(self.send(
                        Pending::InboxChange,
                        Request::MarkNotificationsRead { ids: vec![id] },
                    ));
                }
                out.extend(self.open_issue(key));
                return out;
            }
            Action::ReadAll => {
                self.inbox.iter_mut().for_each(|n| n.read = true);
                return vec![self.send(
                    Pending::InboxChange,
                    Request::MarkNotificationsRead { ids: Vec::new() },
                )];
            }
            _ => {}
        }
        Vec::new()
    }
}
