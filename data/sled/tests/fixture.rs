//! A store written by an earlier build of tack (schema 2: two people, a project with its
//! members and five states, three issues with comments) opens with this build and reads back
//! field for field. A change to how records are stored that this build cannot read fails here;
//! a change of format needs a migration, and this fixture stays as it was written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use tack_data::Store;
use tack_data_sled::{SledStore, StoreConfig};
use tack_protocol::*;

const WRITTEN_AT: i64 = 1_790_000_000_000;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[tokio::test]
async fn a_store_written_by_an_earlier_build_reads_back_field_for_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    // Opening writes to a store, so the fixture is read from a copy.
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-schema-2"),
        &path,
    );
    let store = SledStore::open(&StoreConfig::new(&path)).unwrap();

    let users = store.users().await.unwrap();
    assert_eq!(
        users,
        [
            User {
                id: 1,
                handle: "alice".into(),
                display_name: "Alice Liddell".into(),
                email: Some("alice@example.com".into()),
                role: ServerRole::Admin,
                disabled: false,
                created_at: WRITTEN_AT,
            },
            User {
                id: 2,
                handle: "bob".into(),
                display_name: "Bob".into(),
                email: None,
                role: ServerRole::User,
                disabled: false,
                created_at: WRITTEN_AT,
            },
        ]
    );
    let project = store.project_by_key("TACK").await.unwrap().unwrap();
    assert_eq!(project.name, "Tack");
    assert_eq!(project.description, "The tracker");
    let states: Vec<(&str, StateCategory)> = project
        .states
        .iter()
        .map(|s| (s.name.as_str(), s.category))
        .collect();
    assert_eq!(
        states,
        [
            ("Backlog", StateCategory::Backlog),
            ("Todo", StateCategory::Unstarted),
            ("In Progress", StateCategory::Started),
            ("Done", StateCategory::Done),
            ("Canceled", StateCategory::Canceled),
        ]
    );
    assert_eq!(
        project.members,
        [
            Member {
                user: 1,
                role: ProjectRole::Owner
            },
            Member {
                user: 2,
                role: ProjectRole::Member
            },
        ]
    );
    assert_eq!(project.next_issue_number, 4);

    for n in 1..=3u64 {
        let issue = store.issue_by_number(project.id, n).await.unwrap().unwrap();
        assert_eq!(issue.key, format!("TACK-{n}"));
        assert_eq!(issue.title, format!("Fixture issue {n}"));
        assert_eq!(
            issue.description,
            format!("Written by tack 0.1 with schema {n}")
        );
        assert_eq!(issue.state, 1 + n as u32);
        assert_eq!(issue.priority, Priority::High);
        assert_eq!(issue.assignees, [n % 2 + 1]);
        assert_eq!(issue.labels, ["fixture"]);
        assert_eq!(issue.estimate, Some(3));
        assert_eq!(issue.due.as_deref(), Some("2026-12-24"));
        assert_eq!(issue.creator, Actor::User(1));
        assert_eq!(issue.created_at, WRITTEN_AT);
        let comments = store.comments_of(issue.id).await.unwrap();
        assert_eq!(comments.len(), 1);
        assert_eq!(comments[0].body, format!("Comment on issue {n}"));
        assert_eq!(comments[0].author, Actor::User(2));
    }
    assert_eq!(
        store
            .issues_labelled(project.id, "fixture")
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(store.issues_assigned_to(2).await.unwrap().len(), 2);
    // Two people, a project, three issues and three comments.
    assert_eq!(store.last_seq().await.unwrap(), 9);
    assert!(store.verify().await.unwrap().is_clean());
}
