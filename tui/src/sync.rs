//! Keeping the screens in step with the server: answers to requests and pushed events.

use tack_protocol::{ApiError, Comment, Event as ServerEvent, EventRecord, Issue, ResponseBody};

use crate::app::{App, Command, Overlay, Pending};

impl App {
    pub(crate) fn on_answer(
        &mut self,
        token: u64,
        result: Result<ResponseBody, ApiError>,
    ) -> Vec<Command> {
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
                    let current = Issue::clone(current);
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
            (Some(Pending::Keys), ResponseBody::Keys(keys)) => self.profile.keys = keys,
            (Some(Pending::History(key)), ResponseBody::Activity(history)) => {
                if let Some(detail) = &mut self.detail
                    && detail.key == key
                {
                    detail.history = history;
                }
            }
            (Some(Pending::Inbox), ResponseBody::Notifications(list)) => {
                self.inbox_loading = false;
                self.inbox = list;
                self.inbox_row = self.inbox_row.min(self.inbox.len().saturating_sub(1));
            }
            (Some(Pending::Totp), ResponseBody::Totp { enabled }) => {
                if enabled && self.profile.totp == Some(false) {
                    self.toast("two-factor is on: SSH logins now ask for a code", false);
                }
                self.profile.totp = Some(enabled);
            }
            (Some(Pending::Totp), ResponseBody::TotpSetup { uri, secret }) => {
                self.overlay = Some(Overlay::TotpEnrol {
                    uri,
                    secret,
                    code: String::new(),
                });
            }
            (Some(Pending::Tokens), ResponseBody::Tokens(tokens)) => self.profile.tokens = tokens,
            (Some(Pending::Reveal), ResponseBody::TokenCreated { token, secret }) => {
                self.overlay = Some(Overlay::Reveal {
                    title: format!("API token '{}' · shown only now", token.name),
                    secret,
                });
                return vec![self.send(
                    Pending::Tokens,
                    tack_protocol::Request::ListTokens { user: None },
                )];
            }
            (Some(Pending::Reveal), ResponseBody::InviteCreated { invite, code }) => {
                self.overlay = Some(Overlay::Reveal {
                    title: format!(
                        "Invite ({} role) · give this code to the person; shown only now",
                        invite.role
                    ),
                    secret: code,
                });
                return self.admin_load();
            }
            (Some(Pending::FilterIds(text)), ResponseBody::Issues(issues))
                if self.filter.text == text =>
            {
                self.filter.server = Some((text, issues.into_iter().map(|i| i.id).collect()));
                self.clamp_cursors();
            }
            (Some(Pending::Search(asked)), ResponseBody::SearchHits(found)) => {
                if let Some(Overlay::Search { text, hits, .. }) = &mut self.overlay
                    && text.trim() == asked
                {
                    *hits = found;
                }
            }
            (Some(Pending::Insights), ResponseBody::Insights(insights)) => {
                self.insights = Some(insights);
            }
            (Some(Pending::Views), ResponseBody::Views(views)) => self.views = views,
            // A save answers with the view saved: say so and list them all again.
            (Some(Pending::ViewSaved), ResponseBody::Views(saved)) => {
                if let Some(view) = saved.first() {
                    self.toast(
                        format!("view {} saved: find it on the home screen", view.name),
                        false,
                    );
                }
                return vec![self.send(
                    Pending::Views,
                    tack_protocol::Request::ListViews { project: None },
                )];
            }
            (Some(Pending::ViewIssues(name)), ResponseBody::View { issues, .. })
                if self.home_view.as_deref() == Some(name.as_str()) =>
            {
                self.my_issues = issues;
                self.clamp_cursors();
            }
            (Some(Pending::Admin(tab)), body) => {
                self.admin.take(tab, body);
            }
            (Some(Pending::AdminChange), body) => return self.admin_changed(body),
            (Some(Pending::Settings), ResponseBody::UserSettings { user, settings }) => {
                self.profile.email = Some(settings.email_notifications);
                if let Some(me) = &mut self.me.user {
                    *me = user;
                }
            }
            (Some(Pending::ProfileChange), ResponseBody::KeyPending { code, .. }) => {
                self.overlay = Some(Overlay::Reveal {
                    title: "New key · log in with it once and enter this code".into(),
                    secret: code,
                });
                return vec![self.send(
                    Pending::Keys,
                    tack_protocol::Request::ListKeys { user: None },
                )];
            }
            (Some(Pending::ProfileChange), _) => {
                self.toast("saved", false);
                return vec![
                    self.send(
                        Pending::Settings,
                        tack_protocol::Request::UserSettings { handle: None },
                    ),
                    self.send(
                        Pending::Keys,
                        tack_protocol::Request::ListKeys { user: None },
                    ),
                    self.send(
                        Pending::Tokens,
                        tack_protocol::Request::ListTokens { user: None },
                    ),
                ];
            }
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
    pub(crate) fn apply_issue(&mut self, issue: Issue) {
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

    pub(crate) fn apply_comment(&mut self, comment: Comment) {
        if let Some(detail) = &mut self.detail
            && detail.issue.as_ref().is_some_and(|i| i.id == comment.issue)
        {
            match detail.comments.iter_mut().find(|c| c.id == comment.id) {
                Some(existing) => *existing = comment,
                None => detail.comments.push(comment),
            }
        }
    }

    pub(crate) fn on_event(&mut self, event: ServerEvent) -> Vec<Command> {
        // A teammate's change may have reached this person's inbox.
        let by_someone_else = self.me.actor != event.activity.actor;
        let inbox = if by_someone_else && event.activity.issue.is_some() {
            self.inbox_request()
        } else {
            Vec::new()
        };
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
        let mut inbox = inbox;
        // The console's lists follow every change as it happens.
        if self.screen == crate::app::Screen::Admin && !self.admin.loading {
            inbox.extend(self.admin_load());
        }
        inbox
    }
}
