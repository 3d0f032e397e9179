//! The app: state, `update(msg) → commands`, and (in `view`) drawing. It knows nothing of SSH or
//! sockets: the driver feeds it input and server answers, and carries out the requests it asks for.

use std::collections::{HashMap, VecDeque};

use tack_protocol::{
    ApiError, Comment, Event as ServerEvent, Identity, Issue, IssueFilter, Project, Request,
    ResponseBody, StateCategory, User,
};
use terminput::{Event, KeyCode};

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
    Profile,
    Inbox,
    Admin,
    Insights,
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

/// Your keys and API tokens.
#[derive(Debug, Default)]
pub struct ProfileView {
    pub keys: Vec<tack_protocol::SshKey>,
    pub tokens: Vec<tack_protocol::ApiToken>,
    /// false: keys pane, true: tokens pane.
    pub on_tokens: bool,
    pub row: usize,
    /// Whether two-factor is on, once the server said.
    pub totp: Option<bool>,
    /// Email notifications, once the server said.
    pub email: Option<tack_protocol::EmailMode>,
}

#[derive(Debug, Default)]
pub struct ListView {
    pub row: usize,
    pub sort: SortKey,
    /// Keys picked for a bulk change.
    pub selected: std::collections::BTreeSet<String>,
}

/// Typing into a one-line field.
pub(crate) fn edit(text: &mut String, code: KeyCode) {
    match code {
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) if text.chars().count() < 2000 => text.push(c),
        _ => {}
    }
}

/// Moving through a list of `len` entries.
pub(crate) fn step(selected: usize, len: usize, code: KeyCode) -> usize {
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
    Views,
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
    History(String),
    /// A change; its answer updates whatever shows that issue.
    Change,
    Keys,
    Tokens,
    Totp,
    Settings,
    Inbox,
    /// Marking read; the inbox is listed again after.
    InboxChange,
    /// A profile change; on success the keys and tokens are listed again.
    ProfileChange,
    /// Shows the answer once (a new token's secret, an invite code).
    Reveal,
    /// The issues a server-answered filter found.
    FilterIds(String),
    Views,
    ViewSaved,
    Insights,
    /// Search hits for this text (older answers are dropped).
    Search(String),
    /// A cross-project view's issues, shown on the home screen.
    ViewIssues(String),
    /// A listing for a console tab.
    Admin(crate::admin::AdminTab),
    /// A change made on the console; on success the tab is listed again.
    AdminChange,
    /// An edit of text someone typed: on a conflict they choose, nothing is dropped.
    Edit {
        retry: Box<Request>,
        mine: String,
    },
}

#[derive(Debug, Clone)]
pub enum Prompt {
    Filter,
    /// `bug ui -wontfix`: add words, remove the ones with a minus.
    Labels {
        issues: Vec<String>,
    },
    /// YYYY-MM-DD, or empty to clear.
    Due {
        issue: String,
        version: u64,
    },
    AddKey,
    NewToken,
    /// A new issue in `project`, in `state` (the project's default when absent).
    NewIssue {
        project: String,
        state: Option<String>,
    },
    Title {
        issue: String,
        version: u64,
    },
    Admin(crate::admin::AdminPrompt),
    /// A name for the filter in view (ending in `shared` shares it with the project).
    SaveView,
}

#[derive(Debug, Clone)]
pub enum Picker {
    State {
        issues: Vec<String>,
    },
    Priority {
        issues: Vec<String>,
    },
    Assignee {
        issues: Vec<String>,
    },
    /// Toggles a label; the empty choice asks for a new one.
    Labels {
        issues: Vec<String>,
    },
    /// A date, "none", or "custom" (which asks for one).
    Due {
        issue: String,
        version: u64,
    },
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
    /// Full-text search as you type: ranked hits with the matches marked.
    Search {
        text: String,
        hits: Vec<tack_protocol::SearchHit>,
        selected: usize,
    },
    Editor(Box<crate::editor::Editor>),
    /// Two-factor enrolment: the QR code of the secret, and the code that confirms it.
    TotpEnrol {
        uri: String,
        secret: String,
        code: String,
    },
    /// A secret shown once (a new API token).
    Reveal {
        title: String,
        secret: String,
    },
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
    /// The issue's history, oldest first.
    pub history: Vec<tack_protocol::Activity>,
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
    /// Saved views: the viewer's own, then shared ones.
    pub views: Vec<tack_protocol::SavedView>,
    /// The cross-project view the home list shows instead of your issues.
    pub home_view: Option<String>,
    pub insights: Option<tack_protocol::Insights>,
    pub pane: Pane,
    pub home_row: usize,
    pub board: Option<BoardState>,
    pub detail: Option<DetailState>,
    pub list: ListView,
    pub profile: ProfileView,
    /// Newest first.
    pub inbox: Vec<tack_protocol::Notification>,
    pub inbox_row: usize,
    pub admin: crate::admin::AdminView,
    /// An inbox listing is on its way (so events do not ask again meanwhile).
    pub(crate) inbox_loading: bool,
    pub filter: crate::filter::Filter,
    /// Where the last frame put clickable things.
    pub hits: std::cell::RefCell<Vec<(ratatui::layout::Rect, Hit)>>,
    /// The card being dragged with the mouse.
    pub(crate) drag: Option<(String, usize)>,
    pub(crate) pending: HashMap<u64, Pending>,
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
            views: Vec::new(),
            home_view: None,
            insights: None,
            pane: Pane::Issues,
            home_row: 0,
            board: None,
            detail: None,
            list: ListView::default(),
            profile: ProfileView::default(),
            inbox: Vec::new(),
            inbox_row: 0,
            admin: crate::admin::AdminView::default(),
            inbox_loading: false,
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
            self.send(Pending::Views, Request::ListViews { project: None }),
        ];
        out.extend(self.inbox_request());
        let token = self.token();
        out.push(Command::Send {
            token,
            request: Request::Subscribe {
                project: None,
                after_seq: None,
                query: None,
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
            Screen::Profile => Scope::Profile,
            Screen::Inbox => Scope::Inbox,
            Screen::Detail => Scope::Detail,
            Screen::Admin => Scope::Admin,
            Screen::Insights => Scope::Insights,
        }
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        match msg {
            Msg::Input(event) => self.on_input(event),
            Msg::Answer { token, result } => self.on_answer(token, result),
            Msg::Server(event) => self.on_event(event),
        }
    }

    pub(crate) fn go(&mut self, screen: Screen) {
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

    /// The issue with `key`, as the open screens have it.
    pub fn find_issue(&self, key: &str) -> Option<&Issue> {
        self.detail_issue()
            .filter(|i| i.key == key)
            .or_else(|| {
                self.board
                    .as_ref()
                    .and_then(|b| b.issues.iter().find(|i| i.key == key))
            })
            .or_else(|| self.my_issues.iter().find(|i| i.key == key))
    }

    pub fn detail_issue(&self) -> Option<&Issue> {
        self.detail.as_ref().and_then(|d| d.issue.as_ref())
    }

    pub(crate) fn on_action(&mut self, action: Action) -> Vec<Command> {
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
                if self.home_view.take().is_some() {
                    return vec![self.my_issues_request()];
                }
                Vec::new()
            }
            Action::Refresh if self.screen == Screen::Admin => self.admin_load(),
            Action::Refresh if self.screen == Screen::Insights => self.insights_request(),
            Action::Refresh => self.refresh(),
            Action::Profile => self.open_profile(),
            Action::Inbox => {
                self.go(Screen::Inbox);
                self.inbox_request()
            }
            Action::Admin => self.open_admin(),
            Action::Search => {
                self.overlay = Some(Overlay::Search {
                    text: String::new(),
                    hits: Vec::new(),
                    selected: 0,
                });
                Vec::new()
            }
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

    pub(crate) fn board_request(&mut self, project: String) -> Command {
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

    pub(crate) fn detail_requests(&mut self, key: String) -> Vec<Command> {
        vec![
            self.send(
                Pending::Detail(key.clone()),
                Request::GetIssue { key: key.clone() },
            ),
            self.send(
                Pending::Comments(key.clone()),
                Request::ListComments { issue: key.clone() },
            ),
            self.send(
                Pending::History(key.clone()),
                Request::IssueActivity { key },
            ),
        ]
    }

    pub fn unread(&self) -> usize {
        self.inbox.iter().filter(|n| !n.read).count()
    }

    pub(crate) fn inbox_request(&mut self) -> Vec<Command> {
        if self.inbox_loading || self.me.user.is_none() {
            return Vec::new();
        }
        self.inbox_loading = true;
        vec![self.send(
            Pending::Inbox,
            Request::ListNotifications { unread_only: false },
        )]
    }

    /// `c` anywhere: a new issue in the project in view (the board's, the open issue's, or the
    /// project under the cursor at home).
    pub(crate) fn quick_create(&mut self) {
        let project = match self.screen {
            Screen::Detail => self
                .detail_issue()
                .and_then(|i| self.project_of(i))
                .map(|p| p.key.clone()),
            Screen::Home if self.pane == Pane::Projects => {
                self.projects.get(self.home_row).map(|p| p.key.clone())
            }
            _ => self.board.as_ref().map(|b| b.project.key.clone()),
        }
        .or_else(|| self.projects.first().map(|p| p.key.clone()));
        match project {
            Some(project) => {
                self.overlay = Some(Overlay::Input {
                    prompt: Prompt::NewIssue {
                        project,
                        state: None,
                    },
                    text: String::new(),
                })
            }
            None => self.toast("no project to create an issue in; create one first", true),
        }
    }

    /// The figures of the project in view, the burndown following the filter.
    pub(crate) fn insights_request(&mut self) -> Vec<Command> {
        let Some(project) = self.board.as_ref().map(|b| b.project.key.clone()) else {
            return Vec::new();
        };
        let query = (!self.filter.is_empty() && self.filter.error().is_none())
            .then(|| self.filter.text.clone());
        vec![self.send(
            Pending::Insights,
            Request::Insights {
                project,
                query,
                weeks: 12,
            },
        )]
    }

    /// Opens a saved view: a project's board or list with the view's query as its filter, or
    /// (across projects) its issues in the home list.
    pub(crate) fn open_view(&mut self, view: tack_protocol::SavedView) -> Vec<Command> {
        let project = view
            .project
            .and_then(|id| self.projects.iter().find(|p| p.id == id).cloned());
        match project {
            Some(project) => {
                let mut out = self.open_board(project);
                out.extend(self.set_filter(view.query.clone()));
                if view.layout == tack_protocol::Layout::List {
                    self.screen = Screen::List;
                }
                self.toast(format!("view {}: {}", view.name, view.query), false);
                out
            }
            None => {
                self.home_view = Some(view.name.clone());
                self.pane = Pane::Issues;
                self.home_row = 0;
                vec![self.send(
                    Pending::ViewIssues(view.name.clone()),
                    Request::ShowView { name: view.name },
                )]
            }
        }
    }

    /// The server wants two-factor before anything else: straight to enrolment.
    pub fn require_two_factor(&mut self) -> Vec<Command> {
        self.toast(
            "this server requires two-factor for admins: turn it on, then log in again",
            true,
        );
        let mut out = self.open_profile();
        out.push(self.send(Pending::Totp, Request::BeginTotp));
        out
    }

    pub(crate) fn open_profile(&mut self) -> Vec<Command> {
        self.go(Screen::Profile);
        vec![
            self.send(Pending::Keys, Request::ListKeys { user: None }),
            self.send(Pending::Tokens, Request::ListTokens { user: None }),
            self.send(Pending::Totp, Request::TotpStatus),
            self.send(Pending::Settings, Request::UserSettings { handle: None }),
        ]
    }

    /// `e` in the profile: off → instant → digest → off.
    pub(crate) fn next_email_mode(&mut self) -> Vec<Command> {
        use tack_protocol::EmailMode;
        let Some(me) = self.me.user.clone() else {
            return Vec::new();
        };
        if me.email.is_none() {
            self.toast(
                "you have no email address yet: `tack ctl user update YOU --email ADDRESS`",
                true,
            );
            return Vec::new();
        }
        let next = match self.profile.email.unwrap_or_default() {
            EmailMode::Off => EmailMode::Instant,
            EmailMode::Instant => EmailMode::Digest,
            EmailMode::Digest => EmailMode::Off,
        };
        vec![self.send(
            Pending::ProfileChange,
            Request::UpdateUser {
                handle: me.handle,
                display_name: None,
                email: None,
                role: None,
                email_notifications: Some(next),
            },
        )]
    }

    pub(crate) fn open_issue(&mut self, key: String) -> Vec<Command> {
        self.detail = Some(DetailState {
            key: key.clone(),
            issue: None,
            comments: Vec::new(),
            history: Vec::new(),
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
}
