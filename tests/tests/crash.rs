//! Crash safety: writers create, update, comment on and delete issues against a real server —
//! over the socket and over SSH — and the server is SIGKILLed at a random moment, round after
//! round. Every round must have acknowledged writes; afterwards every acknowledged write must be
//! there with every field as written (or as the one write in flight at the kill left it), and
//! no index entry may point at nothing. Each round prints its seed; `CRASH_SEED=N` replays one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{RngExt, SeedableRng};
use tack_data_sled::{SledEngine, StoreConfig};
use tack_protocol::{
    ApiError, Client, ClientError, IssuePatch, NewIssue, Priority, Request, ResponseBody,
};
use tack_tests::{TestServer, ssh};

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");
const ROUNDS: usize = 12;
const SOCKET_WRITERS: usize = 6;

/// What an issue must look like, as far as the writes acknowledged so far say.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    title: String,
    description: String,
    priority: Priority,
    labels: Vec<String>,
    estimate: Option<u32>,
    comments: Vec<String>,
    deleted: bool,
}

/// Per issue: its acknowledged state, and the state the write in flight (if any) would give it.
#[derive(Default)]
struct Ledger {
    issues: BTreeMap<String, (Expected, Option<Expected>)>,
    acked_this_round: usize,
}

type Shared = Arc<Mutex<Ledger>>;

fn note_in_flight(ledger: &Shared, key: &str, next: &Expected) {
    let mut ledger = ledger.lock().unwrap();
    if let Some(entry) = ledger.issues.get_mut(key) {
        entry.1 = Some(next.clone());
    }
}

fn note_acked(ledger: &Shared, key: &str, now: Expected) {
    let mut ledger = ledger.lock().unwrap();
    ledger.issues.insert(key.to_string(), (now, None));
    ledger.acked_this_round += 1;
}

/// One writer over the socket: create, update every field, comment, and delete every third.
async fn socket_writer(client: Client, ledger: Shared, round: usize, writer: usize) {
    for n in 0.. {
        let mut expected = Expected {
            title: format!("round {round} writer {writer} issue {n}"),
            description: format!("written by {writer} in round {round}"),
            priority: Priority::Medium,
            labels: vec!["crash".into()],
            estimate: Some(3),
            comments: vec![],
            deleted: false,
        };
        let created = client
            .request(Request::CreateIssue(NewIssue {
                project: "CRASH".into(),
                title: expected.title.clone(),
                description: expected.description.clone(),
                state: None,
                priority: expected.priority,
                assignees: vec![],
                labels: expected.labels.clone(),
                estimate: expected.estimate,
                due: None,
                parent: None,
            }))
            .await;
        let issue = match created {
            Ok(ResponseBody::Issue(issue)) => issue,
            _ => return,
        };
        let key = issue.key.clone();
        note_acked(&ledger, &key, expected.clone());

        let mut updated = expected.clone();
        updated.title = format!("{} (edited)", expected.title);
        updated.priority = Priority::Urgent;
        updated.labels = vec!["crash".into(), "edited".into()];
        updated.estimate = Some(8);
        note_in_flight(&ledger, &key, &updated);
        let result = client
            .request(Request::UpdateIssue {
                key: key.clone(),
                version: issue.version,
                patch: IssuePatch {
                    title: Some(updated.title.clone()),
                    priority: Some(updated.priority),
                    labels: Some(updated.labels.clone()),
                    estimate: Some(updated.estimate),
                    ..Default::default()
                },
            })
            .await;
        if result.is_err() {
            return;
        }
        expected = updated;
        note_acked(&ledger, &key, expected.clone());

        let mut commented = expected.clone();
        commented.comments.push(format!("comment on {key}"));
        note_in_flight(&ledger, &key, &commented);
        let result = client
            .request(Request::AddComment {
                issue: key.clone(),
                body: format!("comment on {key}"),
            })
            .await;
        if result.is_err() {
            return;
        }
        expected = commented;
        note_acked(&ledger, &key, expected.clone());

        if n % 3 == 2 {
            let mut deleted = expected.clone();
            deleted.deleted = true;
            note_in_flight(&ledger, &key, &deleted);
            if client
                .request(Request::DeleteIssue { key: key.clone() })
                .await
                .is_err()
            {
                return;
            }
            note_acked(&ledger, &key, deleted);
        }
    }
}

/// `ssh host COMMAND` that gives up quietly when the server is gone: (exit status, stdout).
async fn ssh_command(
    addr: &str,
    key: &russh::keys::PrivateKey,
    command: &str,
) -> Option<(u32, String)> {
    let config = Arc::new(russh::client::Config::default());
    let mut handle = russh::client::connect(config, addr, ssh::AcceptAnyHostKey)
        .await
        .ok()?;
    let signed = russh::keys::PrivateKeyWithHashAlg::new(Arc::new(key.clone()), None);
    if !handle
        .authenticate_publickey("tack", signed)
        .await
        .ok()?
        .success()
    {
        return None;
    }
    let mut channel = handle.channel_open_session().await.ok()?;
    channel.exec(true, command).await.ok()?;
    let (mut status, mut out) = (None, Vec::new());
    while let Some(message) = channel.wait().await {
        match message {
            russh::ChannelMsg::Data { data } => out.extend_from_slice(&data),
            russh::ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
            _ => {}
        }
    }
    Some((status?, String::from_utf8_lossy(&out).into_owned()))
}

/// One writer over SSH, as a script runs `ssh host issue create …`: a connection per command.
async fn ssh_writer(addr: String, key: russh::keys::PrivateKey, ledger: Shared, round: usize) {
    for n in 0.. {
        let title = format!("round {round} over ssh {n}");
        let command = format!("issue create CRASH '{title}' --priority high --label ssh --json");
        let Some((0, out)) = ssh_command(&addr, &key, &command).await else {
            return;
        };
        let Ok(issue) = serde_json::from_str::<serde_json::Value>(&out) else {
            return;
        };
        let Some(issue_key) = issue["key"].as_str() else {
            return;
        };
        note_acked(
            &ledger,
            issue_key,
            Expected {
                title,
                description: String::new(),
                priority: Priority::High,
                labels: vec!["ssh".into()],
                estimate: None,
                comments: vec![],
                deleted: false,
            },
        );
    }
}

async fn state_of(console: &Client, key: &str) -> Option<Expected> {
    match console.request(Request::GetIssue { key: key.into() }).await {
        Ok(ResponseBody::Issue(issue)) => {
            let comments = match console
                .request(Request::ListComments { issue: key.into() })
                .await
                .unwrap()
            {
                ResponseBody::Comments(comments) => comments.into_iter().map(|c| c.body).collect(),
                other => panic!("{other:?}"),
            };
            Some(Expected {
                title: issue.title,
                description: issue.description,
                priority: issue.priority,
                labels: issue.labels,
                estimate: issue.estimate,
                comments,
                deleted: false,
            })
        }
        Err(ClientError::Api(ApiError::NotFound { .. })) => None,
        other => panic!("{key}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let mut server = TestServer::start(BIN);
    server.ok(&["user", "create", "scripter"]);
    server.ok(&["project", "create", "CRASH", "Crash"]);
    server.ok(&["project", "member", "CRASH", "scripter", "member"]);
    let key = ssh::new_key();
    server.ok(&[
        "key",
        "add",
        &ssh::authorized_line(&key),
        "--user",
        "scripter",
    ]);
    let ledger: Shared = Arc::new(Mutex::new(Ledger::default()));
    let fixed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok());
    let mut total = 0;
    for round in 0..ROUNDS {
        let seed: u64 = fixed.unwrap_or_else(rand::random);
        eprintln!("crash round {round}: seed {seed} (CRASH_SEED={seed} replays it)");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        ledger.lock().unwrap().acked_this_round = 0;
        let mut writers = Vec::new();
        for writer in 0..SOCKET_WRITERS {
            let client = Client::connect_unix(&server.socket).await.unwrap();
            writers.push(tokio::spawn(socket_writer(
                client,
                ledger.clone(),
                round,
                writer,
            )));
        }
        writers.push(tokio::spawn(ssh_writer(
            server.ssh.clone(),
            key.clone(),
            ledger.clone(),
            round,
        )));
        // Kill only once this round has acknowledged writes, at a moment the seed picks.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while ledger.lock().unwrap().acked_this_round < 2 * SOCKET_WRITERS {
            assert!(
                std::time::Instant::now() < deadline,
                "round {round}: no writes were acknowledged"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..200))).await;
        server.kill9();
        for writer in writers {
            writer.await.unwrap();
        }
        let acked = ledger.lock().unwrap().acked_this_round;
        total += acked;

        // The store the killed server left behind: every index entry points at a record.
        let path = server.data.join("store");
        let report = tokio::task::spawn_blocking(move || {
            let store = SledEngine::open(&StoreConfig::new(path)).unwrap();
            let report = store.verify().unwrap();
            store.shutdown();
            report
        })
        .await
        .unwrap();
        assert!(
            report.is_clean(),
            "round {round} (seed {seed}): {:?}",
            report.problems
        );

        server.restart();
        let console = server.console().await;
        let issues: Vec<(String, (Expected, Option<Expected>))> = ledger
            .lock()
            .unwrap()
            .issues
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (key, (acked_state, in_flight)) in issues {
            let found = state_of(&console, &key).await;
            let matches = |expected: &Expected| match &found {
                None => expected.deleted,
                Some(found) => !expected.deleted && found == expected,
            };
            assert!(
                matches(&acked_state) || in_flight.as_ref().is_some_and(matches),
                "round {round} (seed {seed}): {key} is {found:?}, acknowledged as {acked_state:?} (in flight: {in_flight:?})"
            );
            // What the server shows now is what later rounds build on.
            let now = match found {
                None => Expected {
                    deleted: true,
                    ..acked_state
                },
                Some(found) => found,
            };
            ledger.lock().unwrap().issues.insert(key, (now, None));
        }
    }
    eprintln!("{total} acknowledged writes survived {ROUNDS} SIGKILLs");
}
