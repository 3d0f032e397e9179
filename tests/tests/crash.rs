//! Crash safety: concurrent creates against a real server, SIGKILLed at random moments, 20
//! times. Every acknowledged issue must be there intact afterwards, and no index entry may
//! point at nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tack_data::{SledStore, Store, StoreConfig};
use tack_protocol::{Client, NewIssue, Priority, Request, ResponseBody};
use tack_tests::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");
const ROUNDS: usize = 20;
const WRITERS: usize = 8;

fn create(title: String) -> Request {
    Request::CreateIssue(NewIssue {
        project: "CRASH".into(),
        title,
        description: "body ".repeat(20),
        state: None,
        priority: Priority::Medium,
        assignees: vec![],
        labels: vec!["crash".into()],
        estimate: Some(3),
        due: None,
        parent: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let mut server = TestServer::start(BIN);
    server
        .console()
        .await
        .request(Request::CreateProject {
            key: "CRASH".into(),
            name: "Crash".into(),
            description: String::new(),
        })
        .await
        .unwrap();
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(Vec::new()));
    for round in 0..ROUNDS {
        let mut writers = Vec::new();
        for writer in 0..WRITERS {
            let socket = server.socket.clone();
            let acked = acked.clone();
            writers.push(tokio::spawn(async move {
                let Ok(client) = Client::connect_unix(&socket).await else {
                    return;
                };
                for n in 0.. {
                    let title = format!("round {round} writer {writer} issue {n}");
                    match client.request(create(title.clone())).await {
                        Ok(ResponseBody::Issue(issue)) => {
                            acked.lock().unwrap().push((issue.key, title))
                        }
                        _ => return,
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(rand::random_range(30..250))).await;
        server.kill9();
        for writer in writers {
            writer.await.unwrap();
        }

        // Open the store the killed server left behind and check every index against the records.
        let path = server.data.join("store");
        let report = tokio::task::spawn_blocking(move || {
            let store = SledStore::open(&StoreConfig::new(path)).unwrap();
            let report = store.verify().unwrap();
            store.shutdown();
            report
        })
        .await
        .unwrap();
        assert!(report.is_clean(), "round {round}: {:?}", report.problems);

        server.restart();
        let console = server.console().await;
        let expected = acked.lock().unwrap().clone();
        assert!(
            report.issues as usize >= expected.len(),
            "round {round}: {} stored < {} acknowledged",
            report.issues,
            expected.len()
        );
        for (key, title) in &expected {
            match console
                .request(Request::GetIssue { key: key.clone() })
                .await
            {
                Ok(ResponseBody::Issue(issue)) => {
                    assert_eq!(
                        &issue.title, title,
                        "round {round}: {key} came back changed"
                    );
                    assert_eq!(issue.labels, ["crash"]);
                }
                other => panic!("round {round}: acknowledged {key} is gone: {other:?}"),
            }
        }
    }
    let total = acked.lock().unwrap().len();
    assert!(
        total > ROUNDS,
        "the test made too few writes to mean anything ({total})"
    );
    eprintln!("{total} acknowledged creates survived {ROUNDS} SIGKILLs");
}
