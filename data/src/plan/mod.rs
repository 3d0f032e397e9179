//! What a write means, decided once for every engine: given the engine's transaction
//! ([`WriteTx`]), each [`Op`] checks its rules against what is stored, then stages the records to
//! put and delete, its activity entries, the notifications and watchers it causes and the jobs
//! it queues, and returns the events it becomes. A refused write returns an error; the engine
//! drops what it staged.

mod accounts;
mod issues;
mod jobs;
mod tx;

use tack_protocol::{
    Activity, ActivityKind, CommentId, Event, EventRecord, Issue, IssueId, Notification, Project,
    ProjectId,
};

pub use tx::{Counter, Record, RecordKey, Scan, Unique, WriteTx};

use crate::{Op, Write, WriteError};

/// Applies `write` inside `tx`; returns its events in sequence order.
pub fn apply(tx: &mut dyn WriteTx, write: &Write) -> Result<Vec<Event>, WriteError> {
    let events = match &write.op {
        Op::CreateUser {
            user,
            key,
            token,
            invite,
        } => accounts::create_user(tx, write, user, key.as_ref(), token.as_ref(), invite)?,
        Op::UpdateUser(user) => accounts::update_user(tx, write, user)?,
        Op::AddKey(key) => accounts::add_key(tx, write, key)?,
        Op::AddPendingKey(pending) => accounts::add_pending_key(tx, write, pending)?,
        Op::ConfirmKey { fingerprint, owner } => {
            accounts::confirm_key(tx, write, fingerprint, *owner)?
        }
        Op::RemoveKey { fingerprint } => accounts::remove_key(tx, write, fingerprint)?,
        Op::TouchKey { fingerprint } => accounts::touch_key(tx, write, fingerprint)?,
        Op::PutToken { token, kind } => {
            tx.put(Record::Token(token.clone()))?;
            vec![log(
                tx,
                write,
                Entry::account(*kind, token.token.name.clone()),
            )?]
        }
        Op::PutInvite { invite, kind } => {
            tx.put(Record::Invite(invite.clone()))?;
            vec![log(
                tx,
                write,
                Entry::account(*kind, invite.invite.id.clone()),
            )?]
        }
        Op::PutTotp { record, logged } => accounts::put_personal(
            tx,
            write,
            record.user,
            Record::Totp(record.clone()),
            *logged,
        )?,
        Op::PutUserSettings {
            user,
            settings,
            logged,
        } => {
            let record = Record::Settings {
                user: *user,
                settings: settings.clone(),
            };
            accounts::put_personal(tx, write, *user, record, *logged)?
        }
        Op::DeleteUser {
            id,
            reassign_to,
            tokens,
        } => accounts::delete_user(tx, write, *id, *reassign_to, tokens)?,
        Op::MergeUser { from, into } => accounts::merge_user(tx, write, *from, *into)?,
        Op::CreateProject(project) => issues::create_project(tx, write, project)?,
        Op::UpdateProject { project, kind } => {
            let project = issues::put_project(tx, project)?;
            vec![log(tx, write, Entry::project(*kind, project))?]
        }
        Op::CreateIssue(issue) => issues::create_issue(tx, write, issue)?,
        Op::UpdateIssue {
            issue,
            expected_version,
        } => issues::update_issue(tx, write, issue, *expected_version)?,
        Op::UpdateProjectAndIssues { project, issues } => {
            issues::move_issues(tx, write, project, issues)?
        }
        Op::DeleteIssue { id } => issues::delete_issue(tx, write, *id)?,
        Op::PutComment(comment) => issues::put_comment(tx, write, comment)?,
        Op::DeleteComment { id } => issues::delete_comment(tx, write, *id)?,
        Op::ImportIssue {
            issue,
            comments,
            source,
        } => issues::import_issue(tx, write, issue, comments, source)?,
        Op::MarkRead { user, ids } => {
            issues::mark_read(tx, *user, ids)?;
            Vec::new()
        }
        Op::Watch { issue, user, watch } => {
            let watcher = Record::Watcher {
                issue: *issue,
                user: *user,
            };
            if *watch {
                tx.put(watcher)?;
            } else {
                tx.delete(&watcher.key())?;
            }
            Vec::new()
        }
        Op::PutView(view) => {
            let mut view = view.clone();
            if view.id == 0 {
                view.id = tx.next_id(Counter::View);
                tx.insert(Record::View(view))?;
            } else {
                tx.put(Record::View(view))?;
            }
            Vec::new()
        }
        Op::DeleteView { id } => {
            tx.delete(&RecordKey::View(*id))?;
            Vec::new()
        }
        Op::EnqueueJob { kind, key, run_at } => {
            jobs::enqueue_once(tx, kind.clone(), key, write.at, *run_at)?;
            Vec::new()
        }
        Op::FinishJob {
            id,
            outcome,
            delivery,
        } => {
            jobs::finish_job(tx, *id, outcome, delivery.as_ref())?;
            Vec::new()
        }
        Op::RetryJob { id } => {
            let job = jobs::retry_job(tx, *id, write.at)?;
            vec![log(tx, write, Entry::job(job.id))?]
        }
        Op::DropJob { id } => {
            let job = tx.require_job(*id)?;
            tx.delete(&RecordKey::Job(job.id))?;
            vec![log(tx, write, Entry::job(job.id))?]
        }
        Op::PutWebhook(hook) => {
            let project = tx.require_project(hook.hook.project)?;
            let id = jobs::put_webhook(tx, hook)?;
            vec![log(tx, write, Entry::webhook(&project, id))?]
        }
        Op::DeleteWebhook { project, id } => {
            let project = tx.require_project(*project)?;
            jobs::delete_webhook(tx, project.id, *id)?;
            vec![log(tx, write, Entry::webhook(&project, *id))?]
        }
        Op::Remind { issue, due } => jobs::remind(tx, write, *issue, due)?,
    };
    follow(tx, write, &events)?;
    jobs::enqueue_followups(tx, write, &events)?;
    Ok(events)
}

/// Where an activity entry belongs, what it is about, and the record its event carries.
struct Entry {
    kind: ActivityKind,
    project: Option<ProjectId>,
    issue: Option<IssueId>,
    comment: Option<CommentId>,
    subject: String,
    record: EventRecord,
}

impl Entry {
    /// Accounts, keys, tokens, invites and jobs: no project, no record.
    fn account(kind: ActivityKind, subject: String) -> Entry {
        Entry {
            kind,
            project: None,
            issue: None,
            comment: None,
            subject,
            record: EventRecord::None,
        }
    }

    fn job(id: u64) -> Entry {
        Entry::account(ActivityKind::JobChanged, format!("job #{id}"))
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

    fn issue(kind: ActivityKind, issue: Issue) -> Entry {
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

/// Appends an activity entry and returns the event it becomes.
fn log(tx: &mut dyn WriteTx, write: &Write, entry: Entry) -> Result<Event, WriteError> {
    let seq = tx.next_id(Counter::Seq);
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
    tx.insert(Record::Activity(activity.clone()))?;
    Ok(Event {
        seq,
        activity,
        record: entry.record,
    })
}

/// Stages the inbox side effects of a change to an issue: new watchers, and one notification
/// per person told (its id is the change's sequence number).
fn follow(tx: &mut dyn WriteTx, write: &Write, events: &[Event]) -> Result<(), WriteError> {
    let Some(last) = events.last() else {
        return Ok(());
    };
    let Some(issue) = last.activity.issue else {
        return Ok(());
    };
    for user in &write.follow.watchers {
        tx.put(Record::Watcher { issue, user: *user })?;
    }
    for (user, kind) in &write.follow.notify {
        tx.insert(Record::Notification(Notification {
            id: last.seq,
            user: *user,
            issue,
            issue_key: last.activity.subject.clone(),
            kind: *kind,
            actor: write.actor,
            at: write.at,
            read: false,
        }))?;
    }
    Ok(())
}
