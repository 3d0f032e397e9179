//! Applies one `Write` to a staging overlay: the record, its index entries and its activity
//! entries. The writer thread is the only writer, so it reads the trees plus what earlier writes
//! of the same batch staged, and a write that is refused leaves nothing behind. The whole batch
//! then commits in one sled transaction (see `writer`), so a crash keeps all of it or none.

use std::cell::RefCell;
use std::collections::BTreeMap;

use bincode::{Decode, Encode};
use tack_protocol::{
    Activity, ActivityKind, Comment, CommentId, Event, EventRecord, Issue, IssueId, Project,
    ProjectId, SshKey, User,
};

use crate::keys;
use crate::records::{StoredInvite, decode, encode};
use crate::trees::{self, T, Trees};
use crate::{Op, Write, WriteError};

pub type Abort = WriteError;

/// Id and sequence counters; a refused write leaves them as they were.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    pub next_user: u64,
    pub next_project: u64,
    pub next_issue: u64,
    pub next_comment: u64,
    pub last_seq: u64,
}

/// What the writer looked up before applying (the iterations a write needs).
#[derive(Debug, Default)]
pub struct Prepared {
    /// The rank after the last card of the issue's (new) column.
    pub append_rank: Option<String>,
    /// Comments of an issue being deleted.
    pub comment_ids: Vec<CommentId>,
}

type Change = Option<Vec<u8>>;
type StagedKey = (usize, Vec<u8>);

fn abort(err: WriteError) -> Abort {
    err
}

/// The smallest key greater than every key that starts with `prefix` (None: there is none).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn engine(err: sled::Error) -> Abort {
    WriteError::Store(err.to_string())
}

/// Changes staged over the trees: those of writes already kept in the batch, and those of the
/// write being applied (apart, so that a refusal can drop them).
pub struct Tx<'a> {
    trees: &'a Trees,
    batch: BTreeMap<StagedKey, Change>,
    pending: RefCell<BTreeMap<StagedKey, Change>>,
}

impl<'a> Tx<'a> {
    pub fn new(trees: &'a Trees) -> Self {
        Tx {
            trees,
            batch: BTreeMap::new(),
            pending: RefCell::new(BTreeMap::new()),
        }
    }

    /// Keeps the current write's changes as part of the batch.
    pub fn keep_write(&mut self) {
        let pending = std::mem::take(self.pending.get_mut());
        self.batch.extend(pending);
    }

    pub fn drop_write(&mut self) {
        self.pending.get_mut().clear();
    }

    /// Everything staged, to be written in one transaction.
    pub fn into_changes(self) -> Vec<(usize, Vec<u8>, Change)> {
        self.batch
            .into_iter()
            .map(|((tree, key), value)| (tree, key, value))
            .collect()
    }

    fn staged(&self, tree: T, key: &[u8]) -> Option<Change> {
        let probe = (tree as usize, key.to_vec());
        if let Some(change) = self.pending.borrow().get(&probe) {
            return Some(change.clone());
        }
        self.batch.get(&probe).cloned()
    }

    fn get_raw(&self, tree: T, key: &[u8]) -> Result<Option<Vec<u8>>, Abort> {
        match self.staged(tree, key) {
            Some(change) => Ok(change),
            None => Ok(self
                .trees
                .get(tree)
                .get(key)
                .map_err(engine)?
                .map(|v| v.to_vec())),
        }
    }

    pub fn get<V: Decode<()>>(&self, tree: T, key: &[u8]) -> Result<Option<V>, Abort> {
        match self.get_raw(tree, key)? {
            Some(bytes) => decode(trees::name(tree), &bytes)
                .map(Some)
                .map_err(|e| WriteError::Store(e.to_string())),
            None => Ok(None),
        }
    }

    pub fn put<V: Encode>(&self, tree: T, key: &[u8], value: &V) -> Result<(), Abort> {
        self.put_raw(tree, key, &encode(value))
    }

    fn put_raw(&self, tree: T, key: &[u8], value: &[u8]) -> Result<(), Abort> {
        self.pending
            .borrow_mut()
            .insert((tree as usize, key.to_vec()), Some(value.to_vec()));
        Ok(())
    }

    fn del(&self, tree: T, key: &[u8]) -> Result<(), Abort> {
        self.pending
            .borrow_mut()
            .insert((tree as usize, key.to_vec()), None);
        Ok(())
    }

    fn staged_under(&self, tree: T, prefix: &[u8]) -> bool {
        let t = tree as usize;
        let start = (t, prefix.to_vec());
        let hit = |staged: &BTreeMap<StagedKey, Change>| {
            staged
                .range(start.clone()..)
                .next()
                .is_some_and(|((st, k), _)| *st == t && k.starts_with(prefix))
        };
        hit(&self.batch) || hit(&self.pending.borrow())
    }

    /// Keys under `prefix`, in order, as the trees plus the staged changes have them.
    pub fn keys_with_prefix(&self, tree: T, prefix: &[u8]) -> Result<Vec<Vec<u8>>, Abort> {
        let mut keys: BTreeMap<Vec<u8>, bool> = BTreeMap::new();
        for key in self.trees.get(tree).scan_prefix(prefix).keys() {
            keys.insert(key.map_err(engine)?.to_vec(), true);
        }
        let t = tree as usize;
        for staged in [&self.batch, &*self.pending.borrow()] {
            let under = staged
                .range((t, prefix.to_vec())..)
                .take_while(|((st, k), _)| *st == t && k.starts_with(prefix));
            for ((_, key), change) in under {
                keys.insert(key.clone(), change.is_some());
            }
        }
        Ok(keys
            .into_iter()
            .filter(|(_, present)| *present)
            .map(|(key, _)| key)
            .collect())
    }

    /// The last key under `prefix`, as the trees plus the staged changes have it.
    pub fn last_key_with_prefix(&self, tree: T, prefix: &[u8]) -> Result<Option<Vec<u8>>, Abort> {
        let present = |key: &[u8]| !matches!(self.staged(tree, key), Some(None));
        let mut best: Option<Vec<u8>> = None;
        for key in self.trees.get(tree).scan_prefix(prefix).keys().rev() {
            let key = key.map_err(engine)?;
            if present(&key) {
                best = Some(key.to_vec());
                break;
            }
        }
        if self.staged_under(tree, prefix) {
            let t = tree as usize;
            let end = prefix_end(prefix).map_or((t + 1, Vec::new()), |end| (t, end));
            for staged in [&self.batch, &*self.pending.borrow()] {
                let last = staged
                    .range((t, prefix.to_vec())..end.clone())
                    .rev()
                    .map(|((_, key), _)| key)
                    .find(|key| present(key));
                if let Some(key) = last
                    && best.as_ref().is_none_or(|b| key > b)
                {
                    best = Some(key.clone());
                }
            }
        }
        Ok(best)
    }

    fn save_counters(&self, c: &Counters) -> Result<(), Abort> {
        self.put_raw(T::Meta, trees::NEXT_USER, &c.next_user.to_be_bytes())?;
        self.put_raw(T::Meta, trees::NEXT_PROJECT, &c.next_project.to_be_bytes())?;
        self.put_raw(T::Meta, trees::NEXT_ISSUE, &c.next_issue.to_be_bytes())?;
        self.put_raw(T::Meta, trees::NEXT_COMMENT, &c.next_comment.to_be_bytes())?;
        self.put_raw(T::Meta, trees::LAST_SEQ, &c.last_seq.to_be_bytes())
    }

    pub fn index_issue(&self, issue: &Issue) -> Result<(), Abort> {
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

    fn unindex_issue(&self, issue: &Issue) -> Result<(), Abort> {
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
    #[allow(clippy::too_many_arguments)]
    fn log(
        &self,
        c: &mut Counters,
        write: &Write,
        kind: ActivityKind,
        project: Option<ProjectId>,
        issue: Option<IssueId>,
        comment: Option<CommentId>,
        subject: String,
        record: EventRecord,
    ) -> Result<Event, Abort> {
        c.last_seq += 1;
        let seq = c.last_seq;
        let activity = Activity {
            seq,
            at: write.at,
            actor: write.actor,
            kind,
            project,
            issue,
            comment,
            subject,
            changes: write.changes.clone(),
        };
        self.put(T::Activity, &keys::id(seq), &activity)?;
        if let Some(issue) = issue {
            self.put_raw(T::ActivityByIssue, &keys::pair(issue, seq), &[])?;
        }
        if let Some(project) = project {
            self.put_raw(T::ActivityByProject, &keys::pair(project, seq), &[])?;
        }
        Ok(Event {
            seq,
            activity,
            record,
        })
    }

    fn require_user(&self, id: u64) -> Result<User, Abort> {
        self.get(T::Users, &keys::id(id))?
            .ok_or_else(|| abort(WriteError::Missing(format!("user #{id}"))))
    }

    fn require_project(&self, id: u64) -> Result<Project, Abort> {
        self.get(T::Projects, &keys::id(id))?
            .ok_or_else(|| abort(WriteError::Missing(format!("project #{id}"))))
    }

    fn require_issue(&self, id: u64) -> Result<Issue, Abort> {
        self.get(T::Issues, &keys::id(id))?
            .ok_or_else(|| abort(WriteError::Missing(format!("issue #{id}"))))
    }

    fn put_key(&self, key: &SshKey) -> Result<(), Abort> {
        if self.get_raw(T::Keys, key.fingerprint.as_bytes())?.is_some() {
            return Err(abort(WriteError::Taken {
                field: "key",
                value: key.fingerprint.clone(),
            }));
        }
        self.put(T::Keys, key.fingerprint.as_bytes(), key)?;
        self.put_raw(
            T::KeysByUser,
            &keys::user_key(key.owner, &key.fingerprint),
            &[],
        )
    }
}

pub fn apply(
    tx: &Tx<'_>,
    write: &Write,
    prepared: &Prepared,
    c: &mut Counters,
) -> Result<Vec<Event>, Abort> {
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
                return Err(abort(WriteError::Taken {
                    field: "handle",
                    value: user.handle.clone(),
                }));
            }
            if let Some(invite_id) = invite {
                let mut stored: StoredInvite = tx
                    .get(T::Invites, invite_id.as_bytes())?
                    .ok_or_else(|| abort(WriteError::Missing(format!("invite {invite_id}"))))?;
                if stored.invite.redeemed_by.is_some() || stored.invite.revoked {
                    return Err(abort(WriteError::Rejected(
                        "this invite code was already used or revoked".into(),
                    )));
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
            let subject = format!("@{}", user.handle);
            vec![tx.log(
                c,
                write,
                ActivityKind::UserCreated,
                None,
                None,
                None,
                subject,
                EventRecord::None,
            )?]
        }
        Op::UpdateUser(user) => {
            let old = tx.require_user(user.id)?;
            if old.handle != user.handle {
                return Err(abort(WriteError::Rejected(
                    "a handle cannot be changed".into(),
                )));
            }
            tx.put(T::Users, &keys::id(user.id), user)?;
            let subject = format!("@{}", user.handle);
            vec![tx.log(
                c,
                write,
                ActivityKind::UserUpdated,
                None,
                None,
                None,
                subject,
                EventRecord::None,
            )?]
        }
        Op::AddKey(key) => {
            tx.require_user(key.owner)?;
            tx.put_key(key)?;
            vec![tx.log(
                c,
                write,
                ActivityKind::KeyAdded,
                None,
                None,
                None,
                key.fingerprint.clone(),
                EventRecord::None,
            )?]
        }
        Op::RemoveKey { fingerprint } => {
            let key: SshKey = tx
                .get(T::Keys, fingerprint.as_bytes())?
                .ok_or_else(|| abort(WriteError::Missing(format!("key {fingerprint}"))))?;
            tx.del(T::Keys, fingerprint.as_bytes())?;
            tx.del(T::KeysByUser, &keys::user_key(key.owner, fingerprint))?;
            vec![tx.log(
                c,
                write,
                ActivityKind::KeyRemoved,
                None,
                None,
                None,
                fingerprint.clone(),
                EventRecord::None,
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
            vec![tx.log(
                c,
                write,
                *kind,
                None,
                None,
                None,
                token.token.name.clone(),
                EventRecord::None,
            )?]
        }
        Op::PutInvite { invite, kind } => {
            tx.put(T::Invites, invite.invite.id.as_bytes(), invite)?;
            vec![tx.log(
                c,
                write,
                *kind,
                None,
                None,
                None,
                invite.invite.id.clone(),
                EventRecord::None,
            )?]
        }
        Op::CreateProject(project) => {
            if tx
                .get_raw(T::ProjectsByKey, project.key.as_bytes())?
                .is_some()
            {
                return Err(abort(WriteError::Taken {
                    field: "key",
                    value: project.key.clone(),
                }));
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
            let (id, subject) = (project.id, project.key.clone());
            vec![tx.log(
                c,
                write,
                ActivityKind::ProjectCreated,
                Some(id),
                None,
                None,
                subject,
                EventRecord::Project(project),
            )?]
        }
        Op::UpdateProject { project, kind } => {
            let old = tx.require_project(project.id)?;
            let mut project = project.clone();
            // The issue counter belongs to the store: a stale copy must not rewind it.
            project.next_issue_number = old.next_issue_number;
            tx.put(T::Projects, &keys::id(project.id), &project)?;
            let (id, subject) = (project.id, project.key.clone());
            vec![tx.log(
                c,
                write,
                *kind,
                Some(id),
                None,
                None,
                subject,
                EventRecord::Project(project),
            )?]
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
            let (p, i, subject) = (issue.project, issue.id, issue.key.clone());
            vec![tx.log(
                c,
                write,
                ActivityKind::IssueCreated,
                Some(p),
                Some(i),
                None,
                subject,
                EventRecord::Issue(issue),
            )?]
        }
        Op::UpdateIssue {
            issue,
            expected_version,
        } => {
            let current = tx.require_issue(issue.id)?;
            if current.version != *expected_version {
                return Err(abort(WriteError::Conflict {
                    current: Box::new(current),
                }));
            }
            let mut issue = issue.clone();
            if issue.rank.is_empty() {
                issue.rank = prepared
                    .append_rank
                    .clone()
                    .unwrap_or_else(|| tack_protocol::rank::after(None));
            }
            issue.version = current.version + 1;
            issue.project = current.project;
            issue.number = current.number;
            issue.key = current.key.clone();
            tx.unindex_issue(&current)?;
            tx.index_issue(&issue)?;
            tx.put(T::Issues, &keys::id(issue.id), &issue)?;
            let (p, i, subject) = (issue.project, issue.id, issue.key.clone());
            vec![tx.log(
                c,
                write,
                ActivityKind::IssueUpdated,
                Some(p),
                Some(i),
                None,
                subject,
                EventRecord::Issue(issue),
            )?]
        }
        Op::UpdateProjectAndIssues { project, issues } => {
            let old = tx.require_project(project.id)?;
            let mut project = project.clone();
            project.next_issue_number = old.next_issue_number;
            tx.put(T::Projects, &keys::id(project.id), &project)?;
            let mut events = Vec::with_capacity(issues.len() + 1);
            for moved in issues {
                let current = tx.require_issue(moved.id)?;
                // Only the column changes: other fields keep whatever is stored now.
                let mut issue = current.clone();
                issue.state = moved.state;
                issue.rank = moved.rank.clone();
                issue.updated_at = moved.updated_at;
                issue.closed_at = moved.closed_at;
                issue.version = current.version + 1;
                tx.unindex_issue(&current)?;
                tx.index_issue(&issue)?;
                tx.put(T::Issues, &keys::id(issue.id), &issue)?;
                let (p, i, subject) = (issue.project, issue.id, issue.key.clone());
                events.push(tx.log(
                    c,
                    write,
                    ActivityKind::IssueUpdated,
                    Some(p),
                    Some(i),
                    None,
                    subject,
                    EventRecord::Issue(issue),
                )?);
            }
            let (id, subject) = (project.id, project.key.clone());
            events.push(tx.log(
                c,
                write,
                ActivityKind::StatesChanged,
                Some(id),
                None,
                None,
                subject,
                EventRecord::Project(project),
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
            let record = EventRecord::IssueDeleted {
                id: *id,
                key: current.key.clone(),
            };
            vec![tx.log(
                c,
                write,
                ActivityKind::IssueDeleted,
                Some(current.project),
                Some(*id),
                None,
                current.key,
                record,
            )?]
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
                    return Err(abort(WriteError::Missing(format!(
                        "comment #{}",
                        comment.id
                    ))));
                }
                ActivityKind::CommentEdited
            };
            tx.put(T::Comments, &keys::id(comment.id), &comment)?;
            let id = comment.id;
            vec![tx.log(
                c,
                write,
                kind,
                Some(issue.project),
                Some(issue.id),
                Some(id),
                issue.key,
                EventRecord::Comment(comment),
            )?]
        }
        Op::DeleteComment { id } => {
            let comment: Comment = tx
                .get(T::Comments, &keys::id(*id))?
                .ok_or_else(|| abort(WriteError::Missing(format!("comment #{id}"))))?;
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
                ActivityKind::CommentDeleted,
                Some(issue.project),
                Some(issue.id),
                Some(*id),
                issue.key,
                record,
            )?]
        }
    };
    tx.save_counters(c)?;
    Ok(events)
}
