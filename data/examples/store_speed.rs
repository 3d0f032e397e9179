#![allow(clippy::unwrap_used)]
use std::time::Instant;
use tack_data::*;
use tack_protocol::*;
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        / 1024
}
fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let group = std::env::args().nth(2).as_deref() != Some("single");
    let mb: u64 = std::env::args()
        .nth(3)
        .map(|s| s.parse().unwrap())
        .unwrap_or(128);
    let mut cfg = StoreConfig::new(dir);
    cfg.group_commit = group;
    cfg.cache_capacity = mb * 1024 * 1024;
    let store = std::sync::Arc::new(SledStore::open(&cfg).unwrap());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let p = Project {
        id: 0,
        key: "B".into(),
        name: "B".into(),
        description: String::new(),
        states: vec![WorkflowState {
            id: 1,
            name: "Todo".into(),
            category: StateCategory::Unstarted,
        }],
        next_state_id: 2,
        members: vec![],
        next_issue_number: 1,
        archived: false,
        created_at: 0,
        updated_at: 0,
    };
    rt.block_on(
        store
            .submit(Write {
                actor: Actor::Console,
                at: 0,
                op: Op::CreateProject(p),
                changes: vec![],
            })
            .wait(),
    )
    .unwrap();
    let n = 100_000;
    let started = Instant::now();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for c in 0..64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..n / 64 {
                    let issue = Issue {
                        id: 0,
                        project: 1,
                        number: 0,
                        key: String::new(),
                        title: format!(
                            "Benchmark issue number {c} {i} with a title of typical length"
                        ),
                        description:
                            "A description that is a couple of sentences long, as most are. "
                                .repeat(2),
                        state: 1,
                        priority: Priority::Low,
                        assignees: vec![1],
                        labels: vec!["bench".into()],
                        estimate: None,
                        due: None,
                        parent: None,
                        blocked_by: vec![],
                        rank: String::new(),
                        created_at: 0,
                        updated_at: 0,
                        closed_at: None,
                        creator: Actor::Console,
                        version: 0,
                    };
                    store
                        .submit(Write {
                            actor: Actor::Console,
                            at: 0,
                            op: Op::CreateIssue(issue),
                            changes: vec![FieldChange {
                                field: "title".into(),
                                before: String::new(),
                                after: "x".repeat(60),
                            }],
                        })
                        .wait()
                        .await
                        .unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    println!(
        "group={group}: {:.0}/s, rss {} MiB, disk {} MiB",
        (n / 64 * 64) as f64 / started.elapsed().as_secs_f64(),
        rss(),
        store.size_on_disk().unwrap() / 1048576
    );
}
