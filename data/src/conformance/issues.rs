//! Cases on issues, comments, the activity log, durability and backups.

use std::collections::BTreeSet;
use std::path::Path;

use tack_protocol::{Actor, Comment, EventRecord, UserId};

use super::*;
use crate::{Op, WriteError};

pub async fn writes_keep_records_and_index_queries_in_step(engine: &dyn Engine, dir: &Path) {
    let store = engine.open(dir).await.unwrap();
    let store = store.as_ref();
    let p = create_project(store, "TACK").await;
    let mut made = Vec::new();
    for (n, title) in ["one", "two", "three"].iter().enumerate() {
        let mut issue = new_issue(p.id, title, 2);
        issue.assignees = vec![7 + n as UserId % 2];
        issue.labels = vec![if n == 0 { "ui" } else { "api" }.into()];
        made.push(create_issue(store, issue).await);
    }
    let keys: Vec<&str> = made.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["TACK-1", "TACK-2", "TACK-3"]);
    let column = store.issues_in_state(p.id, 2).await.unwrap();
    assert_eq!(ids(&column), ids(&made), "a column is in rank order");
    assert!(column.windows(2).all(|w| w[0].rank < w[1].rank));
    let second = store.issue_by_number(p.id, 2).await.unwrap().unwrap();
    assert_eq!(second, made[1]);
    assert_eq!(store.issue(made[0].id).await.unwrap().unwrap(), made[0]);
    assert_eq!(
        ids(&store.issues_assigned_to(7).await.unwrap()),
        [made[0].id, made[2].id]
    );
    assert_eq!(
        ids(&store.issues_labelled(p.id, "api").await.unwrap()),
        [made[1].id, made[2].id]
    );

    // An update moves the issue's index rows with it.
    let mut moved = made[0].clone();
    moved.state = 3;
    moved.assignees = vec![9];
    moved.labels = vec!["api".into()];
    moved.rank = String::new();
    let moved = update_issue(store, moved).await.unwrap();
    assert_eq!(moved.version, made[0].version + 1);
    assert_eq!(
        ids(&store.issues_in_state(p.id, 3).await.unwrap()),
        [moved.id]
    );
    assert_eq!(
        ids(&store.issues_in_state(p.id, 2).await.unwrap()),
        [made[1].id, made[2].id]
    );
    assert_eq!(
        ids(&store.issues_assigned_to(7).await.unwrap()),
        [made[2].id]
    );
    assert_eq!(ids(&store.issues_assigned_to(9).await.unwrap()), [moved.id]);
    assert!(store.issues_labelled(p.id, "ui").await.unwrap().is_empty());
    assert_eq!(store.issues_labelled(p.id, "api").await.unwrap().len(), 3);

    // A delete takes it out of every query.
    commit(store, Op::DeleteIssue { id: made[1].id }).await;
    assert!(store.issue(made[1].id).await.unwrap().is_none());
    assert!(store.issue_by_number(p.id, 2).await.unwrap().is_none());
    assert_eq!(
        ids(&store.issues_of_project(p.id).await.unwrap()),
        [made[2].id, moved.id],
        "grouped by state id, then rank"
    );
    assert_eq!(store.issues_labelled(p.id, "api").await.unwrap().len(), 2);
    let asked = [made[2].id, made[1].id, moved.id];
    assert_eq!(
        ids(&store.issues_by_id(&asked).await.unwrap()),
        [made[2].id, moved.id],
        "the ones that exist, in the order asked"
    );
    assert!(store.verify().await.unwrap().is_clean());
}

pub async fn a_stale_version_is_a_conflict_with_the_current_issue(engine: &dyn Engine, dir: &Path) {
    let store = engine.open(dir).await.unwrap();
    let store = store.as_ref();
    let p = create_project(store, "TACK").await;
    let original = create_issue(store, new_issue(p.id, "first", 2)).await;
    let mut mine = original.clone();
    mine.title = "mine".into();
    let saved = update_issue(store, mine).await.unwrap();
    let mut theirs = original.clone();
    theirs.title = "theirs".into();
    match update_issue(store, theirs).await {
        Err(WriteError::Conflict { current }) => assert_eq!(*current, saved),
        other => panic!("a stale version was answered with {other:?}"),
    }
    let stored = store.issue(original.id).await.unwrap().unwrap();
    assert_eq!(stored.title, "mine", "nothing is overwritten");
}

pub async fn handles_and_project_keys_are_unique(engine: &dyn Engine, dir: &Path) {
    let store = engine.open(dir).await.unwrap();
    let store = store.as_ref();
    let create = |handle: &str| Op::CreateUser {
        user: user(handle),
        key: None,
        token: None,
        invite: None,
    };
    commit(store, create("alice")).await;
    let again = store.submit(write(create("alice"))).wait().await;
    assert!(
        matches!(again, Err(WriteError::Taken { .. })),
        "a second alice: {again:?}"
    );
    let alice = store.user_by_handle("alice").await.unwrap().unwrap();
    assert_eq!(store.user(alice.id).await.unwrap().unwrap(), alice);
    assert_eq!(store.users().await.unwrap(), [alice]);

    create_project(store, "TACK").await;
    let again = store
        .submit(write(Op::CreateProject(project("TACK"))))
        .wait()
        .await;
    assert!(
        matches!(again, Err(WriteError::Taken { .. })),
        "a second TACK: {again:?}"
    );
    assert_eq!(store.projects().await.unwrap().len(), 1);
}

pub async fn comments_are_added_edited_and_deleted_with_their_history(
    engine: &dyn Engine,
    dir: &Path,
) {
    let store = engine.open(dir).await.unwrap();
    let store = store.as_ref();
    let p = create_project(store, "TACK").await;
    let issue = create_issue(store, new_issue(p.id, "first", 2)).await;
    let comment = |id, body: &str| Comment {
        id,
        issue: issue.id,
        project: p.id,
        author: Actor::Console,
        body: body.into(),
        created_at: AT,
        edited_at: None,
    };
    commit(store, Op::PutComment(comment(0, "hello"))).await;
    commit(store, Op::PutComment(comment(0, "again"))).await;
    let comments = store.comments_of(issue.id).await.unwrap();
    let bodies: Vec<&str> = comments.iter().map(|c| c.body.as_str()).collect();
    assert_eq!(bodies, ["hello", "again"]);
    let first = comments[0].id;
    commit(store, Op::PutComment(comment(first, "hello, edited"))).await;
    assert_eq!(
        store.comment(first).await.unwrap().unwrap().body,
        "hello, edited"
    );
    commit(store, Op::DeleteComment { id: first }).await;
    assert!(store.comment(first).await.unwrap().is_none());
    assert_eq!(store.comments_of(issue.id).await.unwrap().len(), 1);
    let history = store.activity_of_issue(issue.id).await.unwrap();
    assert!(
        history.len() >= 5,
        "create, two comments, an edit, a delete"
    );
    assert!(history.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(history.iter().all(|a| a.issue == Some(issue.id)));
}

pub async fn activity_is_gap_free_and_events_resume_from_a_sequence(
    engine: &dyn Engine,
    dir: &Path,
) {
    let store = engine.open(dir).await.unwrap();
    let store = store.as_ref();
    let p = create_project(store, "TACK").await;
    for n in 0..10 {
        create_issue(store, new_issue(p.id, &format!("issue {n}"), 2)).await;
    }
    let all = store.activity_after(0, 1000).await.unwrap();
    let seqs: Vec<u64> = all.iter().map(|a| a.seq).collect();
    assert_eq!(
        seqs,
        (1..=11).collect::<Vec<_>>(),
        "one entry per write, no gaps"
    );
    assert_eq!(store.last_seq().await.unwrap(), 11);
    let resumed = store.events_after(6, 3).await.unwrap();
    assert_eq!(resumed.iter().map(|e| e.seq).collect::<Vec<_>>(), [7, 8, 9]);
    match &resumed[0].record {
        EventRecord::Issue(issue) => assert_eq!(issue.key, "TACK-6"),
        other => panic!("event 7 carries {other:?}"),
    }
    assert!(store.events_after(11, 10).await.unwrap().is_empty());
    // Cursors and limits as a hostile or careless client may send them.
    assert!(store.events_after(u64::MAX, 10).await.unwrap().is_empty());
    assert!(
        store
            .activity_after(u64::MAX, usize::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.events_after(0, usize::MAX).await.unwrap().len(), 11);
    assert_eq!(
        store
            .activity_before(Some(u64::MAX), usize::MAX)
            .await
            .unwrap()
            .len(),
        11
    );
    assert!(
        store
            .activity_of_project(p.id, u64::MAX, usize::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.issue(u64::MAX).await.unwrap().is_none());
    let of_project = store.activity_of_project(p.id, 8, 100).await.unwrap();
    assert_eq!(
        of_project.iter().map(|a| a.seq).collect::<Vec<_>>(),
        [9, 10, 11]
    );
    let newest = store.activity_before(None, 2).await.unwrap();
    assert_eq!(newest.iter().map(|a| a.seq).collect::<Vec<_>>(), [11, 10]);
}

pub async fn concurrent_writers_each_land_once_in_order(engine: &dyn Engine, dir: &Path) {
    let store = engine.open(dir).await.unwrap();
    let p = create_project(store.as_ref(), "TACK").await;
    const WRITERS: usize = 64;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .submit(write(Op::CreateIssue(new_issue(p.id, &format!("w{n}"), 2))))
                    .wait()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut seqs = BTreeSet::new();
    for task in tasks {
        for event in task.await.unwrap() {
            assert!(seqs.insert(event.seq), "sequence {} given twice", event.seq);
        }
    }
    assert_eq!(
        seqs.into_iter().collect::<Vec<_>>(),
        (2..=WRITERS as u64 + 1).collect::<Vec<_>>(),
        "every acknowledged write has its own sequence, with no gaps"
    );
    let issues = store.issues_of_project(p.id).await.unwrap();
    let numbers: BTreeSet<u64> = issues.iter().map(|i| i.number).collect();
    assert_eq!(numbers, (1..=WRITERS as u64).collect());
}

pub async fn acknowledged_writes_survive_reopening(engine: &dyn Engine, dir: &Path) {
    let before = {
        let store = engine.open(dir).await.unwrap();
        let p = create_project(store.as_ref(), "TACK").await;
        for n in 0..5 {
            create_issue(store.as_ref(), new_issue(p.id, &format!("kept {n}"), 2)).await;
        }
        let before = store.issues_of_project(p.id).await.unwrap();
        store.shutdown().await;
        before
    };
    let store = engine.open(dir).await.unwrap();
    assert_eq!(store.issues_of_project(1).await.unwrap(), before);
    assert_eq!(store.last_seq().await.unwrap(), 6);
    let next = create_issue(store.as_ref(), new_issue(1, "after", 2)).await;
    assert_eq!(next.key, "TACK-6", "numbers continue after a reopen");
}

pub async fn a_backup_restores_to_an_equal_store(engine: &dyn Engine, dir: &Path) {
    let store = engine.open(&dir.join("original")).await.unwrap();
    let s = store.as_ref();
    commit(
        s,
        Op::CreateUser {
            user: user("alice"),
            key: None,
            token: None,
            invite: None,
        },
    )
    .await;
    let p = create_project(s, "TACK").await;
    for n in 0..12 {
        let mut issue = new_issue(p.id, &format!("backed up {n}"), 1 + n % 3);
        issue.labels = vec![format!("l{}", n % 4)];
        issue.assignees = vec![1];
        let issue = create_issue(s, issue).await;
        commit(
            s,
            Op::PutComment(Comment {
                id: 0,
                issue: issue.id,
                project: p.id,
                author: Actor::User(1),
                body: format!("note {n}"),
                created_at: AT,
                edited_at: None,
            }),
        )
        .await;
    }
    let file = dir.join("tack.backup");
    let info = s.backup(&file).wait().await.unwrap();
    assert!(info.records > 24, "{} records", info.records);
    let restored_dir = dir.join("restored");
    engine.restore(&file, &restored_dir).await.unwrap();
    let restored = engine.open(&restored_dir).await.unwrap();
    let r = restored.as_ref();
    assert_eq!(r.users().await.unwrap(), s.users().await.unwrap());
    assert_eq!(r.projects().await.unwrap(), s.projects().await.unwrap());
    assert_eq!(
        r.issues_of_project(p.id).await.unwrap(),
        s.issues_of_project(p.id).await.unwrap()
    );
    for issue in s.issues_of_project(p.id).await.unwrap() {
        assert_eq!(
            r.comments_of(issue.id).await.unwrap(),
            s.comments_of(issue.id).await.unwrap()
        );
    }
    assert_eq!(
        r.issues_labelled(p.id, "l1").await.unwrap(),
        s.issues_labelled(p.id, "l1").await.unwrap()
    );
    assert_eq!(
        r.activity_after(0, 10_000).await.unwrap(),
        s.activity_after(0, 10_000).await.unwrap()
    );
    assert_eq!(r.last_seq().await.unwrap(), s.last_seq().await.unwrap());
    // The indexes answer as before.
    assert_eq!(
        r.user_by_handle("alice").await.unwrap(),
        s.user_by_handle("alice").await.unwrap()
    );
    assert_eq!(r.project_by_key("TACK").await.unwrap().unwrap().id, p.id);
    assert_eq!(
        r.issue_by_number(p.id, 7).await.unwrap(),
        s.issue_by_number(p.id, 7).await.unwrap()
    );
    assert_eq!(
        r.issues_in_state(p.id, 2).await.unwrap(),
        s.issues_in_state(p.id, 2).await.unwrap()
    );
    assert_eq!(r.issues_assigned_to(1).await.unwrap().len(), 12);
    let first = s.issue_by_number(p.id, 1).await.unwrap().unwrap();
    assert_eq!(
        r.activity_of_issue(first.id).await.unwrap(),
        s.activity_of_issue(first.id).await.unwrap()
    );
    assert_eq!(
        r.activity_of_project(p.id, 0, 1000).await.unwrap(),
        s.activity_of_project(p.id, 0, 1000).await.unwrap()
    );
    assert!(r.verify().await.unwrap().is_clean());
    // And it goes on where the original left off.
    let next = create_issue(r, new_issue(p.id, "after the restore", 2)).await;
    assert_eq!(next.key, "TACK-13");
}

pub async fn a_damaged_store_is_found_and_repaired(engine: &dyn Engine, dir: &Path) {
    let before = {
        let store = engine.open(dir).await.unwrap();
        let p = create_project(store.as_ref(), "TACK").await;
        for n in 0..4 {
            create_issue(store.as_ref(), new_issue(p.id, &format!("kept {n}"), 2)).await;
        }
        assert!(store.verify().await.unwrap().is_clean());
        let before = store.issues_of_project(p.id).await.unwrap();
        store.shutdown().await;
        before
    };
    engine.damage(dir).await.unwrap();
    {
        let store = engine.open(dir).await.unwrap();
        let report = store.verify().await.unwrap();
        assert!(
            !report.is_clean(),
            "a lost board entry goes unnoticed: {report:?}"
        );
        store.shutdown().await;
    }
    engine.repair(dir).await.unwrap();
    let store = engine.open(dir).await.unwrap();
    let report = store.verify().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(
        store.issues_of_project(1).await.unwrap(),
        before,
        "nothing is lost"
    );
}
