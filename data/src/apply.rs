//! Applies one `Write` to a staging overlay: the record, its index entries and its activity
//! entries. The writer thread is the only writer, so it reads the trees plus what earlier writes
//! of the same batch staged, and a write that is refused leaves nothing behind. The whole batch
//! then commits in one sled transaction (see `writer`), so a crash keeps all of it or none.

use tack_protocol::{
    Activity, ActivityKind, Comment, CommentId, Event, EventRecord, Issue, IssueId, Project,
    ProjectId, SshKey, User,
};

use crate::keys;
use crate::records::{PendingKey, StoredInvite};
pub use crate::staging::Tx;
use crate::trees::{self, T};
use crate::{Op, Write, WriteError};

/// Id and sequence counters; a refused write leaves them as they were.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    pub next_user: u64,
    pub next_project: u64,
    pub next_issue: u64,
    pub next_comment: u64,
    pub next_job: u64,
    pub next_webhook: u64,
    pub next_delivery: u64,
    pub next_view: u64,
    pub last_seq: u64,
}

/// What the writer looked up before applying (the iterations a write needs).
#[derive(Debug, Default)]
pub struct Prepared {
    /// The rank after the last card of the issue's (new) column.
    pub append_rank: Option<String>,
    /// Comments of an issue being deleted.
    pub comment_ids: Vec<CommentId>,
    /// Ids of the notifications a MarkRead may touch.
    pub unread: Vec<u64>,
}

impl Tx<'_> {
    fn save_counters(&self, c: &Counters) -> Result<(), WriteError> {
        self.put_raw(T::Meta, trees::NEXT_USER, &c.next_user.to_be_bytes())?;
        self.put_raw(T::Meta, trees::NEXT_PROJECT, &c.next_project.to_be_bytes())?;
        self.put_raw(T::Meta, trees::NEXT_ISSUE, &c.next_issue.to_be_bytes())?;
        self.put_raw(T::Meta, trees::NEXT_COMMENT, &c.next_comment.to_be_bytes())?;
        self.put_raw(T::Meta, trees::NEXT_JOB, &c.next_job.to_be_bytes())?;
        self.put_raw(T::Meta, trees::NEXT_WEBHOOK, &c.next_webhook.to_be_bytes())?;
        self.put_raw(
            T::Meta,
            trees::NEXT_DELIVERY,
            &c.next_delivery.to_be_bytes(),
        )?;
        self.put_raw(T::Meta, trees::NEXT_VIEW, &c.next_view.to_be_bytes())?;
        self.put_raw(T::Meta, trees::LAST_SEQ, &c.last_seq.to_be_bytes())
    }

    pub fn index_issue(&self, issue: &Issue) -> Result<(), WriteError> {
        self.put_raw(
            T::IdxBoard,
            &keys::board(issue.project, issue.state, &issue.rank, issue.id),
            &[],
        )?;
        for user in &issue.assignees {
            self.put_raw(T::IdxAssignee, &keys::pair(*user, issue.id), &[])?;
        }
        for label in &issue.labels {
            self.put_raw(
                T::IdxLabel,
                &keys::label(issue.project, label, issue.id),
                &[],
            )?;
        }
        self.put_raw(
            T::IssuesByNumber,
            &keys::pair(issue.project, issue.number),
            &keys::id(issue.id),
        )
    }

    fn unindex_issue(&self, issue: &Issue) -> Result<(), WriteError> {
        self.del(
            T::IdxBoard,
            &keys::board(issue.project, issue.state, &issue.rank, issue.id),
        )?;
        for user in &issue.assignees {
            self.del(T::IdxAssignee, &keys::pair(*user, issue.id))?;
        }
        for label in &issue.labels {
            self.del(T::IdxLabel, &keys::label(issue.project, label, issue.id))?;
        }
        self.del(T::IssuesByNumber, &keys::pair(issue.project, issue.number))
    }

    /// Appends an activity entry (and its index entries) and returns the event it becomes.
    pub(crate) fn log(
        &self,
        c: &mut Counters,
        write: &Write,
        entry: Entry,
    ) -> Result<Event, WriteError> {
        c.last_seq += 1;
        let seq = c.last_seq;
        let activity = Activity {
            seq,
            at: write.at,
            actor: write.actor,
            kind: entry.kind,
            project: entry.project,
            issue: entry.issue,
            comment: entry.comment,
            subject: entry.subject,
            changes: write.changes.clone(),
        };
        self.put(T::Activity, &keys::id(seq), &activity)?;
        if let Some(issue) = entry.issue {
            self.put_raw(T::ActivityByIssue, &keys::pair(issue, seq), &[])?;
        }
        if let Some(project) = entry.project {
            self.put_raw(T::ActivityByProject, &keys::pair(project, seq), &[])?;
        }
        Ok(Event {
            seq,
            activity,
            record: entry.record,
        })
    }

    /// Stores a changed project; the issue counter belongs to the store, so a stale copy never
    /// rewinds it.
    fn put_project(&self, project: &Project) -> Result<Project, WriteError> {
        let stored = self.require_project(project.id)?;
        let mut project = project.clone();
        project.next_issue_number = stored.next_issue_number;
        self.put(T::Projects, &keys::id(project.id), &project)?;
        Ok(project)
    }

    /// Replaces `current` with `next` (one version later), moving its index entries.
    pub(crate) fn replace_issue(
        &self,
        current: &Issue,
        mut next: Issue,
    ) -> Result<Issue, WriteError> {
        next.version = current.version + 1;
        self.unindex_issue(current)?;
        self.index_issue(&next)?;
        self.put(T::Issues, &keys::id(next.id), &next)?;
        Ok(next)
    }

    pub(crate) fn require_user(&self, id: u64) -> Result<User, WriteError> {
        self.get(T::Users, &keys::id(id))?
            .ok_or_else(|| WriteError::Missing(format!("user #{id}")))
    }

    pub(crate) fn require_project(&self, id: u64) -> Result<Project, WriteError> {
        self.get(T::Projects, &keys::id(id))?
            .ok_or_else(|| WriteError::Missing(format!("project #{id}")))
    }

    pub(crate) fn require_issue(&self, id: u64) -> Result<Issue, WriteError> {
        self.get(T::Issues, &keys::id(id))?
            .ok_or_else(|| WriteError::Missing(format!("issue #{id}")))
    }

    fn put_key(&self, key: &SshKey) -> Result<(), WriteError> {
        if self.get_raw(T::Keys, key.fingerprint.as_bytes())?.is_some() {
            return Err(WriteError::Taken {
                field: "key",
                value: key.fingerprint.clone(),
            });
        }
        self.put(T::Keys, key.fingerprint.as_bytes(), key)?;
        // A key that is someone's now is nobody's claim any more.
        for claim in
            self.keys_with_prefix(T::PendingKeys, &keys::pending_key_prefix(&key.fingerprint))?
        {
            self.del(T::PendingKeys, &claim)?;
        }
        self.put_raw(
            T::KeysByUser,
            &keys::user_key(key.owner, &key.fingerprint),
            &[],
        )
    }
}

/// Where an activity entry belongs, what it is about, and the record its event carries.
pub(crate) struct Entry {
    kind: ActivityKind,
    project: Option<ProjectId>,
    issue: Option<IssueId>,
    comment: Option<CommentId>,
    subject: String,
    record: EventRecord,
}

impl Entry {
    /// Accounts, keys, tokens and invites: no project, no record.
    pub(crate) fn account(kind: ActivityKind, subject: String) -> Entry {
        Entry {
            kind,
            project: None,
            issue: None,
            comment: None,
            subject,
            record: EventRecord::None,
        }
    }

    fn webhook(project: &Project, id: u64) -> Entry {
        Entry {
            kind: ActivityKind::WebhookChanged,
            project: Some(project.id),
            issue: None,
            comment: None,
            subject: format!("{} webhook #{id}", project.key),
            record: EventRecord::None,
        }
    }

    fn project(kind: ActivityKind, project: Project) -> Entry {
        Entry {
            kind,
            project: Some(project.id),
            issue: None,
            comment: None,
            subject: project.key.clone(),
            record: EventRecord::Project(project),
        }
    }

    pub(crate) fn issue(kind: ActivityKind, issue: Issue) -> Entry {
        Entry {
            kind,
            project: Some(issue.project),
            issue: Some(issue.id),
            comment: None,
            subject: issue.key.clone(),
            record: EventRecord::Issue(issue),
        }
    }

    fn comment(
        kind: ActivityKind,
        issue: &Issue,
        comment: CommentId,
        record: EventRecord,
    ) -> Entry {
        Entry {
            kind,
            project: Some(issue.project),
            issue: Some(issue.id),
            comment: Some(comment),
            subject: issue.key.clone(),
            record,
        }
    }
}

pub fn apply(
    tx: &Tx<'_>,
    write: &Write,
    prepared: &Prepared,
    c: &mut Counters,
) -> Result<Vec<Event>, WriteError> {
    let events = match &write.op {
        Op::CreateUser {
            user,
            key,
            token,
            invite,
        } => {
            if tx
                .get_raw(T::UsersByHandle, user.handle.as_bytes())?
                .is_some()
            {
                return Err(WriteError::Taken {
                    field: "handle",
                    value: user.handle.clone(),
                });
            }
            if let Some(invite_id) = invite {
                let mut stored: StoredInvite = tx
                    .get(T::Invites, invite_id.as_bytes())?
                    .ok_or_else(|| WriteError::Missing(format!("invite {invite_id}")))?;
                if stored.invite.redeemed_by.is_some() || stored.invite.revoked {
                    return Err(WriteError::Rejected(
                        "this invite code was already used or revoked".into(),
                    ));
                }
                stored.invite.redeemed_by = Some(c.next_user);
                tx.put(T::Invites, invite_id.as_bytes(), &stored)?;
            }
            let mut user = user.clone();
            user.id = c.next_user;
            c.next_user += 1;
            tx.put(T::Users, &keys::id(user.id), &user)?;
            tx.put_raw(T::UsersByHandle, user.handle.as_bytes(), &keys::id(user.id))?;
            if let Some(key) = key {
                let mut key = key.clone();
                key.owner = user.id;
                tx.put_key(&key)?;
            }
            if let Some(token) = token {
                let mut token = token.clone();
                token.token.user = user.id;
                tx.put(T::Tokens, token.token.id.as_bytes(), &token)?;
            }
            vec![tx.log(
                c,
                write,
                Entry::account(ActivityKind::UserCreated, format!("@{}", user.handle)),
            )?]
        }
        Op::UpdateUser(user) => {
            let old = tx.require_user(user.id)?;
            if old.handle != user.handle {
                return Err(WriteError::Rejected("a handle cannot be changed".into()));
            }
            tx.put(T::Users, &keys::id(user.id), user)?;
            vec![tx.log(
                c,
                write,
                Entry::account(ActivityKind::UserUpdated, format!("@{}", user.handle)),
            )?]
        }
        Op::AddKey(key) => {
            tx.require_user(key.owner)?;
            tx.put_key(key)?;
            vec![tx.log(
                c,
                write,
                Entry::account(ActivityKind::KeyAdded, key.fingerprint.clone()),
            )?]
        }
        Op::AddPendingKey(pending) => {
            let key = &pending.key;
            tx.require_user(key.owner)?;
            if tx.get_raw(T::Keys, key.fingerprint.as_bytes())?.is_some() {
                return Err(WriteError::Taken {
                    field: "key",
                    value: key.fingerprint.clone(),
                });
            }
            tx.put(
                T::PendingKeys,
                &keys::pending_key(&key.fingerprint, key.owner),
                pending,
            )?;
            vec![tx.log(
                c,
                write,
                Entry::account(ActivityKind::KeyAdded, key.fingerprint.clone()),
            )?]
        }
        Op::ConfirmKey { fingerprint, owner } => {
            tx.require_user(*owner)?;
            let claim: PendingKey = tx
                .get(T::PendingKeys, &keys::pending_key(fingerprint, *owner))?
                .ok_or_else(|| WriteError::Missing(format!("the pending key {fingerprint}")))?;
            tx.put_key(&claim.key)?;
            vec![tx.log(
                c,
                write,
                Entry::account(ActivityKind::KeyAdded, fingerprint.clone()),
            )?]
        }
        Op::RemoveKey { fingerprint } => {
            let key: SshKey = tx
                .get(T::Keys, fingerprint.as_bytes())?
                .ok_or_else(|| WriteError::Missing(format!("key {fingerprint}")))?;
            tx.del(T::Keys, fingerprint.as_bytes())?;
            tx.del(T::KeysByUser, &keys::user_key(key.owner, fingerprint))?;
            vec![tx.log(
                c,
                write,
                Entry::account(ActivityKind::KeyRemoved, fingerprint.clone()),
            )?]
        }
        Op::TouchKey { fingerprint } => {
            if let Some(mut key) = tx.get::<SshKey>(T::Keys, fingerprint.as_bytes())? {
                key.last_used_at = Some(write.at);
                tx.put(T::Keys, fingerprint.as_bytes(), &key)?;
            }
            Vec::new()
        }
        Op::PutToken { token, kind } => {
            tx.put(T::Tokens, token.token.id.as_bytes(), token)?;
            vec![tx.log(c, write, Entry::account(*kind, token.token.name.clone()))?]
        }
        Op::PutInvite { invite, kind } => {
            tx.put(T::Invites, invite.invite.id.as_bytes(), invite)?;
            vec![tx.log(c, write, Entry::account(*kind, invite.invite.id.clone()))?]
        }
        Op::CreateProject(project) => {
            if tx
                .get_raw(T::ProjectsByKey, project.key.as_bytes())?
                .is_some()
            {
                return Err(WriteError::Taken {
                    field: "key",
                    value: project.key.clone(),
                });
            }
            let mut project = project.clone();
            project.id = c.next_project;
            c.next_project += 1;
            tx.put(T::Projects, &keys::id(project.id), &project)?;
            tx.put_raw(
                T::ProjectsByKey,
                project.key.as_bytes(),
                &keys::id(project.id),
            )?;
            vec![tx.log(
                c,
                write,
                Entry::project(ActivityKind::ProjectCreated, project),
            )?]
        }
        Op::UpdateProject { project, kind } => {
            let project = tx.put_project(project)?;
            vec![tx.log(c, write, Entry::project(*kind, project))?]
        }
        Op::CreateIssue(issue) => {
            let mut project = tx.require_project(issue.project)?;
            let mut issue = issue.clone();
            issue.id = c.next_issue;
            c.next_issue += 1;
            issue.number = project.next_issue_number;
            issue.key = format!("{}-{}", project.key, issue.number);
            issue.version = 1;
            if issue.rank.is_empty() {
                issue.rank = prepared
                    .append_rank
                    .clone()
                    .unwrap_or_else(|| tack_protocol::rank::after(None));
            }
            project.next_issue_number += 1;
            tx.put(T::Projects, &keys::id(project.id), &project)?;
            tx.put(T::Issues, &keys::id(issue.id), &issue)?;
            tx.index_issue(&issue)?;
            vec![tx.log(c, write, Entry::issue(ActivityKind::IssueCreated, issue))?]
        }
        Op::UpdateIssue {
            issue,
            expected_version,
        } => {
            let current = tx.require_issue(issue.id)?;
            if current.version != *expected_version {
                return Err(WriteError::Conflict {
                    current: Box::new(current),
                });
            }
            let mut next = issue.clone();
            if next.rank.is_empty() {
                next.rank = prepared
                    .append_rank
                    .clone()
                    .unwrap_or_else(|| tack_protocol::rank::after(None));
            }
            // Where an issue lives and what it is called never change.
            next.project = current.project;
            next.number = current.number;
            next.key = current.key.clone();
            let issue = tx.replace_issue(&current, next)?;
            vec![tx.log(c, write, Entry::issue(ActivityKind::IssueUpdated, issue))?]
        }
        Op::UpdateProjectAndIssues { project, issues } => {
            let project = tx.put_project(project)?;
            let mut events = Vec::with_capacity(issues.len() + 1);
            for moved in issues {
                let current = tx.require_issue(moved.id)?;
                // Only the column changes: other fields keep whatever is stored now.
                let mut next = current.clone();
                next.state = moved.state;
                next.rank = moved.rank.clone();
                next.updated_at = moved.updated_at;
                next.closed_at = moved.closed_at;
                let issue = tx.replace_issue(&current, next)?;
                events.push(tx.log(c, write, Entry::issue(ActivityKind::IssueUpdated, issue))?);
            }
            events.push(tx.log(
                c,
                write,
                Entry::project(ActivityKind::StatesChanged, project),
            )?);
            events
        }
        Op::DeleteIssue { id } => {
            let current = tx.require_issue(*id)?;
            tx.unindex_issue(&current)?;
            tx.del(T::Issues, &keys::id(*id))?;
            for comment in &prepared.comment_ids {
                tx.del(T::Comments, &keys::id(*comment))?;
                tx.del(T::CommentsByIssue, &keys::pair(*id, *comment))?;
            }
            let mut entry = Entry::issue(ActivityKind::IssueDeleted, current.clone());
            entry.record = EventRecord::IssueDeleted {
                id: *id,
                key: current.key,
            };
            vec![tx.log(c, write, entry)?]
        }
        Op::PutComment(comment) => {
            let issue = tx.require_issue(comment.issue)?;
            let mut comment = comment.clone();
            comment.project = issue.project;
            let kind = if comment.id == 0 {
                comment.id = c.next_comment;
                c.next_comment += 1;
                tx.put_raw(T::CommentsByIssue, &keys::pair(issue.id, comment.id), &[])?;
                ActivityKind::CommentAdded
            } else {
                if tx.get_raw(T::Comments, &keys::id(comment.id))?.is_none() {
                    return Err(WriteError::Missing(format!("comment #{}", comment.id)));
                }
                ActivityKind::CommentEdited
            };
            tx.put(T::Comments, &keys::id(comment.id), &comment)?;
            let id = comment.id;
            vec![tx.log(
                c,
                write,
                Entry::comment(kind, &issue, id, EventRecord::Comment(comment)),
            )?]
        }
        Op::PutTotp { record, logged } => {
            let user = tx.require_user(record.user)?;
            tx.put(T::Totp, &keys::id(record.user), record)?;
            if *logged {
                vec![tx.log(
                    c,
                    write,
                    Entry::account(ActivityKind::UserUpdated, format!("@{}", user.handle)),
                )?]
            } else {
                Vec::new()
            }
        }
        Op::MarkRead { user, ids } => {
            for id in &prepared.unread {
                if ids.is_empty() || ids.contains(id) {
                    let key = keys::pair(*user, *id);
                    if let Some(mut notification) =
                        tx.get::<tack_protocol::Notification>(T::Notifications, &key)?
                    {
                        notification.read = true;
                        tx.put(T::Notifications, &key, &notification)?;
                    }
                }
            }
            Vec::new()
        }
        Op::Watch { issue, user, watch } => {
            if *watch {
                tx.put_raw(T::Watchers, &keys::pair(*issue, *user), &[])?;
            } else {
                tx.del(T::Watchers, &keys::pair(*issue, *user))?;
            }
            Vec::new()
        }
        Op::EnqueueJob { kind, key, run_at } => {
            tx.enqueue_once(c, kind.clone(), key, write.at, *run_at)?;
            Vec::new()
        }
        Op::FinishJob {
            id,
            outcome,
            delivery,
        } => {
            tx.finish_job(c, *id, outcome, delivery.as_ref())?;
            Vec::new()
        }
        Op::RetryJob { id } => {
            let job = tx.retry_job(*id, write.at)?;
            vec![tx.log(
                c,
                write,
                Entry::account(ActivityKind::JobChanged, format!("job #{}", job.id)),
            )?]
        }
        Op::DropJob { id } => {
            let job = tx.drop_job(*id)?;
            vec![tx.log(
                c,
                write,
                Entry::account(ActivityKind::JobChanged, format!("job #{}", job.id)),
            )?]
        }
        Op::PutWebhook(hook) => {
            let project = tx.require_project(hook.hook.project)?;
            let hook = tx.put_webhook(c, hook)?;
            vec![tx.log(c, write, Entry::webhook(&project, hook.hook.id))?]
        }
        Op::DeleteWebhook { project, id } => {
            let project = tx.require_project(*project)?;
            tx.delete_webhook(project.id, *id)?;
            vec![tx.log(c, write, Entry::webhook(&project, *id))?]
        }
        Op::PutUserSettings {
            user,
            settings,
            logged,
        } => {
            let stored = tx.require_user(*user)?;
            tx.put_settings(*user, settings)?;
            if *logged {
                vec![tx.log(
                    c,
                    write,
                    Entry::account(ActivityKind::UserUpdated, format!("@{}", stored.handle)),
                )?]
            } else {
                Vec::new()
            }
        }
        Op::DeleteUser {
            id,
            reassign_to,
            tokens,
        } => {
            tx.revoke_tokens(tokens)?;
            tx.delete_user(c, write, *id, *reassign_to)?
        }
        Op::Remind { issue, due } => tx.remind(c, write, *issue, due)?,
        Op::PutView(view) => {
            let mut view = view.clone();
            if view.id == 0 {
                view.id = c.next_view;
                c.next_view += 1;
            }
            tx.put(T::Views, &keys::id(view.id), &view)?;
            Vec::new()
        }
        Op::ImportIssue {
            issue,
            comments,
            source,
        } => tx.import_issue(c, write, issue, comments, source)?,
        Op::MergeUser { from, into } => tx.merge_user(c, write, *from, *into)?,
        Op::DeleteView { id } => {
            tx.del(T::Views, &keys::id(*id))?;
            Vec::new()
        }
        Op::DeleteComment { id } => {
            let comment: Comment = tx
                .get(T::Comments, &keys::id(*id))?
                .ok_or_else(|| WriteError::Missing(format!("comment #{id}")))?;
            let issue = tx.require_issue(comment.issue)?;
            tx.del(T::Comments, &keys::id(*id))?;
            tx.del(T::CommentsByIssue, &keys::pair(comment.issue, *id))?;
            let record = EventRecord::CommentDeleted {
                id: *id,
                issue: issue.id,
            };
            vec![tx.log(
                c,
                write,
                Entry::comment(ActivityKind::CommentDeleted, &issue, *id, record),
            )?]
        }
    };
    follow(tx, write, &events)?;
    crate::apply_ops::enqueue_followups(tx, write, &events, c)?;
    tx.save_counters(c)?;
    Ok(events)
}

/// Commits the inbox side effects of a change to an issue: new watchers, and one notification
/// per person told (its id is the change's sequence number).
fn follow(tx: &Tx<'_>, write: &Write, events: &[Event]) -> Result<(), WriteError> {
    let Some(last) = events.last() else {
        return Ok(());
    };
    let Some(issue) = last.activity.issue else {
        return Ok(());
    };
    for user in &write.follow.watchers {
        tx.put_raw(T::Watchers, &keys::pair(issue, *user), &[])?;
    }
    for (user, kind) in &write.follow.notify {
        let notification = tack_protocol::Notification {
            id: last.seq,
            user: *user,
            issue,
            issue_key: last.activity.subject.clone(),
            kind: *kind,
            actor: write.actor,
            at: write.at,
            read: false,
        };
        tx.put(
            T::Notifications,
            &keys::pair(*user, last.seq),
            &notification,
        )?;
    }
    Ok(())
}
