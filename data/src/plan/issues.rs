//! Projects, issues and comments: numbering, versions, board order, imports that update rather
//! than duplicate, and the inbox.

use tack_protocol::{
    ActivityKind, Comment, CommentId, Event, EventRecord, Issue, IssueId, Project, UserId,
};

use super::{Counter, Entry, Record, RecordKey, Scan, Unique, WriteTx, log};
use crate::{Write, WriteError};

/// Stores a changed project; the issue counter belongs to the store, so a stale copy never
/// rewinds it.
pub(super) fn put_project(tx: &mut dyn WriteTx, project: &Project) -> Result<Project, WriteError> {
    let stored = tx.require_project(project.id)?;
    let mut project = project.clone();
    project.next_issue_number = stored.next_issue_number;
    tx.put(Record::Project(project.clone()))?;
    Ok(project)
}

/// Stores `next` in place of `current`, one version later.
pub(super) fn replace_issue(
    tx: &mut dyn WriteTx,
    current: &Issue,
    mut next: Issue,
) -> Result<Issue, WriteError> {
    next.version = current.version + 1;
    tx.put(Record::Issue(next.clone()))?;
    Ok(next)
}

/// Stores `next` in place of `current`, and logs it as an update.
pub(super) fn update_logged(
    tx: &mut dyn WriteTx,
    write: &Write,
    current: &Issue,
    next: Issue,
) -> Result<Event, WriteError> {
    let issue = replace_issue(tx, current, next)?;
    log(tx, write, Entry::issue(ActivityKind::IssueUpdated, issue))
}

/// The rank after the last card of a board column.
fn append_rank(tx: &dyn WriteTx, project: u64, state: u32) -> Result<String, WriteError> {
    let last = tx.last_rank(project, state)?;
    Ok(tack_protocol::rank::after(last.as_deref()))
}

pub(super) fn create_project(
    tx: &mut dyn WriteTx,
    write: &Write,
    project: &Project,
) -> Result<Vec<Event>, WriteError> {
    if tx.find(Unique::ProjectKey(&project.key))?.is_some() {
        return Err(WriteError::Taken {
            field: "key",
            value: project.key.clone(),
        });
    }
    let mut project = project.clone();
    project.id = tx.next_id(Counter::Project);
    tx.insert(Record::Project(project.clone()))?;
    Ok(vec![log(
        tx,
        write,
        Entry::project(ActivityKind::ProjectCreated, project),
    )?])
}

pub(super) fn create_issue(
    tx: &mut dyn WriteTx,
    write: &Write,
    issue: &Issue,
) -> Result<Vec<Event>, WriteError> {
    let mut project = tx.require_project(issue.project)?;
    let mut issue = issue.clone();
    if issue.rank.is_empty() {
        issue.rank = append_rank(tx, issue.project, issue.state)?;
    }
    issue.id = tx.next_id(Counter::Issue);
    issue.number = project.next_issue_number;
    issue.key = format!("{}-{}", project.key, issue.number);
    issue.version = 1;
    project.next_issue_number += 1;
    tx.put(Record::Project(project))?;
    tx.insert(Record::Issue(issue.clone()))?;
    Ok(vec![log(
        tx,
        write,
        Entry::issue(ActivityKind::IssueCreated, issue),
    )?])
}

/// Applied only if the stored issue is still at `expected_version`.
pub(super) fn update_issue(
    tx: &mut dyn WriteTx,
    write: &Write,
    issue: &Issue,
    expected_version: u64,
) -> Result<Vec<Event>, WriteError> {
    let current = tx.require_issue(issue.id)?;
    if current.version != expected_version {
        return Err(WriteError::Conflict {
            current: Box::new(current),
        });
    }
    let mut next = issue.clone();
    if next.rank.is_empty() {
        next.rank = append_rank(tx, current.project, next.state)?;
    }
    // Where an issue lives and what it is called never change.
    next.project = current.project;
    next.number = current.number;
    next.key = current.key.clone();
    Ok(vec![update_logged(tx, write, &current, next)?])
}

/// Rewrites a project and moves many of its issues at once (removing a workflow state): only
/// their column changes, other fields keep whatever is stored now.
pub(super) fn move_issues(
    tx: &mut dyn WriteTx,
    write: &Write,
    project: &Project,
    moved: &[Issue],
) -> Result<Vec<Event>, WriteError> {
    let project = put_project(tx, project)?;
    let mut events = Vec::with_capacity(moved.len() + 1);
    for issue in moved {
        let current = tx.require_issue(issue.id)?;
        let mut next = current.clone();
        next.state = issue.state;
        next.rank = issue.rank.clone();
        next.updated_at = issue.updated_at;
        next.closed_at = issue.closed_at;
        events.push(update_logged(tx, write, &current, next)?);
    }
    events.push(log(
        tx,
        write,
        Entry::project(ActivityKind::StatesChanged, project),
    )?);
    Ok(events)
}

fn delete_comments_of(tx: &mut dyn WriteTx, issue: IssueId) -> Result<(), WriteError> {
    for comment in tx.scan(Scan::CommentsOf(issue))? {
        tx.delete(&comment)?;
    }
    Ok(())
}

pub(super) fn delete_issue(
    tx: &mut dyn WriteTx,
    write: &Write,
    id: IssueId,
) -> Result<Vec<Event>, WriteError> {
    let current = tx.require_issue(id)?;
    delete_comments_of(tx, id)?;
    tx.delete(&RecordKey::Issue(id))?;
    let key = current.key.clone();
    let mut entry = Entry::issue(ActivityKind::IssueDeleted, current);
    entry.record = EventRecord::IssueDeleted { id, key };
    Ok(vec![log(tx, write, entry)?])
}

/// A comment with id 0 is new.
pub(super) fn put_comment(
    tx: &mut dyn WriteTx,
    write: &Write,
    comment: &Comment,
) -> Result<Vec<Event>, WriteError> {
    let issue = tx.require_issue(comment.issue)?;
    let mut comment = comment.clone();
    comment.project = issue.project;
    let kind = if comment.id == 0 {
        comment.id = tx.next_id(Counter::Comment);
        tx.insert(Record::Comment(comment.clone()))?;
        ActivityKind::CommentAdded
    } else {
        if tx.comment(comment.id)?.is_none() {
            return Err(WriteError::Missing(format!("comment #{}", comment.id)));
        }
        tx.put(Record::Comment(comment.clone()))?;
        ActivityKind::CommentEdited
    };
    let id = comment.id;
    Ok(vec![log(
        tx,
        write,
        Entry::comment(kind, &issue, id, EventRecord::Comment(comment)),
    )?])
}

pub(super) fn delete_comment(
    tx: &mut dyn WriteTx,
    write: &Write,
    id: CommentId,
) -> Result<Vec<Event>, WriteError> {
    let comment = tx
        .comment(id)?
        .ok_or_else(|| WriteError::Missing(format!("comment #{id}")))?;
    let issue = tx.require_issue(comment.issue)?;
    tx.delete(&RecordKey::Comment(id))?;
    let record = EventRecord::CommentDeleted {
        id,
        issue: issue.id,
    };
    Ok(vec![log(
        tx,
        write,
        Entry::comment(ActivityKind::CommentDeleted, &issue, id, record),
    )?])
}

/// The issue an earlier import of `source` made, or (for a tack export, `tack:N`) the issue
/// numbered N.
fn imported(tx: &dyn WriteTx, project: u64, source: &str) -> Result<Option<Issue>, WriteError> {
    let id = match tx.imported(project, source)? {
        Some(id) => Some(id),
        None => match source
            .strip_prefix("tack:")
            .and_then(|n| n.parse::<u64>().ok())
        {
            Some(number) => tx.find(Unique::IssueNumber { project, number })?,
            None => None,
        },
    };
    match id {
        Some(id) => tx.issue(id),
        None => Ok(None),
    }
}

/// An issue with its comments written as the source has it — its number and dates kept —
/// matched to an earlier import of the same source, so re-running updates rather than
/// duplicates.
pub(super) fn import_issue(
    tx: &mut dyn WriteTx,
    write: &Write,
    issue: &Issue,
    comments: &[Comment],
    source: &str,
) -> Result<Vec<Event>, WriteError> {
    let mut project = tx.require_project(issue.project)?;
    let mut issue = issue.clone();
    let existing = imported(tx, project.id, source)?;
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
            issue.id = tx.next_id(Counter::Issue);
            let wanted = issue.number;
            let free = wanted > 0
                && tx
                    .find(Unique::IssueNumber {
                        project: project.id,
                        number: wanted,
                    })?
                    .is_none();
            if !free {
                issue.number = project.next_issue_number;
            }
            ActivityKind::IssueCreated
        }
    };
    issue.key = format!("{}-{}", project.key, issue.number);
    if issue.rank.is_empty() {
        issue.rank = append_rank(tx, project.id, issue.state)?;
    }
    if project.next_issue_number <= issue.number {
        project.next_issue_number = issue.number + 1;
        tx.put(Record::Project(project.clone()))?;
    }
    let issue = match &existing {
        Some(current) => replace_issue(tx, current, issue)?,
        None => {
            issue.version = 1;
            tx.insert(Record::Issue(issue.clone()))?;
            issue
        }
    };
    tx.put(Record::Import {
        project: project.id,
        source: source.to_owned(),
        issue: issue.id,
    })?;
    // The comments are the source's: the old ones make way.
    delete_comments_of(tx, issue.id)?;
    for comment in comments {
        let mut comment = comment.clone();
        comment.id = tx.next_id(Counter::Comment);
        comment.issue = issue.id;
        comment.project = project.id;
        tx.insert(Record::Comment(comment))?;
    }
    Ok(vec![log(tx, write, Entry::issue(kind, issue))?])
}

/// Marks a user's notifications read (all of them when `ids` is empty).
pub(super) fn mark_read(tx: &mut dyn WriteTx, user: UserId, ids: &[u64]) -> Result<(), WriteError> {
    for key in tx.scan(Scan::NotificationsOf(user))? {
        let RecordKey::Notification { id, .. } = key else {
            continue;
        };
        if !ids.is_empty() && !ids.contains(&id) {
            continue;
        }
        if let Some(mut notification) = tx.notification(user, id)?
            && !notification.read
        {
            notification.read = true;
            tx.put(Record::Notification(notification))?;
        }
    }
    Ok(())
}
