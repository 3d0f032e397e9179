//! Imports: an issue with its comments written as the source has it — its number and dates
//! kept — matched to an earlier import of the same source, so re-running updates rather than
//! duplicates. Merging a placeholder person into a real one.

use tack_protocol::{ActivityKind, Actor, Comment, Issue, UserId};

use crate::apply::{Counters, Entry, Tx};
use crate::keys;
use crate::trees::T;
use crate::{Write, WriteError};

/// `project | source` → issue id.
fn import_key(project: u64, source: &str) -> Vec<u8> {
    let mut key = keys::id(project).to_vec();
    key.extend_from_slice(source.as_bytes());
    key
}

impl Tx<'_> {
    fn comment_ids(&self, issue: u64) -> Result<Vec<u64>, WriteError> {
        Ok(self
            .keys_with_prefix(T::CommentsByIssue, &keys::id(issue))?
            .iter()
            .filter_map(|k| keys::trailing_id(k))
            .collect())
    }

    /// The issue an earlier import of `source` made, or (for a tack export, `tack:N`) the
    /// issue numbered N.
    fn imported(&self, project: u64, source: &str) -> Result<Option<Issue>, WriteError> {
        let by_source = self
            .get_raw(T::Imports, &import_key(project, source))?
            .and_then(|id| keys::read_u64(&id, 0));
        let id = match by_source {
            Some(id) => Some(id),
            None => match source
                .strip_prefix("tack:")
                .and_then(|n| n.parse::<u64>().ok())
            {
                Some(number) => self
                    .get_raw(T::IssuesByNumber, &keys::pair(project, number))?
                    .and_then(|id| keys::read_u64(&id, 0)),
                None => None,
            },
        };
        match id {
            Some(id) => self.get(T::Issues, &keys::id(id)),
            None => Ok(None),
        }
    }

    pub(crate) fn import_issue(
        &self,
        c: &mut Counters,
        write: &Write,
        issue: &Issue,
        comments: &[Comment],
        source: &str,
    ) -> Result<Vec<tack_protocol::Event>, WriteError> {
        let mut project = self.require_project(issue.project)?;
        let mut issue = issue.clone();
        let existing = self.imported(project.id, source)?;
        let kind = match &existing {
            Some(current) => {
                issue.id = current.id;
                issue.number = current.number;
                if issue.rank.is_empty() {
                    issue.rank = current.rank.clone();
                }
                ActivityKind::IssueUpdated
            }
            None => {
                issue.id = c.next_issue;
                c.next_issue += 1;
                let wanted = issue.number;
                let free = wanted > 0
                    && self
                        .get_raw(T::IssuesByNumber, &keys::pair(project.id, wanted))?
                        .is_none();
                if !free {
                    issue.number = project.next_issue_number;
                }
                ActivityKind::IssueCreated
            }
        };
        issue.key = format!("{}-{}", project.key, issue.number);
        if issue.rank.is_empty() {
            let column = keys::board_column(project.id, issue.state);
            let last = self
                .last_key_with_prefix(T::IdxBoard, &column)?
                .and_then(|key| {
                    let end = key.len().checked_sub(9)?;
                    std::str::from_utf8(key.get(12..end)?)
                        .ok()
                        .map(str::to_owned)
                });
            issue.rank = tack_protocol::rank::after(last.as_deref());
        }
        if project.next_issue_number <= issue.number {
            project.next_issue_number = issue.number + 1;
            self.put(T::Projects, &keys::id(project.id), &project)?;
        }
        match &existing {
            Some(current) => {
                let next = self.replace_issue(current, issue)?;
                issue = next;
            }
            None => {
                issue.version = 1;
                self.put(T::Issues, &keys::id(issue.id), &issue)?;
                self.index_issue(&issue)?;
            }
        }
        self.put_raw(
            T::Imports,
            &import_key(project.id, source),
            &keys::id(issue.id),
        )?;
        // The comments are the source's: the old ones make way.
        for id in self.comment_ids(issue.id)? {
            self.del(T::Comments, &keys::id(id))?;
            self.del(T::CommentsByIssue, &keys::pair(issue.id, id))?;
        }
        for comment in comments {
            let mut comment = comment.clone();
            comment.id = c.next_comment;
            c.next_comment += 1;
            comment.issue = issue.id;
            comment.project = project.id;
            self.put(T::Comments, &keys::id(comment.id), &comment)?;
            self.put_raw(T::CommentsByIssue, &keys::pair(issue.id, comment.id), &[])?;
        }
        Ok(vec![self.log(c, write, Entry::issue(kind, issue))?])
    }

    /// Gives `from`'s issues, assignments and comments to `into`, then removes `from`.
    pub(crate) fn merge_user(
        &self,
        c: &mut Counters,
        write: &Write,
        from: UserId,
        into: UserId,
    ) -> Result<Vec<tack_protocol::Event>, WriteError> {
        let gone = self.require_user(from)?;
        self.require_user(into)?;
        let mut events = Vec::new();
        for key in self.keys_with_prefix(T::Issues, &[])? {
            let Some(current) = self.get::<Issue>(T::Issues, &key)? else {
                continue;
            };
            let assigned = current.assignees.contains(&from);
            let created = current.creator == Actor::User(from);
            if !assigned && !created {
                continue;
            }
            let mut next = current.clone();
            next.assignees.retain(|u| *u != from);
            if assigned && !next.assignees.contains(&into) {
                next.assignees.push(into);
            }
            if created {
                next.creator = Actor::User(into);
            }
            let next = self.replace_issue(&current, next)?;
            events.push(self.log(c, write, Entry::issue(ActivityKind::IssueUpdated, next))?);
        }
        for key in self.keys_with_prefix(T::Comments, &[])? {
            if let Some(mut comment) = self.get::<Comment>(T::Comments, &key)?
                && comment.author == Actor::User(from)
            {
                comment.author = Actor::User(into);
                self.put(T::Comments, &key, &comment)?;
            }
        }
        self.del(T::Users, &keys::id(from))?;
        self.del(T::UsersByHandle, gone.handle.as_bytes())?;
        events.push(self.log(
            c,
            write,
            Entry::account(ActivityKind::UserDeleted, format!("@{}", gone.handle)),
        )?);
        Ok(events)
    }
}
