//! The inbox: assignees, mentions and watchers hear about changes; the actor does not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use tack_data::Store;
use tack_data_sled::{SledStore, StoreConfig};
use tack_protocol::*;
use tack_server::service::{Caller, Service, ServiceConfig};

async fn ok(service: &Service, caller: &Caller, request: Request) -> ResponseBody {
    service.handle(caller, request).await.unwrap()
}

async fn inbox(service: &Service, caller: &Caller) -> Vec<(String, NotificationKind)> {
    let ResponseBody::Notifications(list) = ok(
        service,
        caller,
        Request::ListNotifications { unread_only: true },
    )
    .await
    else {
        panic!()
    };
    list.into_iter().map(|n| (n.issue_key, n.kind)).collect()
}

#[tokio::test]
async fn the_right_people_hear_about_each_change() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SledStore::open(&StoreConfig::new(dir.path().join("store"))).unwrap());
    let service = Service::new(store, ServiceConfig::default());
    let console = Caller::Console;
    let mut people = Vec::new();
    for handle in ["alice", "bob", "carol"] {
        let ResponseBody::User(user) = ok(
            &service,
            &console,
            Request::CreateUser {
                handle: handle.into(),
                display_name: handle.into(),
                email: None,
                role: ServerRole::User,
            },
        )
        .await
        else {
            panic!()
        };
        people.push(Caller::User { user, token: None });
    }
    let (alice, bob, carol) = (&people[0], &people[1], &people[2]);
    ok(
        &service,
        alice,
        Request::CreateProject {
            key: "TACK".into(),
            name: "Tack".into(),
            description: String::new(),
        },
    )
    .await;
    for handle in ["bob", "carol"] {
        ok(
            &service,
            alice,
            Request::SetMember {
                project: "TACK".into(),
                handle: handle.into(),
                role: ProjectRole::Member,
            },
        )
        .await;
    }
    let new = NewIssue {
        project: "TACK".into(),
        title: "Crash".into(),
        description: String::new(),
        state: None,
        priority: Priority::High,
        assignees: vec!["bob".into()],
        labels: vec![],
        estimate: None,
        due: None,
        parent: None,
    };
    ok(&service, alice, Request::CreateIssue(new)).await;
    assert_eq!(
        inbox(&service, bob).await,
        [("TACK-1".to_string(), NotificationKind::Assigned)]
    );
    assert!(
        inbox(&service, alice).await.is_empty(),
        "nobody hears about their own change"
    );

    ok(
        &service,
        bob,
        Request::AddComment {
            issue: "TACK-1".into(),
            body: "Looking, thanks @carol.".into(),
        },
    )
    .await;
    assert_eq!(
        inbox(&service, alice).await,
        [("TACK-1".to_string(), NotificationKind::Commented)]
    );
    assert_eq!(
        inbox(&service, carol).await,
        [("TACK-1".to_string(), NotificationKind::Mentioned)]
    );
    assert_eq!(
        inbox(&service, bob).await.len(),
        1,
        "bob's own comment adds nothing"
    );

    ok(
        &service,
        alice,
        Request::MoveIssue {
            key: "TACK-1".into(),
            state: "In Progress".into(),
        },
    )
    .await;
    assert_eq!(
        inbox(&service, bob).await.first(),
        Some(&("TACK-1".to_string(), NotificationKind::StateChanged))
    );
    assert_eq!(
        inbox(&service, carol).await.first(),
        Some(&("TACK-1".to_string(), NotificationKind::StateChanged))
    );

    ok(
        &service,
        bob,
        Request::MarkNotificationsRead { ids: vec![] },
    )
    .await;
    assert!(inbox(&service, bob).await.is_empty());
    ok(
        &service,
        carol,
        Request::WatchIssue {
            key: "TACK-1".into(),
            watch: false,
        },
    )
    .await;
    ok(
        &service,
        carol,
        Request::MarkNotificationsRead { ids: vec![] },
    )
    .await;
    ok(
        &service,
        alice,
        Request::AddComment {
            issue: "TACK-1".into(),
            body: "Fixed.".into(),
        },
    )
    .await;
    assert!(
        inbox(&service, carol).await.is_empty(),
        "carol stopped watching"
    );
    assert_eq!(
        inbox(&service, bob).await,
        [("TACK-1".to_string(), NotificationKind::Commented)]
    );
    assert!(matches!(
        service
            .handle(&console, Request::ListNotifications { unread_only: false })
            .await,
        Err(ApiError::Invalid { .. })
    ));
}
