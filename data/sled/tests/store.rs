#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The store against a real sled directory: transactions keep indexes and records in step,
//! versions are enforced, migrations and backups work.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use tack_data::conformance::{new_issue, project, write};
use tack_data::{Op, WriteError};
use tack_data_sled::{SledEngine, StoreConfig, backup};
use tack_protocol::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn issue(project: ProjectId, state: StateId, assignees: Vec<UserId>, labels: Vec<String>) -> Issue {
    let mut issue = new_issue(project, "t", state);
    issue.assignees = assignees;
    issue.labels = labels;
    issue
}

fn open(dir: &std::path::Path) -> SledEngine {
    SledEngine::open(&StoreConfig::new(dir.join("store"))).unwrap()
}

fn create_issue(rt: &tokio::runtime::Runtime, store: &SledEngine, issue: Issue) -> Issue {
    let events = rt
        .block_on(store.submit(write(Op::CreateIssue(issue))).wait())
        .unwrap();
    match &events[0].record {
        EventRecord::Issue(issue) => issue.clone(),
        other => panic!("unexpected record {other:?}"),
    }
}

#[test]
fn issues_get_numbers_keys_and_ranks_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = open(dir.path());
    rt.block_on(
        store
            .submit(write(Op::CreateProject(project("TACK"))))
            .wait(),
    )
    .unwrap();
    let p = store.project_by_key("TACK").unwrap().unwrap();
    let a = create_issue(&rt, &store, issue(p.id, 2, vec![], vec![]));
    let b = create_issue(&rt, &store, issue(p.id, 2, vec![], vec![]));
    assert_eq!((a.key.as_str(), b.key.as_str()), ("TACK-1", "TACK-2"));
    assert!(a.rank < b.rank, "new issues go to the bottom of the column");
    let column: Vec<_> = store
        .issues_in_state(p.id, 2)
        .unwrap()
        .into_iter()
        .map(|i| i.key)
        .collect();
    assert_eq!(column, ["TACK-1", "TACK-2"]);
    assert_eq!(store.issue_by_number(p.id, 2).unwrap().unwrap().id, b.id);
    assert_eq!(store.last_seq(), 3);
}

#[test]
fn a_stale_version_is_a_conflict_with_the_current_issue() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = open(dir.path());
    rt.block_on(
        store
            .submit(write(Op::CreateProject(project("TACK"))))
            .wait(),
    )
    .unwrap();
    let created = create_issue(&rt, &store, issue(1, 2, vec![], vec![]));
    let mut first = created.clone();
    first.title = "first".into();
    rt.block_on(
        store
            .submit(write(Op::UpdateIssue {
                issue: first,
                expected_version: 1,
            }))
            .wait(),
    )
    .unwrap();
    let mut second = created;
    second.title = "second".into();
    let err = rt
        .block_on(
            store
                .submit(write(Op::UpdateIssue {
                    issue: second,
                    expected_version: 1,
                }))
                .wait(),
        )
        .unwrap_err();
    match err {
        WriteError::Conflict { current } => {
            assert_eq!(current.title, "first");
            assert_eq!(current.version, 2);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.issue(1).unwrap().unwrap().title, "first");
}

#[test]
fn unique_handles_and_project_keys() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = open(dir.path());
    rt.block_on(
        store
            .submit(write(Op::CreateProject(project("TACK"))))
            .wait(),
    )
    .unwrap();
    let err = rt
        .block_on(
            store
                .submit(write(Op::CreateProject(project("TACK"))))
                .wait(),
        )
        .unwrap_err();
    assert!(
        matches!(err, WriteError::Taken { field: "key", .. }),
        "{err:?}"
    );
}

#[test]
fn acknowledged_writes_survive_reopening_and_events_replay() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    {
        let store = open(dir.path());
        rt.block_on(
            store
                .submit(write(Op::CreateProject(project("TACK"))))
                .wait(),
        )
        .unwrap();
        for _ in 0..5 {
            create_issue(&rt, &store, issue(1, 2, vec![7], vec!["bug".into()]));
        }
        store.shutdown();
    }
    let store = open(dir.path());
    assert_eq!(store.issues_of_project(1).unwrap().len(), 5);
    assert_eq!(store.issues_assigned_to(7).unwrap().len(), 5);
    let events = store.events_after(3, 100).unwrap();
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5, 6]);
    assert!(matches!(&events[0].record, EventRecord::Issue(i) if i.key == "TACK-3"));
    let next = create_issue(&rt, &store, issue(1, 2, vec![], vec![]));
    assert_eq!(next.key, "TACK-6", "numbers continue after a restart");
    assert!(store.verify().unwrap().is_clean());
}

#[test]
fn a_store_newer_than_this_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path().join("store")).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", &99u32.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let err = SledEngine::open(&StoreConfig::new(dir.path().join("store")))
        .err()
        .unwrap();
    let message = err.to_string();
    assert!(
        message.contains("99") && message.contains("newer"),
        "{message}"
    );
}

/// A store as version 1 wrote it: issues with labels, but no label index.
fn write_v1_fixture(path: &std::path::Path) {
    let db = sled::open(path).unwrap();
    let meta = db.open_tree("meta").unwrap();
    meta.insert("schema_version", &1u32.to_be_bytes()).unwrap();
    meta.insert("next_id/projects", &2u64.to_be_bytes())
        .unwrap();
    meta.insert("next_id/issues", &3u64.to_be_bytes()).unwrap();
    let mut p = project("OLD");
    p.id = 1;
    p.next_issue_number = 3;
    let cfg = bincode::config::standard();
    db.open_tree("projects")
        .unwrap()
        .insert(1u64.to_be_bytes(), bincode::encode_to_vec(&p, cfg).unwrap())
        .unwrap();
    db.open_tree("projects_by_key")
        .unwrap()
        .insert("OLD", &1u64.to_be_bytes())
        .unwrap();
    for (id, labels) in [
        (1u64, vec!["bug".to_string()]),
        (2, vec!["bug".to_string(), "ui".to_string()]),
    ] {
        let mut i = issue(1, 2, vec![], labels);
        i.id = id;
        i.number = id;
        i.key = format!("OLD-{id}");
        i.rank = format!("i{id}");
        i.version = 1;
        db.open_tree("issues")
            .unwrap()
            .insert(id.to_be_bytes(), bincode::encode_to_vec(&i, cfg).unwrap())
            .unwrap();
        let mut board = 1u64.to_be_bytes().to_vec();
        board.extend_from_slice(&2u32.to_be_bytes());
        board.extend_from_slice(i.rank.as_bytes());
        board.push(0);
        board.extend_from_slice(&id.to_be_bytes());
        db.open_tree("idx_board")
            .unwrap()
            .insert(board, &[])
            .unwrap();
        let mut number = 1u64.to_be_bytes().to_vec();
        number.extend_from_slice(&id.to_be_bytes());
        db.open_tree("issues_by_number")
            .unwrap()
            .insert(number, &id.to_be_bytes())
            .unwrap();
    }
    db.flush().unwrap();
}

#[test]
fn version_1_store_migrates_to_the_label_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    write_v1_fixture(&path);
    let store = SledEngine::open(&StoreConfig::new(&path)).unwrap();
    let kept: Vec<_> = std::fs::read_dir(dir.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept.len(), 1, "a backup is taken before migrating");
    assert!(kept[0].starts_with("pre-migration-v1-"), "{kept:?}");
    let (info, _) = tack_data_sled::backup::restore(
        &dir.path().join("backups").join(&kept[0]),
        &dir.path().join("as-it-was"),
    )
    .unwrap();
    assert_eq!(
        info.schema_version, 1,
        "the backup holds the store before migration"
    );
    let bugs: Vec<_> = store
        .issues_labelled(1, "bug")
        .unwrap()
        .into_iter()
        .map(|i| i.key)
        .collect();
    assert_eq!(bugs, ["OLD-1", "OLD-2"]);
    assert_eq!(store.issues_labelled(1, "ui").unwrap().len(), 1);
    assert!(
        store.verify().unwrap().is_clean(),
        "{:?}",
        store.verify().unwrap().problems
    );
    let rt = runtime();
    let next = create_issue(&rt, &store, issue(1, 2, vec![], vec![]));
    assert_eq!(next.key, "OLD-3");
}

#[test]
fn backup_restores_to_an_identical_store_and_corruption_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = open(dir.path());
    rt.block_on(
        store
            .submit(write(Op::CreateProject(project("TACK"))))
            .wait(),
    )
    .unwrap();
    for n in 0..20 {
        create_issue(
            &rt,
            &store,
            issue(
                1,
                1 + n % 3,
                vec![n as u64 % 4],
                vec![format!("l{}", n % 5)],
            ),
        );
    }
    let file = dir.path().join("tack.backup");
    let info = rt.block_on(store.backup(&file).wait()).unwrap();
    assert!(info.records > 20);
    assert_eq!(
        tack_data::backup_file::verify(&file).unwrap().checksum,
        info.checksum
    );

    let restored_path = dir.path().join("restored");
    let (_, report) = backup::restore(&file, &restored_path).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.issues, 20);
    let restored = SledEngine::open(&StoreConfig::new(&restored_path)).unwrap();
    assert_eq!(
        restored.issues_of_project(1).unwrap(),
        store.issues_of_project(1).unwrap()
    );
    assert_eq!(restored.last_seq(), store.last_seq());

    let err = backup::restore(&file, &restored_path).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");

    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    let damaged = dir.path().join("damaged.backup");
    std::fs::write(&damaged, &bytes).unwrap();
    let err = backup::restore(&damaged, &dir.path().join("other")).unwrap_err();
    assert!(
        err.to_string().contains("checksum") || err.to_string().contains("corrupt"),
        "{err}"
    );
    assert!(
        !dir.path().join("other").exists(),
        "nothing is written from a damaged backup"
    );

    std::fs::write(&damaged, &bytes[..bytes.len() - 40]).unwrap();
    assert!(tack_data::backup_file::verify(&damaged).is_err());
}

#[derive(Debug, Clone)]
enum Action {
    Create {
        state: u32,
        assignees: Vec<u64>,
        labels: Vec<String>,
    },
    Update {
        pick: usize,
        state: u32,
        assignees: Vec<u64>,
        labels: Vec<String>,
    },
    Delete {
        pick: usize,
    },
    Comment {
        pick: usize,
    },
}

fn action() -> impl Strategy<Value = Action> {
    let assignees = proptest::collection::btree_set(1u64..5, 0..3)
        .prop_map(|s| s.into_iter().collect::<Vec<_>>());
    let labels = proptest::collection::btree_set("[a-c]", 0..3)
        .prop_map(|s| s.into_iter().collect::<Vec<_>>());
    prop_oneof![
        3 => (1u32..4, assignees.clone(), labels.clone()).prop_map(|(state, assignees, labels)| Action::Create { state, assignees, labels }),
        3 => (any::<usize>(), 1u32..4, assignees, labels).prop_map(|(pick, state, assignees, labels)| Action::Update { pick, state, assignees, labels }),
        1 => any::<usize>().prop_map(|pick| Action::Delete { pick }),
        1 => any::<usize>().prop_map(|pick| Action::Comment { pick }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn indexes_always_agree_with_records(actions in proptest::collection::vec(action(), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime();
        let store = open(dir.path());
        rt.block_on(store.submit(write(Op::CreateProject(project("TACK")))).wait()).unwrap();
        // The model: issue id → (state, assignees, labels).
        let mut model: BTreeMap<u64, (u32, Vec<u64>, Vec<String>)> = BTreeMap::new();
        for action in actions {
            match action {
                Action::Create { state, assignees, labels } => {
                    let created = create_issue(&rt, &store, issue(1, state, assignees.clone(), labels.clone()));
                    model.insert(created.id, (state, assignees, labels));
                }
                Action::Update { pick, state, assignees, labels } => {
                    if model.is_empty() { continue; }
                    let id = *model.keys().nth(pick % model.len()).unwrap();
                    let mut current = store.issue(id).unwrap().unwrap();
                    let version = current.version;
                    current.state = state;
                    current.assignees = assignees.clone();
                    current.labels = labels.clone();
                    current.rank = tack_protocol::rank::between(None, Some(&current.rank));
                    rt.block_on(store.submit(write(Op::UpdateIssue { issue: current, expected_version: version })).wait()).unwrap();
                    model.insert(id, (state, assignees, labels));
                }
                Action::Delete { pick } => {
                    if model.is_empty() { continue; }
                    let id = *model.keys().nth(pick % model.len()).unwrap();
                    rt.block_on(store.submit(write(Op::DeleteIssue { id })).wait()).unwrap();
                    model.remove(&id);
                }
                Action::Comment { pick } => {
                    if model.is_empty() { continue; }
                    let id = *model.keys().nth(pick % model.len()).unwrap();
                    let comment = Comment { id: 0, issue: id, project: 1, author: Actor::Console, body: "c".into(), created_at: 0, edited_at: None };
                    rt.block_on(store.submit(write(Op::PutComment(comment))).wait()).unwrap();
                }
            }
        }
        let report = store.verify().unwrap();
        prop_assert!(report.is_clean(), "{:?}", report.problems);
        prop_assert_eq!(report.issues as usize, model.len());
        for state in 1..4u32 {
            let stored: BTreeSet<u64> = store.issues_in_state(1, state).unwrap().iter().map(|i| i.id).collect();
            let expected: BTreeSet<u64> = model.iter().filter(|(_, m)| m.0 == state).map(|(id, _)| *id).collect();
            prop_assert_eq!(stored, expected);
        }
        for user in 1..5u64 {
            let stored: BTreeSet<u64> = store.issues_assigned_to(user).unwrap().iter().map(|i| i.id).collect();
            let expected: BTreeSet<u64> = model.iter().filter(|(_, m)| m.1.contains(&user)).map(|(id, _)| *id).collect();
            prop_assert_eq!(stored, expected);
        }
        for label in ["a", "b", "c"] {
            let stored: BTreeSet<u64> = store.issues_labelled(1, label).unwrap().iter().map(|i| i.id).collect();
            let expected: BTreeSet<u64> = model.iter().filter(|(_, m)| m.2.iter().any(|l| l == label)).map(|(id, _)| *id).collect();
            prop_assert_eq!(stored, expected);
        }
    }
}

#[test]
fn doctor_finds_broken_indexes_and_counters_and_repairs_them_from_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    {
        let store = open(dir.path());
        rt.block_on(
            store
                .submit(write(Op::CreateProject(project("TACK"))))
                .wait(),
        )
        .unwrap();
        for n in 0..6 {
            create_issue(
                &rt,
                &store,
                issue(1, 1 + n % 2, vec![7], vec!["bug".into()]),
            );
        }
        store.shutdown();
    }
    let clean = tack_data_sled::doctor::doctor(&dir.path().join("store"), false).unwrap();
    assert!(clean.problems.is_empty(), "{:?}", clean.problems);
    assert_eq!(clean.issues, 6);
    {
        // Damage it behind the store's back: a lost index entry, a stray one, a rewound counter.
        let db = sled::open(dir.path().join("store")).unwrap();
        let board = db.open_tree("idx_board").unwrap();
        let first = board.first().unwrap().unwrap().0;
        board.remove(first).unwrap();
        let mut stray = 99u64.to_be_bytes().to_vec();
        stray.extend_from_slice(&1234u64.to_be_bytes());
        db.open_tree("idx_assignee")
            .unwrap()
            .insert(stray, &[])
            .unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("next_id/issues", &2u64.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let found = tack_data_sled::doctor::doctor(&dir.path().join("store"), false).unwrap();
    let problems = found.problems.join("\n");
    assert!(problems.contains("no board index entry"), "{problems}");
    assert!(problems.contains("matches no issue"), "{problems}");
    assert!(problems.contains("next_id/issues"), "{problems}");
    assert!(found.repaired.is_empty(), "checking changes nothing");

    let repaired = tack_data_sled::doctor::doctor(&dir.path().join("store"), true).unwrap();
    assert!(repaired.problems.is_empty(), "{:?}", repaired.problems);
    assert!(!repaired.repaired.is_empty());
    let store = open(dir.path());
    assert!(store.verify().unwrap().is_clean());
    assert_eq!(store.issues_of_project(1).unwrap().len(), 6);
    let next = create_issue(&rt, &store, issue(1, 1, vec![], vec![]));
    assert_eq!(next.id, 7, "the counter is past every record again");
    assert_eq!(next.key, "TACK-7");
}

#[test]
fn doctor_refuses_a_store_in_use_and_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let err = tack_data_sled::doctor::doctor(&dir.path().join("nothing"), false).unwrap_err();
    assert!(err.to_string().contains("no store"), "{err}");
    let _store = open(dir.path());
    let err = tack_data_sled::doctor::doctor(&dir.path().join("store"), false).unwrap_err();
    assert!(err.to_string().contains("in use"), "{err}");
}
