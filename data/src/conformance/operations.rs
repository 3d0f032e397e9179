//! Cases on what changes cause and the store's queues: watchers, notifications and instant
//! email, webhook deliveries and their log, the job queue, reminders, saved views, imports and
//! moving issues between states.

use std::path::Path;

use tack_protocol::{
    Comment, Delivery, EmailMode, Event, EventRecord, JobKind, JobState, Layout, NotificationKind,
    SavedView, UserSettings, Webhook,
};

use super::accounts::create_user;
use super::*;
use crate::{JobOutcome, Op, StoredWebhook};

pub async fn jobs_are_queued_once_per_key_and_finish(engine: &dyn Engine, dir: &Path) {
    let store = engine.open(dir).await.unwrap();
    let store = store.as_ref();
    let enqueue = |key: &str, run_at| Op::EnqueueJob {
        kind: JobKind::Expire,
        key: key.into(),
        run_at,
    };
    commit(store, enqueue("expire-1", AT)).await;
    let twice = store.submit(write(enqueue("expire-1", AT))).wait().await;
    assert!(
        twice.is_ok(),
        "queueing a key again is not an error: {twice:?}"
    );
    commit(store, enqueue("expire-2", AT + 60_000)).await;
    assert_eq!(store.jobs(None).await.unwrap().len(), 2, "once per key");
    let due = store.due_jobs(AT + 1, 10).await.unwrap();
    assert_eq!(due.len(), 1, "only the one whose time has come");
    assert_eq!(store.next_job_at().await.unwrap(), Some(AT));
    commit(
        store,
        Op::FinishJob {
            id: due[0].id,
            outcome: JobOutcome::Done,
            delivery: None,
        },
    )
    .await;
    assert!(store.job(due[0].id).await.unwrap().is_none());
    assert_eq!(store.next_job_at().await.unwrap(), Some(AT + 60_000));
}

pub async fn a_change_tells_watchers_and_queues_instant_email(engine: &dyn Engine, dir: &Path) {
    let store = engine.open(dir).await.unwrap();
    let store = store.as_ref();
    let bob = create_user(store, "bob", None).await;
    let carol = create_user(store, "carol", None).await;
    commit(
        store,
        Op::PutUserSettings {
            user: bob,
            settings: UserSettings {
                email_notifications: EmailMode::Instant,
                digest_watermark: 0,
            },
            logged: false,
        },
    )
    .await;
    let p = create_project(store, "TACK").await;
    let mut create = write(Op::CreateIssue(new_issue(p.id, "for bob", 2)));
    create.follow.watchers = vec![bob, carol];
    create.follow.notify = vec![
        (bob, NotificationKind::Assigned),
        (carol, NotificationKind::Mentioned),
    ];
    let events = store.submit(create).wait().await.unwrap();
    let issue = match &events[0].record {
        EventRecord::Issue(issue) => issue.clone(),
        other => panic!("creating an issue announced {other:?}"),
    };
    assert_eq!(store.watchers(issue.id).await.unwrap(), [bob, carol]);
    let inbox = store.notifications(bob, true, 10).await.unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(
        inbox[0].id, events[0].seq,
        "a notification is named by its change"
    );
    assert_eq!(inbox[0].issue_key, issue.key);
    let mail: Vec<_> = store
        .jobs(None)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|job| match job.kind {
            JobKind::Email { user, notification } => Some((user, notification)),
            _ => None,
        })
        .collect();
    assert_eq!(mail, [(bob, events[0].seq)], "only bob wants mail at once");
    commit(
        store,
        Op::MarkRead {
            user: bob,
            ids: Vec::new(),
        },
    )
    .await;
    assert!(store.notifications(bob, true, 10).await.unwrap().is_empty());
    assert_eq!(store.notifications(bob, false, 10).await.unwrap().len(), 1);
    assert_eq!(store.notifications(carol, true, 10).await.unwrap().len(), 1);
    commit(
        store,
        Op::Watch {
            issue: issue.id,
            user: carol,
            watch: false,
        },
    )
    .await;
    assert_eq!(store.watchers(issue.id).await.unwrap(), [bob]);
}

fn delivery(hook: u64, job: u64, attempt: u32) -> Delivery {
    Delivery {
        id: 0,
        hook,
        job,
        event: "issue.created".into(),
        seq: 1,
        attempt,
        at: AT,
        status: Some(500),
        error: None,
        duration_ms: 3,
    }
}

pub async fn webhooks_get_a_job_per_wanted_event_and_keep_a_bounded_log(
    engine: &dyn Engine,
    dir: &Path,
) {
    let store = engine.open(dir).await.unwrap();
    let store = store.as_ref();
    let p = create_project(store, "TACK").await;
    let hook = StoredWebhook {
        hook: Webhook {
            id: 0,
            project: p.id,
            project_key: p.key.clone(),
            url: "https://hooks.example.com/tack".into(),
            events: vec!["issue.created".into()],
            query: String::new(),
            created_at: AT,
        },
        secret: "s3cret".into(),
    };
    commit(store, Op::PutWebhook(hook)).await;
    let hooks = store.webhooks_of(p.id).await.unwrap();
    assert_eq!(hooks.len(), 1);
    let id = hooks[0].hook.id;
    assert_eq!(store.webhook(id).await.unwrap().unwrap().secret, "s3cret");
    let issue = create_issue(store, new_issue(p.id, "announced", 2)).await;
    let mut renamed = issue.clone();
    renamed.title = "not announced".into();
    update_issue(store, renamed).await.unwrap();
    let deliveries: Vec<(u64, Event)> = store
        .jobs(None)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|job| match job.kind {
            JobKind::Webhook { hook, event } => Some((hook, *event)),
            _ => None,
        })
        .collect();
    assert_eq!(deliveries.len(), 1, "the hook wants creations only");
    assert_eq!(deliveries[0].0, id);
    assert_eq!(deliveries[0].1.record, EventRecord::Issue(issue));
    let job = store
        .jobs(None)
        .await
        .unwrap()
        .into_iter()
        .find(|job| matches!(job.kind, JobKind::Webhook { .. }))
        .unwrap();

    // Every attempt is logged, newest first, and the log keeps the last 200.
    for attempt in 1..=205 {
        let outcome = JobOutcome::Retry {
            run_at: AT + i64::from(attempt),
            error: format!("attempt {attempt} failed"),
        };
        commit(
            store,
            Op::FinishJob {
                id: job.id,
                outcome,
                delivery: Some(delivery(id, job.id, attempt)),
            },
        )
        .await;
    }
    let log = store.deliveries(id, 1_000).await.unwrap();
    assert_eq!(log.len(), 200);
    assert_eq!(log[0].attempt, 205);
    assert_eq!(log[199].attempt, 6);
    let retried = store.job(job.id).await.unwrap().unwrap();
    assert_eq!(retried.attempts, 205);
    assert_eq!(retried.last_error.as_deref(), Some("attempt 205 failed"));
    commit(store, Op::DeleteWebhook { project: p.id, id }).await;
    assert!(store.webhooks_of(p.id).await.unwrap().is_empty());
    assert!(store.webhook(id).await.unwrap().is_none());
    assert!(store.deliveries(id, 10).await.unwrap().is_empty());
}

pub async fn failed_jobs_are_retried_postponed_and_dropped(engine: &dyn Engine, dir: &Path) {
    let store = engine.open(dir).await.unwrap();
    let store = store.as_ref();
    commit(
        store,
        Op::EnqueueJob {
            kind: JobKind::Backup,
            key: "backup-1".into(),
            run_at: AT,
        },
    )
    .await;
    let job = store.due_jobs(AT, 10).await.unwrap().remove(0);
    let finish = |outcome| Op::FinishJob {
        id: job.id,
        outcome,
        delivery: None,
    };
    commit(
        store,
        finish(JobOutcome::Failed {
            error: "disk full".into(),
        }),
    )
    .await;
    let failed = store.jobs(Some(JobState::Failed)).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].attempts, 1);
    assert!(
        store.due_jobs(AT + 1_000, 10).await.unwrap().is_empty(),
        "a failed job waits"
    );
    assert_eq!(store.next_job_at().await.unwrap(), None);
    let retry = store
        .submit(write(Op::RetryJob { id: job.id }))
        .wait()
        .await
        .unwrap();
    assert_eq!(retry.len(), 1, "a retry is logged");
    let queued = store.job(job.id).await.unwrap().unwrap();
    assert_eq!((queued.state, queued.attempts), (JobState::Queued, 0));
    commit(store, finish(JobOutcome::Postpone { run_at: AT + 5_000 })).await;
    assert!(store.due_jobs(AT + 4_999, 10).await.unwrap().is_empty());
    assert_eq!(store.due_jobs(AT + 5_000, 10).await.unwrap().len(), 1);
    commit(store, Op::DropJob { id: job.id }).await;
    assert!(store.job(job.id).await.unwrap().is_none());
    assert!(store.jobs(None).await.unwrap().is_empty());
    // An outcome for a job dropped while it ran has nowhere to go, and is not an error.
    commit(store, finish(JobOutcome::Done)).await;
    let missing = store.submit(write(Op::DropJob { id: job.id })).wait().await;
    assert!(missing.is_err(), "dropping a dropped job: {missing:?}");
}

pub async fn reminders_views_imports_and_state_moves(engine: &dyn Engine, dir: &Path) {
    let store = engine.open(dir).await.unwrap();
    let store = store.as_ref();
    let p = create_project(store, "TACK").await;
    let issue = create_issue(store, new_issue(p.id, "due", 2)).await;
    let remind = || Op::Remind {
        issue: issue.id,
        due: "2026-12-24".into(),
    };
    assert_eq!(commit(store, remind()).await.len(), 1);
    assert!(
        commit(store, remind()).await.is_empty(),
        "once per due date"
    );

    let view = SavedView {
        id: 0,
        name: "mine".into(),
        owner: 1,
        project: Some(p.id),
        project_key: Some(p.key.clone()),
        shared: false,
        query: "assignee:me".into(),
        layout: Layout::Board,
        created_at: AT,
    };
    commit(store, Op::PutView(view)).await;
    let views = store.views().await.unwrap();
    assert_eq!(views.len(), 1);
    assert_ne!(views[0].id, 0, "a new view gets an id");
    commit(store, Op::DeleteView { id: views[0].id }).await;
    assert!(store.views().await.unwrap().is_empty());

    // An import keeps the source's number, and a second import of the same source updates it.
    let comment = |body: &str| Comment {
        id: 0,
        issue: 0,
        project: 0,
        author: tack_protocol::Actor::Console,
        body: body.into(),
        created_at: AT,
        edited_at: None,
    };
    let mut imported = new_issue(p.id, "from elsewhere", 2);
    imported.number = 7;
    let import = |issue: tack_protocol::Issue, comments| Op::ImportIssue {
        issue,
        comments,
        source: "github:42".into(),
    };
    commit(
        store,
        import(imported.clone(), vec![comment("one"), comment("two")]),
    )
    .await;
    let first = store.issue_by_number(p.id, 7).await.unwrap().unwrap();
    assert_eq!(first.key, "TACK-7");
    assert_eq!(store.comments_of(first.id).await.unwrap().len(), 2);
    imported.title = "from elsewhere, renamed".into();
    commit(store, import(imported, vec![comment("only")])).await;
    let again = store.issue_by_number(p.id, 7).await.unwrap().unwrap();
    assert_eq!(again.id, first.id, "updated, not duplicated");
    assert_eq!(again.title, "from elsewhere, renamed");
    let bodies: Vec<String> = store
        .comments_of(first.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.body)
        .collect();
    assert_eq!(bodies, ["only"]);
    let next = create_issue(store, new_issue(p.id, "after the import", 2)).await;
    assert_eq!(next.key, "TACK-8", "numbering continues after the highest");

    // Removing a state moves its issues in one write.
    let mut project = store.project(p.id).await.unwrap().unwrap();
    project.states.retain(|s| s.id != 2);
    let moved: Vec<_> = store
        .issues_in_state(p.id, 2)
        .await
        .unwrap()
        .into_iter()
        .map(|mut issue| {
            issue.state = 1;
            issue.rank = format!("m{}", issue.number);
            issue
        })
        .collect();
    let count = moved.len();
    let events = commit(
        store,
        Op::UpdateProjectAndIssues {
            project,
            issues: moved,
        },
    )
    .await;
    assert_eq!(
        events.len(),
        count + 1,
        "one entry per issue, one for the states"
    );
    assert!(store.issues_in_state(p.id, 2).await.unwrap().is_empty());
    assert_eq!(store.issues_in_state(p.id, 1).await.unwrap().len(), count);
    let stored = store.project(p.id).await.unwrap().unwrap();
    assert_eq!(stored.states.len(), 2);
    assert_eq!(
        stored.next_issue_number, 9,
        "a stale project copy never rewinds numbering"
    );
}
