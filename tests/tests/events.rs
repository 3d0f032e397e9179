//! Pipelined requests and pushed events: a subscriber sees exactly the projects it may read, and
//! a feed resumes after a server restart without missing or repeating an event.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tack_protocol::{
    ActivityKind, Client, ClientError, EventFeed, EventRecord, ProjectRole, Request, ResponseBody,
};
use tack_tests::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");

fn new_issue(project: &str, title: &str) -> Request {
    tack_tests::create_issue(project, title, "")
}

#[tokio::test]
async fn pipelined_requests_are_answered_by_id() {
    let server = TestServer::start(BIN);
    let console = server.console().await;
    console
        .request(Request::CreateProject {
            key: "PIPE".into(),
            name: "Pipe".into(),
            description: String::new(),
        })
        .await
        .unwrap();
    let creates = futures::future::join_all(
        (0..50).map(|n| console.request(new_issue("PIPE", &format!("issue {n}")))),
    )
    .await;
    let mut keys: Vec<String> = creates
        .into_iter()
        .map(|r| match r.unwrap() {
            ResponseBody::Issue(issue) => issue.key,
            other => panic!("{other:?}"),
        })
        .collect();
    keys.sort_by_key(|k| k.trim_start_matches("PIPE-").parse::<u64>().unwrap());
    let expected: Vec<String> = (1..=50).map(|n| format!("PIPE-{n}")).collect();
    assert_eq!(
        keys, expected,
        "every create got its own number, none lost or doubled"
    );
    let gets = futures::future::join_all(
        expected
            .iter()
            .map(|k| console.request(Request::GetIssue { key: k.clone() })),
    )
    .await;
    for (key, got) in expected.iter().zip(gets) {
        match got.unwrap() {
            ResponseBody::Issue(issue) => {
                assert_eq!(&issue.key, key, "each response matches its request")
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn subscribers_see_only_projects_they_may_read() {
    let server = TestServer::start(BIN);
    let alice = server.user_with_token("alice", false).await;
    let bob = server.user_with_token("bob", false).await;
    let console = server.console().await;
    for key in ["OPEN", "SECRET"] {
        console
            .request(Request::CreateProject {
                key: key.into(),
                name: key.into(),
                description: String::new(),
            })
            .await
            .unwrap();
    }
    for (project, handle) in [("OPEN", "alice"), ("OPEN", "bob"), ("SECRET", "alice")] {
        console
            .request(Request::SetMember {
                project: project.into(),
                handle: handle.into(),
                role: ProjectRole::Member,
            })
            .await
            .unwrap();
    }
    let bob_client = server.with_token(&bob).await;
    let mut bob_events = bob_client.take_events().unwrap();
    bob_client
        .request(Request::Subscribe {
            project: None,
            after_seq: None,
            query: None,
        })
        .await
        .unwrap();
    let denied = bob_client
        .request(Request::Subscribe {
            project: Some("SECRET".into()),
            after_seq: None,
            query: None,
        })
        .await;
    assert!(
        matches!(
            denied,
            Err(ClientError::Api(tack_protocol::ApiError::Forbidden { .. }))
        ),
        "{denied:?}"
    );
    bob_client
        .request(Request::Subscribe {
            project: None,
            after_seq: None,
            query: None,
        })
        .await
        .unwrap();

    let alice_client = server.with_token(&alice).await;
    alice_client
        .request(new_issue("SECRET", "hidden"))
        .await
        .unwrap();
    alice_client
        .request(new_issue("OPEN", "visible"))
        .await
        .unwrap();

    let event = tokio::time::timeout(Duration::from_secs(10), bob_events.recv())
        .await
        .unwrap()
        .unwrap();
    match &event.record {
        EventRecord::Issue(issue) => assert_eq!(issue.title, "visible", "bob never sees SECRET"),
        other => panic!("{other:?}"),
    }
    assert_eq!(event.activity.kind, ActivityKind::IssueCreated);
    // Nothing else arrives: a change to SECRET, then a marker bob may see; the marker is next.
    alice_client
        .request(new_issue("SECRET", "hidden too"))
        .await
        .unwrap();
    alice_client
        .request(new_issue("OPEN", "marker"))
        .await
        .unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), bob_events.recv())
        .await
        .unwrap()
        .unwrap();
    match &next.record {
        EventRecord::Issue(issue) => assert_eq!(issue.title, "marker", "bob never sees SECRET"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_feed_resumes_after_a_restart_without_gaps_or_repeats() {
    let mut server = TestServer::start(BIN);
    let console = server.console().await;
    console
        .request(Request::CreateProject {
            key: "FEED".into(),
            name: "Feed".into(),
            description: String::new(),
        })
        .await
        .unwrap();
    let start = server.console().await.welcome().event_seq;
    drop(console);
    let socket = server.socket.clone();
    let mut feed = EventFeed::new(
        move || {
            let socket = socket.clone();
            async move { Client::connect_unix(&socket).await }
        },
        Some("FEED".into()),
        Some(start),
    );

    let writer = server.console().await;
    for n in 1..=3 {
        writer
            .request(new_issue("FEED", &format!("before {n}")))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut titles = Vec::new();
    while titles.len() < 3 {
        let event = tokio::time::timeout(Duration::from_secs(10), feed.next())
            .await
            .unwrap()
            .unwrap();
        if let EventRecord::Issue(issue) = &event.record {
            titles.push(issue.title.clone());
        }
        seen.push(event.seq);
    }
    assert_eq!(titles, ["before 1", "before 2", "before 3"]);

    // Restart the server (same data dir, same socket path); write while the feed is cut off.
    server.restart();
    let writer = server.console().await;
    for n in 1..=3 {
        writer
            .request(new_issue("FEED", &format!("after {n}")))
            .await
            .unwrap();
    }
    while titles.len() < 6 {
        let event = tokio::time::timeout(Duration::from_secs(20), feed.next())
            .await
            .unwrap()
            .unwrap();
        assert!(!seen.contains(&event.seq), "event {} repeated", event.seq);
        seen.push(event.seq);
        if let EventRecord::Issue(issue) = &event.record {
            titles.push(issue.title.clone());
        }
    }
    assert_eq!(
        &titles[3..],
        ["after 1", "after 2", "after 3"],
        "events written while disconnected are replayed in order"
    );
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
}

#[tokio::test]
async fn a_subscription_with_a_query_hears_only_about_matching_issues() {
    let server = TestServer::start(BIN);
    let console = server.console().await;
    console
        .request(Request::CreateProject {
            key: "TACK".into(),
            name: "Tack".into(),
            description: String::new(),
        })
        .await
        .unwrap();
    let listener = server.console().await;
    let mut events = listener.take_events().unwrap();
    listener
        .request(Request::Subscribe {
            project: None,
            after_seq: None,
            query: Some("is:open priority:urgent".into()),
        })
        .await
        .unwrap();
    let refused = listener
        .request(Request::Subscribe {
            project: None,
            after_seq: None,
            query: Some("priority:soon".into()),
        })
        .await;
    assert!(
        matches!(&refused, Err(ClientError::Api(tack_protocol::ApiError::Invalid { reason, .. })) if reason.contains("not a priority")),
        "{refused:?}"
    );
    console.request(new_issue("TACK", "calm")).await.unwrap();
    let mut urgent = tack_tests::create_issue("TACK", "on fire", "");
    if let Request::CreateIssue(new) = &mut urgent {
        new.priority = tack_protocol::Priority::Urgent;
    }
    console.request(urgent).await.unwrap();
    console
        .request(Request::CloseIssue {
            key: "TACK-2".into(),
        })
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    match &event.record {
        EventRecord::Issue(issue) => assert_eq!(issue.title, "on fire"),
        other => panic!("{other:?}"),
    }
    // Neither the calm issue nor the closing (no longer open) arrives: the next event is a
    // marker that matches.
    let mut marker = tack_tests::create_issue("TACK", "marker on fire", "");
    if let Request::CreateIssue(new) = &mut marker {
        new.priority = tack_protocol::Priority::Urgent;
    }
    console.request(marker).await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    match &next.record {
        EventRecord::Issue(issue) => assert_eq!(issue.title, "marker on fire"),
        other => panic!("{other:?}"),
    }
}
