//! An in-process client (as each SSH session will have) speaks the same frames over a pipe, with
//! the identity the transport established.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use tack_data::Store;
use tack_data_sled::{SledStore, StoreConfig};
use tack_protocol::transport::in_memory_pair;
use tack_protocol::*;
use tack_server::service::{Caller, Service, ServiceConfig};
use tack_server::socket::{Peer, ProtocolServer, SocketConfig};

#[tokio::test]
async fn an_in_memory_client_acts_as_its_user() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SledStore::open(&StoreConfig::new(dir.path().join("store"))).unwrap());
    let service = Service::new(store, ServiceConfig::default());
    let ResponseBody::User(alice) = service
        .handle(
            &Caller::Console,
            Request::CreateUser {
                handle: "alice".into(),
                display_name: "Alice".into(),
                email: None,
                role: ServerRole::User,
            },
        )
        .await
        .unwrap()
    else {
        panic!()
    };
    let server = ProtocolServer::new(service.clone(), SocketConfig::default());
    let (client_end, server_end) = in_memory_pair();
    server.clone().spawn_connection(
        server_end,
        Peer::Authenticated(Caller::User {
            user: alice.clone(),
            token: None,
        }),
    );
    // Credentials sent by the client are ignored: the pipe's identity was decided by the server.
    let client = Client::connect(
        client_end,
        ClientHello::new("tui", Credentials::Token("forged".into())),
        1 << 20,
    )
    .await
    .unwrap();
    assert_eq!(
        client
            .welcome()
            .identity
            .as_ref()
            .and_then(|i| i.user.as_ref())
            .map(|u| u.id),
        Some(alice.id)
    );
    match client.request(Request::Whoami).await.unwrap() {
        ResponseBody::Whoami(identity) => assert_eq!(identity.actor, Actor::User(alice.id)),
        other => panic!("{other:?}"),
    }
    let project = client
        .request(Request::CreateProject {
            key: "MEM".into(),
            name: "Mem".into(),
            description: String::new(),
        })
        .await
        .unwrap();
    let ResponseBody::Project(project) = project else {
        panic!()
    };
    assert_eq!(
        project.role_of(alice.id),
        Some(ProjectRole::Owner),
        "the creator owns the project"
    );
    let denied = client
        .request(Request::CreateUser {
            handle: "eve".into(),
            display_name: "Eve".into(),
            email: None,
            role: ServerRole::Admin,
        })
        .await;
    assert!(
        matches!(denied, Err(ClientError::Api(ApiError::Forbidden { .. }))),
        "{denied:?}"
    );
}
