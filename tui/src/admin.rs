//! The admin console: people, keys, invites, tokens, live sessions, the audit log, jobs, backups
//! and server health, one tab each. `tack admin` opens on it; server admins reach it over SSH
//! with `A`.

use tack_protocol::{
    Activity, ActivityKind, ApiToken, AuditFilter, Backups, Health, Invite, Job, JobState, Request,
    ResponseBody, ServerRole, SessionInfo, SshKey, User,
};

use crate::app::{App, Command, Overlay, Pending, Prompt, Screen};
use crate::keymap::Action;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdminTab {
    #[default]
    Users,
    Keys,
    Invites,
    Tokens,
    Sessions,
    Audit,
    Jobs,
    Backups,
    Health,
}

pub const TABS: [AdminTab; 9] = [
    AdminTab::Users,
    AdminTab::Keys,
    AdminTab::Invites,
    AdminTab::Tokens,
    AdminTab::Sessions,
    AdminTab::Audit,
    AdminTab::Jobs,
    AdminTab::Backups,
    AdminTab::Health,
];

impl AdminTab {
    pub fn title(self) -> &'static str {
        match self {
            AdminTab::Users => "Users",
            AdminTab::Keys => "Keys",
            AdminTab::Invites => "Invites",
            AdminTab::Tokens => "Tokens",
            AdminTab::Sessions => "Sessions",
            AdminTab::Audit => "Audit",
            AdminTab::Jobs => "Jobs",
            AdminTab::Backups => "Backups",
            AdminTab::Health => "Health",
        }
    }

    /// What each tab's keys do, for the line under the tabs.
    pub fn keys(self) -> &'static str {
        match self {
            AdminTab::Users => "n new · d disable/enable · a admin/user · D delete",
            AdminTab::Keys => "x revoke (ends its sessions)",
            AdminTab::Invites => "n new invite · x revoke",
            AdminTab::Tokens => "x revoke",
            AdminTab::Sessions => "x end the session",
            AdminTab::Audit => {
                "/ filter: @who or console, p:PROJECT, kind:issue_created, since:/until:YYYY-MM-DD"
            }
            AdminTab::Jobs => "t retry · x drop · n run digest/due_reminders/expire/backup",
            AdminTab::Backups => "n back up now · v verify",
            AdminTab::Health => "r refresh",
        }
    }

    fn index(self) -> usize {
        TABS.iter().position(|t| *t == self).unwrap_or(0)
    }
}

#[derive(Debug, Clone)]
pub enum AdminPrompt {
    /// `handle [email] [admin]`.
    NewUser,
    /// `user 7d` or `admin 12h`.
    NewInvite,
    /// Who takes over the issues (empty: nobody).
    DeleteUser {
        handle: String,
    },
    AuditFilter,
    RunJob,
}

#[derive(Default)]
pub struct AdminView {
    pub tab: AdminTab,
    pub row: usize,
    pub users: Vec<User>,
    pub keys: Vec<SshKey>,
    pub invites: Vec<Invite>,
    pub tokens: Vec<ApiToken>,
    pub sessions: Vec<SessionInfo>,
    pub audit: Vec<Activity>,
    pub audit_filter: String,
    pub jobs: Vec<Job>,
    pub backups: Option<Backups>,
    pub health: Option<Health>,
    /// A listing is on its way (events do not ask again meanwhile).
    pub(crate) loading: bool,
}

impl AdminView {
    pub fn rows(&self) -> usize {
        match self.tab {
            AdminTab::Users => self.users.len(),
            AdminTab::Keys => self.keys.len(),
            AdminTab::Invites => self.invites.len(),
            AdminTab::Tokens => self.tokens.len(),
            AdminTab::Sessions => self.sessions.len(),
            AdminTab::Audit => self.audit.len(),
            AdminTab::Jobs => self.jobs.len(),
            AdminTab::Backups => self.backups.as_ref().map_or(0, |b| b.files.len()),
            AdminTab::Health => 0,
        }
    }

    /// Takes a listing's answer; false if it was not one.
    pub(crate) fn take(&mut self, tab: AdminTab, body: ResponseBody) -> bool {
        self.loading = false;
        match (tab, body) {
            (AdminTab::Users, ResponseBody::Users(v)) => self.users = v,
            (AdminTab::Keys, ResponseBody::Keys(v)) => self.keys = v,
            (AdminTab::Invites, ResponseBody::Invites(v)) => self.invites = v,
            (AdminTab::Tokens, ResponseBody::Tokens(v)) => self.tokens = v,
            (AdminTab::Sessions, ResponseBody::Sessions(v)) => self.sessions = v,
            (AdminTab::Audit, ResponseBody::Activity(v)) => self.audit = v,
            (AdminTab::Jobs, ResponseBody::Jobs(v)) => self.jobs = v,
            (AdminTab::Backups, ResponseBody::Backups(v)) => self.backups = Some(v),
            (AdminTab::Health, ResponseBody::Health(v)) => self.health = Some(v),
            _ => return false,
        }
        self.row = self.row.min(self.rows().saturating_sub(1));
        true
    }
}

fn date_ms(text: &str) -> Option<i64> {
    tack_protocol::query::day_of(text).map(|day| day * 86_400_000)
}

/// Reads the audit bar: `@alice p:TACK kind:issue_created since:2026-11-01 until:2026-11-30`.
pub fn parse_audit_filter(text: &str) -> Result<AuditFilter, String> {
    let mut filter = AuditFilter::default();
    for word in text.split_whitespace() {
        if word == "console" || word.starts_with('@') {
            filter.actor = Some(word.to_string());
        } else if let Some(key) = word.strip_prefix("p:") {
            filter.project = Some(key.to_ascii_uppercase());
        } else if let Some(kind) = word.strip_prefix("kind:") {
            let kind: ActivityKind = kind
                .replace(['-', '.'], "_")
                .parse()
                .map_err(|_| format!("'{kind}' is not a kind; e.g. issue_created, key_removed"))?;
            filter.kind = Some(kind);
        } else if let Some(day) = word.strip_prefix("since:") {
            filter.since = Some(date_ms(day).ok_or(format!("'{day}' is not YYYY-MM-DD"))?);
        } else if let Some(day) = word.strip_prefix("until:") {
            let start = date_ms(day).ok_or(format!("'{day}' is not YYYY-MM-DD"))?;
            filter.until = Some(start + 86_399_999);
        } else {
            return Err(format!(
                "'{word}' is not a filter; use @who or console, p:PROJECT, kind:KIND, since:/until:YYYY-MM-DD"
            ));
        }
    }
    Ok(filter)
}

impl App {
    /// Opens the console on its first tab.
    pub fn open_admin(&mut self) -> Vec<Command> {
        if self.me.role != ServerRole::Admin {
            self.toast("the admin console is for server admins", true);
            return Vec::new();
        }
        self.go(Screen::Admin);
        self.admin_load()
    }

    pub(crate) fn admin_load(&mut self) -> Vec<Command> {
        let request = match self.admin.tab {
            AdminTab::Users => Request::ListUsers,
            AdminTab::Keys => Request::AllKeys,
            AdminTab::Invites => Request::ListInvites,
            AdminTab::Tokens => Request::AllTokens,
            AdminTab::Sessions => Request::ListSessions,
            AdminTab::Audit => match parse_audit_filter(&self.admin.audit_filter) {
                Ok(filter) => Request::Audit {
                    filter,
                    before: None,
                    limit: 500,
                },
                Err(err) => {
                    self.toast(err, true);
                    return Vec::new();
                }
            },
            AdminTab::Jobs => Request::ListJobs { state: None },
            AdminTab::Backups => Request::ListBackups,
            AdminTab::Health => Request::Health,
        };
        self.admin.loading = true;
        vec![self.send(Pending::Admin(self.admin.tab), request)]
    }

    /// A change made on the console; its answer reloads the tab.
    fn admin_change(&mut self, request: Request) -> Vec<Command> {
        vec![self.send(Pending::AdminChange, request)]
    }

    fn admin_prompt(&mut self, prompt: AdminPrompt, text: String) -> Vec<Command> {
        self.overlay = Some(Overlay::Input {
            prompt: Prompt::Admin(prompt),
            text,
        });
        Vec::new()
    }

    fn switch_tab(&mut self, step: isize) -> Vec<Command> {
        let n = TABS.len() as isize;
        let next = (self.admin.tab.index() as isize + step).rem_euclid(n) as usize;
        self.admin.tab = TABS[next];
        self.admin.row = 0;
        self.admin_load()
    }

    pub(crate) fn admin_action(&mut self, action: Action) -> Vec<Command> {
        let view = &self.admin;
        let row = view.row;
        match (view.tab, action) {
            (_, Action::Up) => {
                self.admin.row = row.saturating_sub(1);
                Vec::new()
            }
            (_, Action::Down) => {
                self.admin.row = (row + 1).min(view.rows().saturating_sub(1));
                Vec::new()
            }
            (_, Action::Right | Action::SwitchPane) => self.switch_tab(1),
            (_, Action::Left) => self.switch_tab(-1),
            (AdminTab::Users, Action::Create) => {
                self.admin_prompt(AdminPrompt::NewUser, String::new())
            }
            (AdminTab::Users, Action::AdminDisable) => match view.users.get(row) {
                Some(user) => {
                    let request = Request::SetUserDisabled {
                        handle: user.handle.clone(),
                        disabled: !user.disabled,
                    };
                    self.admin_change(request)
                }
                None => Vec::new(),
            },
            (AdminTab::Users, Action::AdminUnlock) => match view.users.get(row) {
                Some(user) => self.admin_change(Request::UnlockUser {
                    handle: user.handle.clone(),
                }),
                None => Vec::new(),
            },
            (AdminTab::Users, Action::AdminRole) => match view.users.get(row) {
                Some(user) => {
                    let role = match user.role {
                        ServerRole::Admin => ServerRole::User,
                        ServerRole::User => ServerRole::Admin,
                    };
                    let request = Request::UpdateUser {
                        handle: user.handle.clone(),
                        display_name: None,
                        email: None,
                        role: Some(role),
                        email_notifications: None,
                    };
                    self.admin_change(request)
                }
                None => Vec::new(),
            },
            (AdminTab::Users, Action::AdminDelete) => match view.users.get(row) {
                Some(user) => {
                    let handle = user.handle.clone();
                    self.admin_prompt(AdminPrompt::DeleteUser { handle }, String::new())
                }
                None => Vec::new(),
            },
            (AdminTab::Keys, Action::Remove) => match view.keys.get(row) {
                Some(key) => {
                    let fingerprint = key.fingerprint.clone();
                    self.admin_change(Request::RemoveKey { fingerprint })
                }
                None => Vec::new(),
            },
            (AdminTab::Invites, Action::Create) => {
                self.admin_prompt(AdminPrompt::NewInvite, "user 7d".into())
            }
            (AdminTab::Invites, Action::Remove) => match view.invites.get(row) {
                Some(invite) => {
                    let id = invite.id.clone();
                    self.admin_change(Request::RevokeInvite { id })
                }
                None => Vec::new(),
            },
            (AdminTab::Tokens, Action::Remove) => match view.tokens.get(row) {
                Some(token) => {
                    let id = token.id.clone();
                    self.admin_change(Request::RevokeToken { id })
                }
                None => Vec::new(),
            },
            (AdminTab::Sessions, Action::Remove) => match view.sessions.get(row) {
                Some(session) => {
                    let id = session.id;
                    self.admin_change(Request::KickSession { id })
                }
                None => Vec::new(),
            },
            (AdminTab::Audit, Action::Filter) => {
                let text = self.admin.audit_filter.clone();
                self.admin_prompt(AdminPrompt::AuditFilter, text)
            }
            (AdminTab::Jobs, Action::AdminRetry) => match view.jobs.get(row) {
                Some(job) if job.state == JobState::Failed => {
                    let id = job.id;
                    self.admin_change(Request::RetryJob { id })
                }
                Some(_) => {
                    self.toast(
                        "only failed jobs are retried; this one is still queued",
                        true,
                    );
                    Vec::new()
                }
                None => Vec::new(),
            },
            (AdminTab::Jobs, Action::Remove) => match view.jobs.get(row) {
                Some(job) => {
                    let id = job.id;
                    self.admin_change(Request::DropJob { id })
                }
                None => Vec::new(),
            },
            (AdminTab::Jobs, Action::Create) => {
                self.admin_prompt(AdminPrompt::RunJob, "backup".into())
            }
            (AdminTab::Backups, Action::Create) => self.admin_change(Request::Backup {
                path: String::new(),
            }),
            (AdminTab::Backups, Action::AdminVerify) => {
                match view.backups.as_ref().and_then(|b| b.files.get(row)) {
                    Some(file) => {
                        let name = file.name.clone();
                        self.admin_change(Request::VerifyBackup { name })
                    }
                    None => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }

    pub(crate) fn admin_submit(&mut self, prompt: AdminPrompt, text: String) -> Vec<Command> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match prompt {
            AdminPrompt::NewUser => {
                let Some(handle) = words.first() else {
                    self.toast("type a handle (and optionally an email and 'admin')", true);
                    return Vec::new();
                };
                let request = Request::CreateUser {
                    handle: handle.trim_start_matches('@').to_string(),
                    display_name: handle.trim_start_matches('@').to_string(),
                    email: words
                        .iter()
                        .find(|w| w.contains('@') && !w.starts_with('@'))
                        .map(|w| w.to_string()),
                    role: if words.contains(&"admin") {
                        ServerRole::Admin
                    } else {
                        ServerRole::User
                    },
                };
                self.admin_change(request)
            }
            AdminPrompt::NewInvite => {
                let role = if words.contains(&"admin") {
                    ServerRole::Admin
                } else {
                    ServerRole::User
                };
                let expiry = words
                    .iter()
                    .find_map(|w| crate::text::duration_secs(w))
                    .unwrap_or(7 * 86_400);
                vec![self.send(
                    Pending::Reveal,
                    Request::CreateInvite {
                        role,
                        expires_in_secs: expiry,
                    },
                )]
            }
            AdminPrompt::DeleteUser { handle } => {
                let reassign_to = words.first().map(|w| w.trim_start_matches('@').to_string());
                self.admin_change(Request::DeleteUser {
                    handle,
                    reassign_to,
                })
            }
            AdminPrompt::AuditFilter => {
                self.admin.audit_filter = text.trim().to_string();
                self.admin_load()
            }
            AdminPrompt::RunJob => self.admin_change(Request::RunJob {
                kind: text.trim().to_string(),
            }),
        }
    }

    /// The answer to a console change: say what happened and list the tab again.
    pub(crate) fn admin_changed(&mut self, body: ResponseBody) -> Vec<Command> {
        let said = match &body {
            ResponseBody::Backup(summary) => format!(
                "backup {} — {} records, sha256 {}…",
                summary.path,
                summary.records,
                summary.checksum.get(..12).unwrap_or_default()
            ),
            ResponseBody::User(user) => format!("@{} saved", user.handle),
            _ => "done".into(),
        };
        self.toast(said, false);
        self.admin_load()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_bar_reads_every_filter_and_refuses_nonsense() {
        let filter = parse_audit_filter(
            "@alice p:tack kind:issue-created since:1970-01-02 until:1970-01-02",
        )
        .unwrap();
        assert_eq!(filter.actor.as_deref(), Some("@alice"));
        assert_eq!(filter.project.as_deref(), Some("TACK"));
        assert_eq!(filter.kind, Some(ActivityKind::IssueCreated));
        assert_eq!(filter.since, Some(86_400_000));
        assert_eq!(filter.until, Some(2 * 86_400_000 - 1));
        assert!(parse_audit_filter("since:yesterday").is_err());
        assert!(parse_audit_filter("whatever").unwrap_err().contains("@who"));
        assert_eq!(parse_audit_filter("").unwrap(), AuditFilter::default());
    }
}
