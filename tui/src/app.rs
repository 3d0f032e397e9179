//! The app: state, `update(msg) → commands`, and (in `view`) drawing. It knows nothing of SSH or
//! sockets: the driver feeds it input and server answers, and carries out the requests it asks for.

use std::collections::{HashMap, VecDeque};

use tack_protocol::{
    ApiError, Comment, Event as ServerEvent, EventRecord, Identity, Issue, IssueFilter, IssuePatch,
    NewIssue, Priority, Project, Request, ResponseBody, StateCategory, User,
};
use terminput::{Event, KeyCode, KeyEvent, MouseEventKind, ScrollDirection};

use crate::keymap::{self, Action, Scope};
use crate::theme::Theme;

/// What the app hears: input, answers to its requests, and events pushed by the server.
pub enum Msg {
    Input(Event),
    Answer {
        token: u64,
        result: Result<ResponseBody, ApiError>,
    },
    Server(ServerEvent),
}

/// What the app asks its driver to do.
#[derive(Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // short-lived: built and carried out at once
pub enum Command {
    Send { token: u64, request: Request },
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Home,
    Board,
    Detail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Issues,
    Projects,
}

/// What an answer is for.
#[derive(Debug, Clone)]
enum Pending {
    Projects,
    MyIssues,
    Users,
    Board(String),
    Detail(String),
    Comments(String),
    /// A change; its answer updates whatever shows that issue.
    Change,
}

#[derive(Debug, Clone)]
pub enum Prompt {
    NewIssue { state: String },
    Comment { issue: String },
    Title { issue: String, version: u64 },
}

#[derive(Debug, Clone)]
pub enum Picker {
    State { issue: String },
    Priority { issue: String },
    Assignee { issue: String },
}

#[derive(Debug, Clone)]
pub enum Overlay {
    Help,
    Input {
        prompt: Prompt,
        text: String,
    },
    Pick {
        picker: Picker,
        options: Vec<(String, String)>,
        selected: usize,
    },
}

pub struct Toast {
    pub text: String,
    pub error: bool,
}

pub struct BoardState {
    pub project: Project,
    pub issues: Vec<Issue>,
    pub column: usize,
    pub row: usize,
}

pub struct DetailState {
    pub key: String,
    pub issue: Option<Issue>,
    pub comments: Vec<Comment>,
    pub scroll: u16,
}

pub struct App {
    pub me: Identity,
    pub theme: Theme,
    pub size: (u16, u16),
    pub screen: Screen,
    history: Vec<Screen>,
    pub overlay: Option<Overlay>,
    pub toasts: VecDeque<Toast>,
    pub projects: Vec<Project>,
    pub users: HashMap<u64, User>,
    pub my_issues: Vec<Issue>,
    pub pane: Pane,
    pub home_row: usize,
    pub board: Option<BoardState>,
    pub detail: Option<DetailState>,
    pending: HashMap<u64, Pending>,
    next_token: u64,
}

impl App {
    pub fn new(me: Identity, theme: Theme, size: (u16, u16)) -> App {
        App {
            me,
            theme,
            size,
            screen: Screen::Home,
            history: Vec::new(),
            overlay: None,
            toasts: VecDeque::new(),
            projects: Vec::new(),
            users: HashMap::new(),
            my_issues: Vec::new(),
            pane: Pane::Issues,
            home_row: 0,
            board: None,
            detail: None,
            pending: HashMap::new(),
            next_token: 1,
        }
    }

    /// The requests that load the first screen and subscribe to live events.
    pub fn start(&mut self) -> Vec<Command> {
        let mut out = vec![
            self.send(
                Pending::Projects,
                Request::ListProjects {
                    include_archived: false,
                },
            ),
            self.send(Pending::Users, Request::ListUsers),
            self.my_issues_request(),
        ];
        let token = self.token();
        out.push(Command::Send {
            token,
            request: Request::Subscribe {
                project: None,
                after_seq: None,
            },
        });
        out
    }

    fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    fn send(&mut self, pending: Pending, request: Request) -> Command {
        let token = self.token();
        self.pending.insert(token, pending);
        Command::Send { token, request }
    }

    fn my_issues_request(&mut self) -> Command {
        let filter = IssueFilter {
            assignee: Some("@me".into()),
            open: Some(true),
            limit: Some(500),
            ..Default::default()
        };
        if self.me.user.is_some() {
            self.send(
                Pending::MyIssues,
                Request::ListIssues {
                    project: None,
                    filter,
                },
            )
        } else {
            self.send(
                Pending::MyIssues,
                Request::ListIssues {
                    project: None,
                    filter: IssueFilter {
                        open: Some(true),
                        limit: Some(500),
                        ..Default::default()
                    },
                },
            )
        }
    }

    pub fn toast(&mut self, text: impl Into<String>, error: bool) {
        self.toasts.push_back(Toast {
            text: text.into(),
            error,
        });
        while self.toasts.len() > 3 {
            self.toasts.pop_front();
        }
    }

    pub fn scope(&self) -> Scope {
        match self.screen {
            Screen::Home => Scope::Home,
            Screen::Board => Scope::Board,
            Screen::Detail => Scope::Detail,
        }
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        match msg {
            Msg::Input(event) => self.on_input(event),
            Msg::Answer { token, result } => self.on_answer(token, result),
            Msg::Server(event) => {
                self.on_event(event);
                Vec::new()
            }
        }
    }

    fn go(&mut self, screen: Screen) {
        if self.screen != screen {
            self.history.push(self.screen);
            self.screen = screen;
        }
    }

    fn back(&mut self) -> Vec<Command> {
        match self.history.pop() {
            Some(screen) => self.screen = screen,
            None => self.screen = Screen::Home,
        }
        Vec::new()
    }

    fn on_input(&mut self, event: Event) -> Vec<Command> {
        match event {
            Event::Resize { cols, rows } => {
                self.size = (
                    cols.min(u32::from(u16::MAX)) as u16,
                    rows.min(u32::from(u16::MAX)) as u16,
                );
                Vec::new()
            }
            Event::Paste(text) => {
                if let Some(Overlay::Input { text: buffer, .. }) = &mut self.overlay {
                    buffer.push_str(&crate::text::plain(&text).replace(['\n', '\t'], " "));
                }
                Vec::new()
            }
            Event::Key(key) if key.kind == terminput::KeyEventKind::Release => Vec::new(),
            Event::Key(key) => {
                // Any key dismisses toasts; the top layer (an overlay) gets the key first.
                self.toasts.clear();
                if self.overlay.is_some() {
                    return self.on_overlay_key(key);
                }
                match keymap::action_for(self.scope(), &key) {
                    Some(action) => self.on_action(action),
                    None => Vec::new(),
                }
            }
            Event::Mouse(mouse) => match mouse.kind {
                MouseEventKind::Scroll(ScrollDirection::Down) => self.on_action(Action::Down),
                MouseEventKind::Scroll(ScrollDirection::Up) => self.on_action(Action::Up),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    fn on_overlay_key(&mut self, key: KeyEvent) -> Vec<Command> {
        let Some(overlay) = self.overlay.take() else {
            return Vec::new();
        };
        match overlay {
            Overlay::Help => Vec::new(),
            Overlay::Input { prompt, mut text } => match key.code {
                KeyCode::Esc => Vec::new(),
                KeyCode::Enter => self.submit(prompt, text),
                KeyCode::Backspace => {
                    text.pop();
                    self.overlay = Some(Overlay::Input { prompt, text });
                    Vec::new()
                }
                KeyCode::Char(c) => {
                    if text.chars().count() < 2000 {
                        text.push(c);
                    }
                    self.overlay = Some(Overlay::Input { prompt, text });
                    Vec::new()
                }
                _ => {
                    self.overlay = Some(Overlay::Input { prompt, text });
                    Vec::new()
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
                KeyCode::Up | KeyCode::Char('k') => {
                    selected = selected.saturating_sub(1);
                    self.overlay = Some(Overlay::Pick {
                        picker,
                        options,
                        selected,
                    });
                    Vec::new()
                }
                KeyCode::Down | KeyCode::Char('j') => {
                    selected = (selected + 1).min(options.len().saturating_sub(1));
                    self.overlay = Some(Overlay::Pick {
                        picker,
                        options,
                        selected,
                    });
                    Vec::new()
                }
                _ => {
                    self.overlay = Some(Overlay::Pick {
                        picker,
                        options,
                        selected,
                    });
                    Vec::new()
                }
            },
        }
    }

    fn submit(&mut self, prompt: Prompt, text: String) -> Vec<Command> {
        let text = text.trim().to_string();
        if text.is_empty() {
            return Vec::new();
        }
        match prompt {
            Prompt::NewIssue { state } => {
                let Some(board) = &self.board else {
                    return Vec::new();
                };
                let new = NewIssue {
                    project: board.project.key.clone(),
                    title: text,
                    description: String::new(),
                    state: Some(state),
                    priority: Priority::None,
                    assignees: Vec::new(),
                    labels: Vec::new(),
                    estimate: None,
                    due: None,
                    parent: None,
                };
                vec![self.send(Pending::Change, Request::CreateIssue(new))]
            }
            Prompt::Comment { issue } => vec![self.send(
                Pending::Comments(issue.clone()),
                Request::AddComment { issue, body: text },
            )],
            Prompt::Title { issue, version } => {
                let patch = IssuePatch {
                    title: Some(text),
                    ..Default::default()
                };
                vec![self.send(
                    Pending::Change,
                    Request::UpdateIssue {
                        key: issue,
                        version,
                        patch,
                    },
                )]
            }
        }
    }

    fn pick(&mut self, picker: Picker, value: String) -> Vec<Command> {
        let request = match picker {
            Picker::State { issue } => Request::MoveIssue {
                key: issue,
                state: value,
            },
            Picker::Priority { issue } => {
                let priority = value.parse().unwrap_or(Priority::None);
                let version = self.detail_issue().map_or(0, |i| i.version);
                Request::UpdateIssue {
                    key: issue,
                    version,
                    patch: IssuePatch {
                        priority: Some(priority),
                        ..Default::default()
                    },
                }
            }
            Picker::Assignee { issue } => {
                let assigned = self.detail_issue().is_some_and(|i| {
                    i.assignees
                        .iter()
                        .any(|id| self.users.get(id).is_some_and(|u| u.handle == value))
                });
                if assigned {
                    Request::AssignIssue {
                        key: issue,
                        add: Vec::new(),
                        remove: vec![value],
                    }
                } else {
                    Request::AssignIssue {
                        key: issue,
                        add: vec![value],
                        remove: Vec::new(),
                    }
                }
            }
        };
        vec![self.send(Pending::Change, request)]
    }

    pub fn detail_issue(&self) -> Option<&Issue> {
        self.detail.as_ref().and_then(|d| d.issue.as_ref())
    }

    fn on_action(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::Quit => vec![Command::Quit],
            Action::Back => self.back(),
            Action::Help => {
                self.overlay = Some(Overlay::Help);
                Vec::new()
            }
            Action::GoHome => {
                self.history.clear();
                self.screen = Screen::Home;
                Vec::new()
            }
            Action::Refresh => self.refresh(),
            _ => match self.screen {
                Screen::Home => self.home_action(action),
                Screen::Board => self.board_action(action),
                Screen::Detail => self.detail_action(action),
            },
        }
    }

    fn refresh(&mut self) -> Vec<Command> {
        let mut out = self.start();
        out.pop(); // already subscribed
        if let Some(board) = &self.board {
            let key = board.project.key.clone();
            out.push(self.board_request(key));
        }
        if let Some(detail) = &self.detail {
            let key = detail.key.clone();
            out.extend(self.detail_requests(key));
        }
        out
    }

    fn board_request(&mut self, project: String) -> Command {
        let filter = IssueFilter {
            limit: Some(2000),
            ..Default::default()
        };
        self.send(
            Pending::Board(project.clone()),
            Request::ListIssues {
                project: Some(project),
                filter,
            },
        )
    }

    fn detail_requests(&mut self, key: String) -> Vec<Command> {
        vec![
            self.send(
                Pending::Detail(key.clone()),
                Request::GetIssue { key: key.clone() },
            ),
            self.send(
                Pending::Comments(key.clone()),
                Request::ListComments { issue: key },
            ),
        ]
    }

    fn open_issue(&mut self, key: String) -> Vec<Command> {
        self.detail = Some(DetailState {
            key: key.clone(),
            issue: None,
            comments: Vec::new(),
            scroll: 0,
        });
        self.go(Screen::Detail);
        self.detail_requests(key)
    }

    fn open_board(&mut self, project: Project) -> Vec<Command> {
        let key = project.key.clone();
        self.board = Some(BoardState {
            project,
            issues: Vec::new(),
            column: 1,
            row: 0,
        });
        self.go(Screen::Board);
        vec![self.board_request(key)]
    }

    fn home_action(&mut self, action: Action) -> Vec<Command> {
        let len = match self.pane {
            Pane::Issues => self.my_issues.len(),
            Pane::Projects => self.projects.len(),
        };
        match action {
            Action::Up => self.home_row = self.home_row.saturating_sub(1),
            Action::Down => self.home_row = (self.home_row + 1).min(len.saturating_sub(1)),
            Action::SwitchPane => {
                self.pane = if self.pane == Pane::Issues {
                    Pane::Projects
                } else {
                    Pane::Issues
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
            },
            _ => {}
        }
        Vec::new()
    }

    /// The issues of one board column, in rank order.
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
            .filter(|i| i.state == state.id)
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
        let columns = board.project.states.len();
        let (column, row) = (board.column, board.row);
        let rows = self.column(column).len();
        let selected = self.selected_card().map(|i| i.key.clone());
        let mut out = Vec::new();
        match action {
            Action::Left => self.set_cursor(column.saturating_sub(1), row),
            Action::Right => self.set_cursor((column + 1).min(columns.saturating_sub(1)), row),
            Action::Up => self.set_cursor(column, row.saturating_sub(1)),
            Action::Down => self.set_cursor(column, (row + 1).min(rows.saturating_sub(1))),
            Action::Open => {
                if let Some(key) = selected {
                    return self.open_issue(key);
                }
            }
            Action::MoveLeft | Action::MoveRight => {
                let target = if action == Action::MoveLeft {
                    column.checked_sub(1)
                } else {
                    Some(column + 1).filter(|c| *c < columns)
                };
                if let (Some(key), Some(target)) = (selected, target) {
                    let state = self
                        .board
                        .as_ref()
                        .and_then(|b| b.project.states.get(target))
                        .map(|s| s.name.clone());
                    if let Some(state) = state {
                        out.push(self.send(Pending::Change, Request::MoveIssue { key, state }));
                        self.set_cursor(target, usize::MAX);
                    }
                }
            }
            Action::RankUp | Action::RankDown => {
                let cards: Vec<String> =
                    self.column(column).iter().map(|i| i.key.clone()).collect();
                if let Some(key) = selected {
                    let request = if action == Action::RankUp && row > 0 {
                        Some(Request::RankIssue {
                            key,
                            after: None,
                            before: Some(cards[row - 1].clone()),
                        })
                    } else if action == Action::RankDown && row + 1 < cards.len() {
                        Some(Request::RankIssue {
                            key,
                            after: Some(cards[row + 1].clone()),
                            before: None,
                        })
                    } else {
                        None
                    };
                    if let Some(request) = request {
                        out.push(self.send(Pending::Change, request));
                        let next = if action == Action::RankUp {
                            row - 1
                        } else {
                            row + 1
                        };
                        self.set_cursor(column, next);
                    }
                }
            }
            Action::Create => {
                let state = self
                    .board
                    .as_ref()
                    .and_then(|b| b.project.states.get(column))
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                self.overlay = Some(Overlay::Input {
                    prompt: Prompt::NewIssue { state },
                    text: String::new(),
                });
            }
            _ => {}
        }
        out
    }

    fn set_cursor(&mut self, column: usize, row: usize) {
        let rows = self.column(column).len();
        if let Some(board) = &mut self.board {
            board.column = column;
            board.row = row.min(rows.saturating_sub(1));
        }
    }

    fn detail_action(&mut self, action: Action) -> Vec<Command> {
        let Some(issue) = self.detail_issue().cloned() else {
            return Vec::new();
        };
        match action {
            Action::Down => {
                if let Some(detail) = &mut self.detail {
                    detail.scroll = detail.scroll.saturating_add(1);
                }
            }
            Action::Up => {
                if let Some(detail) = &mut self.detail {
                    detail.scroll = detail.scroll.saturating_sub(1);
                }
            }
            Action::Comment => {
                self.overlay = Some(Overlay::Input {
                    prompt: Prompt::Comment { issue: issue.key },
                    text: String::new(),
                })
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
            Action::SetState => {
                let options = self
                    .project_of(&issue)
                    .map(|p| {
                        p.states
                            .iter()
                            .map(|s| (s.name.clone(), s.name.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                let selected = self
                    .project_of(&issue)
                    .and_then(|p| p.states.iter().position(|s| s.id == issue.state))
                    .unwrap_or(0);
                self.overlay = Some(Overlay::Pick {
                    picker: Picker::State { issue: issue.key },
                    options,
                    selected,
                });
            }
            Action::SetPriority => {
                let all = [
                    Priority::None,
                    Priority::Low,
                    Priority::Medium,
                    Priority::High,
                    Priority::Urgent,
                ];
                let options = all.iter().map(|p| (p.to_string(), p.to_string())).collect();
                let selected = all.iter().position(|p| *p == issue.priority).unwrap_or(0);
                self.overlay = Some(Overlay::Pick {
                    picker: Picker::Priority { issue: issue.key },
                    options,
                    selected,
                });
            }
            Action::Assign => {
                let mut users: Vec<&User> = self.users.values().filter(|u| !u.disabled).collect();
                users.sort_by(|a, b| a.handle.cmp(&b.handle));
                let options = users
                    .iter()
                    .map(|u| {
                        let mark = if issue.assignees.contains(&u.id) {
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
                self.overlay = Some(Overlay::Pick {
                    picker: Picker::Assignee { issue: issue.key },
                    options,
                    selected: 0,
                });
            }
            Action::Close => {
                let closed = issue.closed_at.is_some();
                let request = if closed {
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

    pub fn project_of(&self, issue: &Issue) -> Option<&Project> {
        self.board
            .as_ref()
            .map(|b| &b.project)
            .filter(|p| p.id == issue.project)
            .or_else(|| self.projects.iter().find(|p| p.id == issue.project))
    }

    pub fn state_category(&self, issue: &Issue) -> StateCategory {
        self.project_of(issue)
            .and_then(|p| p.state(issue.state))
            .map_or(StateCategory::Unstarted, |s| s.category)
    }

    pub fn handle_of(&self, id: u64) -> String {
        self.users
            .get(&id)
            .map_or_else(|| format!("#{id}"), |u| u.handle.clone())
    }

    fn on_answer(&mut self, token: u64, result: Result<ResponseBody, ApiError>) -> Vec<Command> {
        let pending = self.pending.remove(&token);
        let body = match result {
            Ok(body) => body,
            Err(err) => {
                if let (Some(Pending::Change), ApiError::Conflict { current }) = (&pending, &err) {
                    // Someone changed it first: show theirs, say so, lose nothing they typed.
                    let current = (**current).clone();
                    self.apply_issue(current);
                    self.toast("someone changed this issue first; it is reloaded — apply your change again", true);
                } else {
                    self.toast(err.to_string(), true);
                }
                return Vec::new();
            }
        };
        match (pending, body) {
            (Some(Pending::Projects), ResponseBody::Projects(projects)) => self.projects = projects,
            (Some(Pending::Users), ResponseBody::Users(users)) => {
                self.users = users.into_iter().map(|u| (u.id, u)).collect()
            }
            (Some(Pending::MyIssues), ResponseBody::Issues(issues)) => {
                self.my_issues = issues;
                self.home_row = self.home_row.min(self.my_issues.len().saturating_sub(1));
            }
            (Some(Pending::Board(key)), ResponseBody::Issues(issues)) => {
                if let Some(board) = &mut self.board
                    && board.project.key == key
                {
                    board.issues = issues;
                    let (column, row) = (board.column, board.row);
                    self.set_cursor(column, row);
                }
            }
            (Some(Pending::Detail(key)), ResponseBody::Issue(issue)) => {
                if let Some(detail) = &mut self.detail
                    && detail.key == key
                {
                    detail.issue = Some(issue);
                }
            }
            (Some(Pending::Comments(key)), ResponseBody::Comments(comments)) => {
                if let Some(detail) = &mut self.detail
                    && detail.key == key
                {
                    detail.comments = comments;
                }
            }
            (Some(Pending::Comments(_)), ResponseBody::Comment(comment)) => {
                self.apply_comment(comment)
            }
            (Some(Pending::Change), ResponseBody::Issue(issue)) => {
                self.toast(format!("{} saved", issue.key), false);
                self.apply_issue(issue);
            }
            _ => {}
        }
        Vec::new()
    }

    /// A newer copy of an issue, from an answer or an event: every view that shows it updates.
    fn apply_issue(&mut self, issue: Issue) {
        if let Some(board) = &mut self.board
            && board.project.id == issue.project
        {
            match board.issues.iter_mut().find(|i| i.id == issue.id) {
                Some(existing) if existing.version <= issue.version => *existing = issue.clone(),
                Some(_) => {}
                None => board.issues.push(issue.clone()),
            }
        }
        if let Some(detail) = &mut self.detail
            && detail.key == issue.key
            && detail
                .issue
                .as_ref()
                .is_none_or(|i| i.version <= issue.version)
        {
            detail.issue = Some(issue.clone());
        }
        let mine = self
            .me
            .user
            .as_ref()
            .is_some_and(|u| issue.assignees.contains(&u.id))
            && issue.closed_at.is_none();
        match self.my_issues.iter().position(|i| i.id == issue.id) {
            Some(at) if mine => self.my_issues[at] = issue,
            Some(at) => {
                self.my_issues.remove(at);
            }
            None if mine => self.my_issues.push(issue),
            None => {}
        }
        self.home_row = self.home_row.min(self.my_issues.len().saturating_sub(1));
    }

    fn apply_comment(&mut self, comment: Comment) {
        if let Some(detail) = &mut self.detail
            && detail.issue.as_ref().is_some_and(|i| i.id == comment.issue)
        {
            match detail.comments.iter_mut().find(|c| c.id == comment.id) {
                Some(existing) => *existing = comment,
                None => detail.comments.push(comment),
            }
        }
    }

    fn on_event(&mut self, event: ServerEvent) {
        match event.record {
            EventRecord::Issue(issue) => self.apply_issue(issue),
            EventRecord::IssueDeleted { id, .. } => {
                if let Some(board) = &mut self.board {
                    board.issues.retain(|i| i.id != id);
                }
                self.my_issues.retain(|i| i.id != id);
                if let Some(detail) = &mut self.detail
                    && detail.issue.as_ref().is_some_and(|i| i.id == id)
                {
                    detail.issue = None;
                }
            }
            EventRecord::Comment(comment) => self.apply_comment(comment),
            EventRecord::CommentDeleted { id, .. } => {
                if let Some(detail) = &mut self.detail {
                    detail.comments.retain(|c| c.id != id);
                }
            }
            EventRecord::Project(project) => {
                if let Some(board) = &mut self.board
                    && board.project.id == project.id
                {
                    board.project = project.clone();
                }
                match self.projects.iter_mut().find(|p| p.id == project.id) {
                    Some(existing) => *existing = project,
                    None => self.projects.push(project),
                }
            }
            EventRecord::None => {}
        }
        let (column, row) = self.board.as_ref().map_or((0, 0), |b| (b.column, b.row));
        if self.board.is_some() {
            self.set_cursor(column, row);
        }
    }
}
