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
    List,
    Detail,
}

/// What the list view sorts by; `o` moves to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    State,
    Priority,
    Key,
    Updated,
    Title,
}

impl SortKey {
    pub fn next(self) -> SortKey {
        match self {
            SortKey::State => SortKey::Priority,
            SortKey::Priority => SortKey::Key,
            SortKey::Key => SortKey::Updated,
            SortKey::Updated => SortKey::Title,
            SortKey::Title => SortKey::State,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SortKey::State => "state",
            SortKey::Priority => "priority",
            SortKey::Key => "key",
            SortKey::Updated => "updated",
            SortKey::Title => "title",
        }
    }
}

#[derive(Debug, Default)]
pub struct ListView {
    pub row: usize,
    pub sort: SortKey,
    /// Keys picked for a bulk change.
    pub selected: std::collections::BTreeSet<String>,
}

/// Typing into a one-line field.
fn edit(text: &mut String, code: KeyCode) {
    match code {
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) if text.chars().count() < 2000 => text.push(c),
        _ => {}
    }
}

/// Moving through a list of `len` entries.
fn step(selected: usize, len: usize, code: KeyCode) -> usize {
    match code {
        KeyCode::Up | KeyCode::Char('k') => selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => (selected + 1).min(len.saturating_sub(1)),
        _ => selected,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Issues,
    Projects,
}

/// What an answer is for.
#[derive(Debug, Clone)]
pub(crate) enum Pending {
    Projects,
    MyIssues,
    Users,
    Board(String),
    Detail(String),
    Comments(String),
    /// A change; its answer updates whatever shows that issue.
    Change,
    /// An edit of text someone typed: on a conflict they choose, nothing is dropped.
    Edit {
        retry: Box<Request>,
        mine: String,
    },
}

#[derive(Debug, Clone)]
pub enum Prompt {
    Filter,
    NewIssue { state: String },
    Comment { issue: String },
    Title { issue: String, version: u64 },
}

#[derive(Debug, Clone)]
pub enum Picker {
    State { issues: Vec<String> },
    Priority { issues: Vec<String> },
    Assignee { issues: Vec<String> },
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
    Palette {
        query: String,
        selected: usize,
    },
    Editor(Box<crate::editor::Editor>),
    /// Someone changed the issue while you edited it: reload, overwrite, or keep a copy.
    Conflict {
        current: Box<Issue>,
        retry: Box<Request>,
        mine: String,
    },
}

/// Something on screen a click can land on, recorded as each frame is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    HomeIssue(usize),
    HomeProject(usize),
    Column(usize),
    Card { column: usize, row: usize },
    ListRow(usize),
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
    pub list: ListView,
    pub filter: crate::filter::Filter,
    /// Where the last frame put clickable things.
    pub hits: std::cell::RefCell<Vec<(ratatui::layout::Rect, Hit)>>,
    /// The card being dragged with the mouse.
    drag: Option<(String, usize)>,
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
            list: ListView::default(),
            filter: crate::filter::Filter::default(),
            hits: std::cell::RefCell::new(Vec::new()),
            drag: None,
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

    pub(crate) fn send(&mut self, pending: Pending, request: Request) -> Command {
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
            Screen::List => Scope::List,
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
            Event::Paste(text) if matches!(self.overlay, Some(Overlay::Editor(_))) => {
                if let Some(Overlay::Editor(editor)) = &mut self.overlay {
                    editor.paste(&text);
                }
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
            Event::Mouse(mouse) if self.overlay.is_none() => self.on_mouse(mouse),

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
                code => {
                    edit(&mut text, code);
                    if matches!(prompt, Prompt::Filter) {
                        // The filter narrows the view as you type.
                        self.filter.text = text.clone();
                        self.clamp_cursors();
                    }
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

    fn run_palette(&mut self, entry: crate::palette::Entry) -> Vec<Command> {
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

    fn submit(&mut self, prompt: Prompt, text: String) -> Vec<Command> {
        let text = text.trim().to_string();
        if let Prompt::Filter = prompt {
            self.filter.text = text;
            self.clamp_cursors();
            return Vec::new();
        }
        if text.is_empty() {
            return Vec::new();
        }
        match prompt {
            Prompt::Filter => Vec::new(),
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
                let request = Request::UpdateIssue {
                    key: issue,
                    version,
                    patch: IssuePatch {
                        title: Some(text.clone()),
                        ..Default::default()
                    },
                };
                vec![self.send(
                    Pending::Edit {
                        retry: Box::new(request.clone()),
                        mine: text,
                    },
                    request,
                )]
            }
        }
    }

    fn save_editor(&mut self, target: crate::editor::EditTarget, text: String) -> Vec<Command> {
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
                let request = Request::UpdateIssue {
                    key: issue,
                    version,
                    patch: IssuePatch {
                        description: Some(text.clone()),
                        ..Default::default()
                    },
                };
                vec![self.send(
                    Pending::Edit {
                        retry: Box::new(request.clone()),
                        mine: text,
                    },
                    request,
                )]
            }
        }
    }

    /// `r` takes their version, `o` writes yours over it, `k` takes theirs and keeps yours as a
    /// comment. Anything else leaves the question open.
    fn resolve_conflict(
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

    fn apply_fresh(&mut self, issue: Issue) {
        self.apply_issue(issue);
    }

    fn hit_at(&self, column: u16, row: u16) -> Option<Hit> {
        let hits = self.hits.borrow();
        hits.iter()
            .rev()
            .find(|(rect, _)| rect.contains(ratatui::layout::Position { x: column, y: row }))
            .map(|(_, hit)| *hit)
    }

    /// A click selects (a second click opens), the wheel scrolls, and a card dragged onto
    /// another column moves there.
    fn on_mouse(&mut self, mouse: terminput::MouseEvent) -> Vec<Command> {
        use terminput::MouseButton;
        match mouse.kind {
            MouseEventKind::Scroll(ScrollDirection::Down) => self.on_action(Action::Down),
            MouseEventKind::Scroll(ScrollDirection::Up) => self.on_action(Action::Up),
            MouseEventKind::Down(MouseButton::Left) => {
                let Some(hit) = self.hit_at(mouse.column, mouse.row) else {
                    return Vec::new();
                };
                match hit {
                    Hit::HomeIssue(row) | Hit::HomeProject(row) => {
                        let pane = if matches!(hit, Hit::HomeIssue(_)) {
                            Pane::Issues
                        } else {
                            Pane::Projects
                        };
                        let again = self.pane == pane && self.home_row == row;
                        self.pane = pane;
                        self.home_row = row;
                        if again {
                            return self.on_action(Action::Open);
                        }
                    }
                    Hit::Card { column, row } => {
                        let again = self
                            .board
                            .as_ref()
                            .is_some_and(|b| b.column == column && b.row == row);
                        self.set_cursor(column, row);
                        if again {
                            return self.on_action(Action::Open);
                        }
                        self.drag = self.selected_card().map(|card| (card.key.clone(), column));
                    }
                    Hit::Column(column) => {
                        let row = self.board.as_ref().map_or(0, |b| b.row);
                        self.set_cursor(column, row);
                    }
                    Hit::ListRow(row) => {
                        let again = self.list.row == row;
                        self.list.row = row;
                        if again {
                            return self.on_action(Action::Open);
                        }
                    }
                }
                Vec::new()
            }
            MouseEventKind::Up(MouseButton::Left) => {
                let Some((key, from)) = self.drag.take() else {
                    return Vec::new();
                };
                let target = match self.hit_at(mouse.column, mouse.row) {
                    Some(Hit::Column(column) | Hit::Card { column, .. }) if column != from => {
                        column
                    }
                    _ => return Vec::new(),
                };
                let state = self
                    .board
                    .as_ref()
                    .and_then(|b| b.project.states.get(target))
                    .map(|s| s.name.clone());
                match state {
                    Some(state) => {
                        self.set_cursor(target, usize::MAX);
                        vec![self.send(Pending::Change, Request::MoveIssue { key, state })]
                    }
                    None => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }

    /// The issue with `key`, as the open screens have it.
    pub fn find_issue(&self, key: &str) -> Option<&Issue> {
        self.detail_issue().filter(|i| i.key == key).or_else(|| {
            self.board
                .as_ref()
                .and_then(|b| b.issues.iter().find(|i| i.key == key))
        })
    }

    /// One change per picked issue (a bulk change from the list is several).
    fn pick(&mut self, picker: Picker, value: String) -> Vec<Command> {
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
            Action::Palette => {
                self.overlay = Some(Overlay::Palette {
                    query: String::new(),
                    selected: 0,
                });
                Vec::new()
            }
            _ => self.screen_action(action),
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

    pub(crate) fn open_issue(&mut self, key: String) -> Vec<Command> {
        self.detail = Some(DetailState {
            key: key.clone(),
            issue: None,
            comments: Vec::new(),
            scroll: 0,
        });
        self.go(Screen::Detail);
        self.detail_requests(key)
    }

    pub(crate) fn open_board(&mut self, project: Project) -> Vec<Command> {
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
                if let (Some(Pending::Edit { retry, mine }), ApiError::Conflict { current }) =
                    (&pending, &err)
                {
                    self.overlay = Some(Overlay::Conflict {
                        current: current.clone(),
                        retry: retry.clone(),
                        mine: mine.clone(),
                    });
                } else if let (Some(Pending::Change), ApiError::Conflict { current }) =
                    (&pending, &err)
                {
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
            (Some(Pending::Change | Pending::Edit { .. }), ResponseBody::Issue(issue)) => {
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
        self.clamp_cursors();
    }
}
