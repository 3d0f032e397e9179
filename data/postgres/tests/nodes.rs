//! Several nodes on one database: each node's listener sees every change of every node, in
//! sequence order, exactly once; sequence numbers stay gap-free in commit order while nodes
//! write at once; and a node catches up on what it missed while its database was away.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tack_data::conformance::{new_issue, project, write};
use tack_data::{Op, Store};
use tack_data_postgres::{PgConfig, PgStore};
use tack_pg_test_cluster::TestCluster;
use tack_protocol::EventRecord;

/// Opens a node on `url` whose listener records every sequence number it is told.
async fn node(url: &str) -> (Arc<PgStore>, Arc<Mutex<Vec<u64>>>) {
    let store = Arc::new(PgStore::open(&PgConfig::new(url)).await.unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    store.set_commit_listener(Box::new(move |events| {
        sink.lock().unwrap().extend(events.iter().map(|e| e.seq));
    }));
    (store, seen)
}

async fn wait_for(what: &str, timeout: Duration, check: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_sees_every_change_once_in_order() {
    let url = TestCluster::shared().create_database().await;
    let (a, seen_a) = node(&url).await;
    let (b, seen_b) = node(&url).await;
    let (c, seen_c) = node(&url).await;
    a.submit(write(Op::CreateProject(project("TACK"))))
        .wait()
        .await
        .unwrap();
    let p = b.project_by_key("TACK").await.unwrap().unwrap();
    // Three nodes write at once, each from eight tasks.
    let mut tasks = Vec::new();
    for (n, store) in [&a, &b, &c].into_iter().enumerate() {
        for task in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for k in 0..10 {
                    let title = format!("node {n} task {task} issue {k}");
                    store
                        .submit(write(Op::CreateIssue(new_issue(p.id, &title, 2))))
                        .wait()
                        .await
                        .unwrap();
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let last = a.activity_before(None, 1).await.unwrap()[0].seq;
    assert_eq!(
        last, 241,
        "one project and 240 issues, numbered without gaps"
    );
    let all: Vec<u64> = (1..=last).collect();
    for (name, seen) in [("a", &seen_a), ("b", &seen_b), ("c", &seen_c)] {
        wait_for(
            &format!("node {name} seeing every change"),
            Duration::from_secs(10),
            || seen.lock().unwrap().len() >= all.len(),
        )
        .await;
        assert_eq!(*seen.lock().unwrap(), all, "node {name}");
        assert_eq!(
            [&a, &b, &c][(name.as_bytes()[0] - b'a') as usize]
                .last_seq()
                .await
                .unwrap(),
            last
        );
    }
    // Issue numbers are unique per project, whoever made them.
    let mut numbers: Vec<u64> = c
        .issues_of_project(p.id)
        .await
        .unwrap()
        .iter()
        .map(|i| i.number)
        .collect();
    numbers.sort();
    assert_eq!(numbers, (1..=240).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_nodes_change_arrives_with_its_record() {
    let url = TestCluster::shared().create_database().await;
    let (a, _) = node(&url).await;
    let b = Arc::new(PgStore::open(&PgConfig::new(&url)).await.unwrap());
    let records = Arc::new(Mutex::new(Vec::new()));
    let sink = records.clone();
    b.set_commit_listener(Box::new(move |events| {
        sink.lock()
            .unwrap()
            .extend(events.iter().map(|e| e.record.clone()));
    }));
    a.submit(write(Op::CreateProject(project("TACK"))))
        .wait()
        .await
        .unwrap();
    let p = a.project_by_key("TACK").await.unwrap().unwrap();
    a.submit(write(Op::CreateIssue(new_issue(p.id, "Made on node a", 2))))
        .wait()
        .await
        .unwrap();
    wait_for(
        "node b hearing of the issue",
        Duration::from_secs(5),
        || records.lock().unwrap().len() >= 2,
    )
    .await;
    let records = records.lock().unwrap();
    assert!(matches!(&records[0], EventRecord::Project(p) if p.key == "TACK"));
    assert!(matches!(&records[1], EventRecord::Issue(i) if i.title == "Made on node a"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_catches_up_on_what_it_missed_while_the_database_was_away() {
    let cluster = TestCluster::start();
    let url = cluster.create_database().await;
    let (a, _) = node(&url).await;
    let (_b, seen_b) = node(&url).await;
    a.submit(write(Op::CreateProject(project("TACK"))))
        .wait()
        .await
        .unwrap();
    let p = a.project_by_key("TACK").await.unwrap().unwrap();
    wait_for(
        "node b hearing of the project",
        Duration::from_secs(5),
        || seen_b.lock().unwrap().len() == 1,
    )
    .await;
    cluster.restart();
    cluster.wait_ready();
    // Node a writes again once its pool has reconnected; node b's listening connection was cut.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let result = a
            .submit(write(Op::CreateIssue(new_issue(
                p.id,
                "After the restart",
                2,
            ))))
            .wait()
            .await;
        if result.is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "node a never wrote again: {result:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for("node b catching up", Duration::from_secs(10), || {
        *seen_b.lock().unwrap() == vec![1, 2]
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_one_nodes_until_its_lease_ends() {
    use tack_data::JobOutcome;
    use tack_protocol::JobKind;
    const AT: i64 = 1_700_000_000_000;
    let url = TestCluster::shared().create_database().await;
    let (a, _) = node(&url).await;
    let (b, _) = node(&url).await;
    for n in 0..4 {
        a.submit(write(Op::EnqueueJob {
            kind: JobKind::Expire,
            key: format!("expire-{n}"),
            run_at: AT,
        }))
        .wait()
        .await
        .unwrap();
    }
    let lease = Duration::from_secs(60);
    let ids = |jobs: &[tack_protocol::Job]| jobs.iter().map(|j| j.id).collect::<Vec<_>>();
    let taken_by_a = a.claim_due_jobs(AT + 1, 3, lease).await.unwrap();
    assert_eq!(ids(&taken_by_a), [1, 2, 3]);
    // Node b gets only what a did not take; a sees its own again.
    assert_eq!(
        ids(&b.claim_due_jobs(AT + 1, 10, lease).await.unwrap()),
        [4]
    );
    assert_eq!(
        ids(&a.claim_due_jobs(AT + 2, 10, lease).await.unwrap()),
        [1, 2, 3]
    );
    assert_eq!(
        ids(&b.claim_due_jobs(AT + 3, 10, lease).await.unwrap()),
        [4]
    );
    // Node a dies with its jobs: once the lease is over, b takes them.
    drop(a);
    let after_lease = AT + 3 + lease.as_millis() as i64 + 1;
    assert_eq!(
        ids(&b.claim_due_jobs(after_lease, 10, lease).await.unwrap()),
        [1, 2, 3, 4]
    );
    // An outcome ends the lease: a retried job is anyone's when it comes due again.
    b.submit(write(Op::FinishJob {
        id: 1,
        outcome: JobOutcome::Retry {
            run_at: after_lease + 10,
            error: "try again".into(),
        },
        delivery: None,
    }))
    .wait()
    .await
    .unwrap();
    let (c, _) = node(&url).await;
    assert_eq!(
        ids(&c.claim_due_jobs(after_lease + 10, 10, lease).await.unwrap()),
        [1]
    );
    assert!(c.verify().await.unwrap().is_clean());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_session_places_are_counted_over_every_node() {
    let url = TestCluster::shared().create_database().await;
    let (a, _) = node(&url).await;
    let (b, _) = node(&url).await;
    let lease = Duration::from_secs(60);
    let (alice, bob, carol, dave) = (1, 2, 3, 4);
    // One place each: the same session number on another node is another session.
    assert_eq!(
        a.claim_session(1, alice, 1, lease).await.unwrap(),
        Some(true)
    );
    assert_eq!(
        b.claim_session(1, alice, 1, lease).await.unwrap(),
        Some(false)
    );
    assert_eq!(b.claim_session(1, bob, 1, lease).await.unwrap(), Some(true));
    a.release_session(1).await.unwrap();
    assert_eq!(
        b.claim_session(2, alice, 1, lease).await.unwrap(),
        Some(true)
    );
    assert_eq!(
        a.claim_session(2, alice, 1, lease).await.unwrap(),
        Some(false)
    );
    // Renewing gives up the places of sessions that are gone (a release that never arrived).
    b.renew_sessions(&[1], lease).await.unwrap();
    assert_eq!(
        a.claim_session(2, alice, 1, lease).await.unwrap(),
        Some(true)
    );
    assert_eq!(
        a.claim_session(3, bob, 1, lease).await.unwrap(),
        Some(false)
    );

    // A place not renewed lapses with its lease (its node died); a renewed one holds.
    let (short, erin) = (Duration::from_millis(1500), 5);
    assert_eq!(
        a.claim_session(4, carol, 1, short).await.unwrap(),
        Some(true)
    );
    assert_eq!(
        b.claim_session(8, erin, 1, short).await.unwrap(),
        Some(true)
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    b.renew_sessions(&[1, 2, 8], short).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        b.claim_session(6, carol, 1, lease).await.unwrap(),
        Some(true)
    );
    assert_eq!(
        a.claim_session(9, erin, 1, lease).await.unwrap(),
        Some(false)
    );

    // Nodes asking at once never hand out more places than the cap.
    let asks = (0..16u64).map(|n| {
        let node = if n % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move { node.claim_session(100 + n, dave, 3, lease).await.unwrap() })
    });
    let mut granted = 0;
    for ask in asks {
        if ask.await.unwrap() == Some(true) {
            granted += 1;
        }
    }
    assert_eq!(granted, 3, "16 sessions asked at once for 3 places");
}
