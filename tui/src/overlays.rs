//! The layers over a screen: help, one-line prompts, pickers, the palette, the editor and the
//! conflict question. A key goes to the top layer first.

use tack_protocol::{Issue, IssuePatch, NewIssue, Priority, Request};
use terminput::{KeyCode, KeyEvent};

use crate::app::{App, Command, Overlay, Pending, Picker, Prompt, Screen, edit, step};

impl App {
    pub(crate) fn on_overlay_key(&mut self, key: KeyEvent) -> Vec<Command> {
        let Some(overlay) = self.overlay.take() else {
            return Vec::new();
        };
        match overlay {
            Overlay::Help | Overlay::Reveal { .. } => Vec::new(),
            Overlay::TotpEnrol {
                uri,
                secret,
                mut code,
            } => match key.code {
                KeyCode::Esc => Vec::new(),
                KeyCode::Enter => vec![self.send(Pending::Totp, Request::ConfirmTotp { code })],
                other => {
                    if matches!(other, KeyCode::Backspace)
                        || matches!(other, KeyCode::Char(c) if c.is_ascii_digit())
                    {
                        edit(&mut code, other);
                    }
                    self.overlay = Some(Overlay::TotpEnrol { uri, secret, code });
                    Vec::new()
                }
            },
            Overlay::Input { prompt, mut text } => match key.code {
                KeyCode::Esc => Vec::new(),
                KeyCode::Enter => self.submit(prompt, text),
                code => {
                    if matches!(prompt, Prompt::Filter) && code == KeyCode::Tab {
                        if let Some(first) = crate::filter::completions(&text, self).first() {
                            text = crate::filter::complete(&text, first);
                        }
                    } else {
                        edit(&mut text, code);
                    }
                    let mut out = Vec::new();
                    if matches!(prompt, Prompt::Filter) {
                        // The filter narrows the view as you type.
                        out = self.set_filter(text.clone());
                    }
                    self.overlay = Some(Overlay::Input { prompt, text });
                    out
                }
            },
            Overlay::Pick {
                picker,
                options,
                mut selected,
            } => match key.code {
                KeyCode::Esc | KeyCode::Char('q') => Vec::new(),
                KeyCode::Enter => match options.get(selected) {
                    Some((value, _)) => self.pick(picker, value.clone()),
                    None => Vec::new(),
                },
                code => {
                    selected = step(selected, options.len(), code);
                    self.overlay = Some(Overlay::Pick {
                        picker,
                        options,
                        selected,
                    });
                    Vec::new()
                }
            },
            Overlay::Editor(mut editor) => match editor.on_key(&key) {
                crate::editor::EditorOutcome::Editing => {
                    self.overlay = Some(Overlay::Editor(editor));
                    Vec::new()
                }
                crate::editor::EditorOutcome::Cancel => Vec::new(),
                crate::editor::EditorOutcome::Save(text) => {
                    self.save_editor(editor.target.clone(), text)
                }
            },
            Overlay::Conflict {
                current,
                retry,
                mine,
            } => self.resolve_conflict(key.code, *current, *retry, mine),
            Overlay::Search {
                mut text,
                hits,
                mut selected,
            } => match key.code {
                KeyCode::Esc => Vec::new(),
                KeyCode::Enter => match hits.get(selected) {
                    Some(hit) => self.open_issue(hit.issue.key.clone()),
                    None => Vec::new(),
                },
                KeyCode::Up | KeyCode::Down => {
                    selected = step(selected, hits.len(), key.code);
                    self.overlay = Some(Overlay::Search {
                        text,
                        hits,
                        selected,
                    });
                    Vec::new()
                }
                code => {
                    edit(&mut text, code);
                    let ask = text.trim().to_string();
                    self.overlay = Some(Overlay::Search {
                        text,
                        hits: if ask.is_empty() { Vec::new() } else { hits },
                        selected: 0,
                    });
                    if ask.is_empty() {
                        return Vec::new();
                    }
                    vec![self.send(
                        Pending::Search(ask.clone()),
                        Request::Search {
                            text: ask,
                            project: None,
                            limit: 30,
                        },
                    )]
                }
            },
            Overlay::Palette {
                mut query,
                mut selected,
            } => {
                let found = crate::palette::matching(&self.palette_items(), &query);
                match key.code {
                    KeyCode::Esc => Vec::new(),
                    KeyCode::Enter => match found.get(selected) {
                        Some(item) => self.run_palette(item.entry.clone()),
                        None => Vec::new(),
                    },
                    KeyCode::Up | KeyCode::Down => {
                        selected = step(selected, found.len(), key.code);
                        self.overlay = Some(Overlay::Palette { query, selected });
                        Vec::new()
                    }
                    code => {
                        edit(&mut query, code);
                        self.overlay = Some(Overlay::Palette { query, selected: 0 });
                        Vec::new()
                    }
                }
            }
        }
    }

    pub fn palette_items(&self) -> Vec<crate::palette::PaletteItem> {
        let projects: Vec<(String, String)> = self
            .projects
            .iter()
            .map(|p| (p.key.clone(), p.name.clone()))
            .collect();
        crate::palette::items(self.scope(), &projects)
    }

    pub(crate) fn run_palette(&mut self, entry: crate::palette::Entry) -> Vec<Command> {
        use crate::palette::Entry;
        match entry {
            Entry::Action(action) => self.on_action(action),
            Entry::Filter => {
                self.overlay = Some(Overlay::Input {
                    prompt: Prompt::Filter,
                    text: self.filter.text.clone(),
                });
                Vec::new()
            }
            Entry::OpenList => {
                self.go(Screen::List);
                Vec::new()
            }
            Entry::OpenBoard(key) => match self.projects.iter().find(|p| p.key == key).cloned() {
                Some(project) => self.open_board(project),
                None => Vec::new(),
            },
        }
    }

    /// Applies a filter; a query only the server can answer is sent to it.
    pub(crate) fn set_filter(&mut self, text: String) -> Vec<Command> {
        self.filter.set(text);
        self.clamp_cursors();
        let Some(project) = self.board.as_ref().map(|b| b.project.key.clone()) else {
            return Vec::new();
        };
        if !self.filter.wants_server() {
            return Vec::new();
        }
        let query = self.filter.text.clone();
        vec![self.send(
            Pending::FilterIds(query.clone()),
            Request::ListIssues {
                project: Some(project),
                filter: tack_protocol::IssueFilter {
                    query: Some(query),
                    limit: Some(5000),
                    ..Default::default()
                },
            },
        )]
    }

    pub(crate) fn submit(&mut self, prompt: Prompt, text: String) -> Vec<Command> {
        let text = text.trim().to_string();
        if let Prompt::Filter = prompt {
            return self.set_filter(text);
        }
        if let Prompt::Due { issue, version } = prompt {
            return vec![self.send_due(issue, version, text)];
        }
        if let Prompt::Admin(prompt) = prompt {
            return self.admin_submit(prompt, text);
        }
        if text.is_empty() {
            return Vec::new();
        }
        match prompt {
            Prompt::Filter | Prompt::Due { .. } | Prompt::Admin(_) => Vec::new(),
            Prompt::SaveView => {
                let (name, shared) = match text.strip_suffix(" shared") {
                    Some(name) => (name.trim().to_string(), true),
                    None => (text, false),
                };
                let layout = if self.screen == crate::app::Screen::List {
                    tack_protocol::Layout::List
                } else {
                    tack_protocol::Layout::Board
                };
                let project = self.board.as_ref().map(|b| b.project.key.clone());
                vec![self.send(
                    Pending::ViewSaved,
                    Request::SaveView {
                        name,
                        project,
                        query: self.filter.text.clone(),
                        layout,
                        shared,
                    },
                )]
            }
            Prompt::Labels { issues } => {
                let (remove, add): (Vec<String>, Vec<String>) = text
                    .split_whitespace()
                    .map(str::to_string)
                    .partition(|w| w.starts_with('-'));
                let remove: Vec<String> = remove
                    .into_iter()
                    .map(|w| w.trim_start_matches('-').to_string())
                    .collect();
                let requests: Vec<Request> = issues
                    .into_iter()
                    .map(|key| Request::LabelIssue {
                        key,
                        add: add.clone(),
                        remove: remove.clone(),
                    })
                    .collect();
                requests
                    .into_iter()
                    .map(|request| self.send(Pending::Change, request))
                    .collect()
            }
            Prompt::AddKey => vec![self.send(
                Pending::ProfileChange,
                Request::AddKey {
                    user: None,
                    public_key: text,
                },
            )],
            Prompt::NewToken => vec![self.send(
                Pending::Reveal,
                Request::CreateToken {
                    user: None,
                    name: text,
                },
            )],
            Prompt::NewIssue { project, state } => {
                let new = NewIssue {
                    project,
                    title: text,
                    description: String::new(),
                    state,
                    priority: Priority::None,
                    assignees: Vec::new(),
                    labels: Vec::new(),
                    estimate: None,
                    due: None,
                    parent: None,
                };
                vec![self.send(Pending::Change, Request::CreateIssue(new))]
            }
            Prompt::Title { issue, version } => {
                let patch = IssuePatch {
                    title: Some(text.clone()),
                    ..Default::default()
                };
                vec![self.send_edit(issue, version, patch, text)]
            }
        }
    }

    /// Sets or (with "" or "none") clears a due date.
    fn send_due(&mut self, issue: String, version: u64, date: String) -> Command {
        let due = if date.is_empty() || date == "none" {
            None
        } else {
            Some(date.clone())
        };
        self.send_edit(
            issue,
            version,
            IssuePatch {
                due: Some(due),
                ..Default::default()
            },
            date,
        )
    }

    /// Sends an edit of typed text; if it loses a race, the author is asked what to keep.
    fn send_edit(&mut self, key: String, version: u64, patch: IssuePatch, mine: String) -> Command {
        let request = Request::UpdateIssue {
            key,
            version,
            patch,
        };
        self.send(
            Pending::Edit {
                retry: Box::new(request.clone()),
                mine,
            },
            request,
        )
    }

    pub(crate) fn save_editor(
        &mut self,
        target: crate::editor::EditTarget,
        text: String,
    ) -> Vec<Command> {
        use crate::editor::EditTarget;
        match target {
            EditTarget::Comment { issue } if !text.trim().is_empty() => {
                vec![self.send(
                    Pending::Comments(issue.clone()),
                    Request::AddComment { issue, body: text },
                )]
            }
            EditTarget::Comment { .. } => Vec::new(),
            EditTarget::Description { issue, version } => {
                let patch = IssuePatch {
                    description: Some(text.clone()),
                    ..Default::default()
                };
                vec![self.send_edit(issue, version, patch, text)]
            }
        }
    }

    /// `r` takes their version, `o` writes yours over it, `k` takes theirs and keeps yours as a
    /// comment. Anything else leaves the question open.
    pub(crate) fn resolve_conflict(
        &mut self,
        code: KeyCode,
        current: Issue,
        retry: Request,
        mine: String,
    ) -> Vec<Command> {
        match code {
            KeyCode::Char('r') => {
                self.apply_fresh(current);
                Vec::new()
            }
            KeyCode::Char('o') => {
                let request = match retry {
                    Request::UpdateIssue { key, patch, .. } => Request::UpdateIssue {
                        key,
                        version: current.version,
                        patch,
                    },
                    other => other,
                };
                self.apply_fresh(current);
                vec![self.send(
                    Pending::Edit {
                        retry: Box::new(request.clone()),
                        mine,
                    },
                    request,
                )]
            }
            KeyCode::Char('k') => {
                let key = current.key.clone();
                self.apply_fresh(current);
                let body = format!("My edit, kept when {key} changed under me:\n\n{mine}");
                vec![self.send(
                    Pending::Comments(key.clone()),
                    Request::AddComment { issue: key, body },
                )]
            }
            _ => {
                self.overlay = Some(Overlay::Conflict {
                    current: Box::new(current),
                    retry: Box::new(retry),
                    mine,
                });
                Vec::new()
            }
        }
    }

    pub(crate) fn apply_fresh(&mut self, issue: Issue) {
        self.apply_issue(issue);
    }

    /// One change per picked issue (a bulk change from the list is several).
    pub(crate) fn pick(&mut self, picker: Picker, value: String) -> Vec<Command> {
        let requests: Vec<Request> = match picker {
            Picker::State { issues } => issues
                .into_iter()
                .map(|key| Request::MoveIssue {
                    key,
                    state: value.clone(),
                })
                .collect(),
            Picker::Priority { issues } => {
                let priority = value.parse().unwrap_or(Priority::None);
                issues
                    .into_iter()
                    .map(|key| {
                        let version = self.find_issue(&key).map_or(0, |i| i.version);
                        Request::UpdateIssue {
                            key,
                            version,
                            patch: IssuePatch {
                                priority: Some(priority),
                                ..Default::default()
                            },
                        }
                    })
                    .collect()
            }
            Picker::Due { issue, version } if value == "custom" => {
                let text = self
                    .find_issue(&issue)
                    .and_then(|i| i.due.clone())
                    .unwrap_or_default();
                self.overlay = Some(Overlay::Input {
                    prompt: Prompt::Due { issue, version },
                    text,
                });
                return Vec::new();
            }
            Picker::Due { issue, version } => {
                return vec![self.send_due(issue, version, value)];
            }
            Picker::Labels { issues } if value.is_empty() => {
                self.overlay = Some(Overlay::Input {
                    prompt: Prompt::Labels { issues },
                    text: String::new(),
                });
                return Vec::new();
            }
            Picker::Labels { issues } => issues
                .into_iter()
                .map(|key| {
                    let has = self
                        .find_issue(&key)
                        .is_some_and(|i| i.labels.contains(&value));
                    let (add, remove) = if has {
                        (Vec::new(), vec![value.clone()])
                    } else {
                        (vec![value.clone()], Vec::new())
                    };
                    Request::LabelIssue { key, add, remove }
                })
                .collect(),
            Picker::Assignee { issues } => issues
                .into_iter()
                .map(|key| {
                    let assigned = self.find_issue(&key).is_some_and(|i| {
                        i.assignees
                            .iter()
                            .any(|id| self.users.get(id).is_some_and(|u| u.handle == value))
                    });
                    let (add, remove) = if assigned {
                        (Vec::new(), vec![value.clone()])
                    } else {
                        (vec![value.clone()], Vec::new())
                    };
                    Request::AssignIssue { key, add, remove }
                })
                .collect(),
        };
        requests
            .into_iter()
            .map(|request| self.send(Pending::Change, request))
            .collect()
    }
}
