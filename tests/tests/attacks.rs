//! What an attacker with an SSH key or an API token tried against a real `tack serve`, each as a
//! regression test: server files over `ssh host …`, the server's own stdin, a flood of
//! connections without a token, streams that outlive a revocation, secrets in activity, other
//! people's emails, and authorship forged through an import.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tack_protocol::{
    Actor, ApiError, Client, ClientError, Credentials, ImportComment, ImportIssue, Priority,
    Request, ResponseBody,
};
use tack_tests::{TestServer, ssh, stderr, stdout};

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");

/// alice owns TACK (one issue) and logs in with `key`.
async fn alice(config: &str) -> (TestServer, russh::keys::PrivateKey) {
    let server = TestServer::start_with_config(BIN, config);
    let key = ssh::new_key();
    server.ok(&["user", "create", "alice", "--email", "alice@example.com"]);
    server.ok(&["key", "add", &ssh::authorized_line(&key), "--user", "alice"]);
    server.ok(&["project", "create", "TACK", "Tack"]);
    server.ok(&["project", "member", "TACK", "alice", "owner"]);
    server.ok(&["issue", "create", "TACK", "First"]);
    (server, key)
}

/// `ssh host COMMAND`: a connection of its own, as OpenSSH makes one.
async fn run(
    server: &TestServer,
    key: &russh::keys::PrivateKey,
    command: &str,
) -> (u32, String, String) {
    ssh::exec(&signed_in(server, key).await, command).await
}

async fn run_with_stdin(
    server: &TestServer,
    key: &russh::keys::PrivateKey,
    command: &str,
    stdin: &[u8],
) -> (u32, String, String) {
    ssh::exec_with_stdin(&signed_in(server, key).await, command, stdin).await
}

async fn signed_in(
    server: &TestServer,
    key: &russh::keys::PrivateKey,
) -> russh::client::Handle<ssh::AcceptAnyHostKey> {
    let mut handle = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut handle, key).await);
    handle
}

fn key_count(server: &TestServer, handle: &str) -> usize {
    let keys: serde_json::Value =
        serde_json::from_str(&server.ok(&["key", "list", "--user", handle, "--json"])).unwrap();
    keys.as_array().unwrap().len()
}

#[tokio::test]
async fn over_ssh_no_argument_reads_or_writes_a_server_file() {
    let (server, key) = alice("").await;
    let host_key = server.data.join("host_ed25519.pub");
    std::fs::write(&host_key, ssh::authorized_line(&ssh::new_key())).unwrap();

    let (status, _, readable) = run(
        &server,
        &key,
        &format!("key add --file {}", host_key.display()),
    )
    .await;
    assert_eq!(status, 2, "{readable}");
    assert!(readable.contains("over ssh"), "{readable}");
    let (_, _, missing) = run(&server, &key, "key add --file /no/such/file").await;
    assert_eq!(
        readable.replace(&host_key.display().to_string(), "PATH"),
        missing.replace("/no/such/file", "PATH"),
        "an existing and a missing file must answer alike"
    );
    // A device that never ends is not read either: the answer comes at once.
    let (status, _, err) = run(&server, &key, "key add --file /dev/zero").await;
    assert_eq!(status, 2, "{err}");
    assert_eq!(key_count(&server, "alice"), 1, "no key was bound");

    let out_file = server.data.join("stolen.json");
    let (status, _, err) = run(
        &server,
        &key,
        &format!("export --out {}", out_file.display()),
    )
    .await;
    assert_ne!(status, 0, "{err}");
    assert!(!out_file.exists(), "export wrote a file on the server");
    let (status, _, err) = run(&server, &key, "import json /etc/passwd").await;
    assert_ne!(status, 0);
    assert!(err.contains("over ssh"), "{err}");

    // What a person means by it works: the key piped in on the channel.
    let second = ssh::authorized_line(&ssh::new_key());
    let (status, out, err) = run_with_stdin(&server, &key, "key add -", second.as_bytes()).await;
    assert_eq!(status, 0, "{out}{err}");
    assert!(out.contains("waits for its first login"), "{out}");
}

#[tokio::test]
async fn a_dash_reads_the_exec_channel_never_the_servers_stdin() {
    let (server, key) = alice("").await;
    let (status, _, err) = run_with_stdin(
        &server,
        &key,
        "comment add TACK-1 -",
        b"fix: resize handler\n\nfrom git log",
    )
    .await;
    assert_eq!(status, 0, "{err}");
    let comments = server.ok(&["comment", "list", "TACK-1", "--json"]);
    assert!(comments.contains("fix: resize handler"), "{comments}");

    // Three commands waiting for their input hold nothing but their own channels.
    let mut waiting = Vec::new();
    for n in 0..3 {
        let handle = signed_in(&server, &key).await;
        let channel = ssh::start_exec(&handle, "comment add TACK-1 -").await;
        channel
            .data(format!("waiting {n} ").as_bytes())
            .await
            .unwrap();
        waiting.push((handle, channel));
    }
    let (status, out, err) = run(&server, &key, "whoami").await;
    assert_eq!(status, 0, "the server answers others meanwhile: {err}");
    assert!(out.contains("@alice"), "{out}");
    for (n, (_handle, channel)) in waiting.into_iter().enumerate() {
        channel.data(&b"done"[..]).await.unwrap();
        channel.eof().await.unwrap();
        let (status, _, err) = ssh::exec_output(channel).await;
        assert_eq!(status, 0, "command {n}: {err}");
    }
    let comments = server.ok(&["comment", "list", "TACK-1", "--json"]);
    for n in 0..3 {
        assert!(
            comments.contains(&format!("waiting {n} done")),
            "{comments}"
        );
    }

    // Input beyond the bound is refused, and nothing is written.
    let huge = vec![b'x'; 2 * 1024 * 1024];
    let (status, _, err) = run_with_stdin(&server, &key, "comment add TACK-1 -", &huge).await;
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("larger than 1 MiB"), "{err}");
    let comments: serde_json::Value =
        serde_json::from_str(&server.ok(&["comment", "list", "TACK-1", "--json"])).unwrap();
    assert_eq!(comments.as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn connections_without_a_token_cannot_lock_out_bots_ssh_or_the_console() {
    let (server, key) = alice(
        "[limits]\nmax_connections = 32\nmax_anonymous = 8\nmax_anonymous_per_source = 4\nanonymous_idle_secs = 3\n",
    )
    .await;
    let token = server.token_for("alice");
    // Far more strangers than there are slots, all from one address, all finishing the
    // handshake and then saying nothing.
    let mut strangers = Vec::new();
    for _ in 0..100 {
        if let Ok(client) = Client::connect_tcp(&server.api, Credentials::None).await {
            strangers.push(client);
        }
    }
    let bot = server.with_token(&token).await;
    assert!(matches!(
        bot.request(Request::Whoami).await,
        Ok(ResponseBody::Whoami(_))
    ));
    let sessions = server.ctl(&["session", "list"]);
    assert!(sessions.status.success(), "{}", stderr(&sessions));
    let (status, out, _) = run(&server, &key, "whoami").await;
    assert_eq!(status, 0);
    assert!(out.contains("@alice"));
    // Signed-in clients take all but one slot; the strangers made room for them.
    let mut bots = Vec::new();
    for _ in 0..30 {
        bots.push(server.with_token(&token).await);
    }
    for bot in &bots {
        assert!(bot.request(Request::Whoami).await.is_ok());
    }

    // A stranger that idles is closed.
    let idle = Client::connect_tcp(&server.api, Credentials::None)
        .await
        .unwrap();
    let mut events = idle.take_events().unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), events.recv()).await;
    assert!(
        matches!(closed, Ok(None)),
        "an idle connection without a token stays open: {closed:?}"
    );
}

#[tokio::test]
async fn revoking_a_token_or_disabling_its_user_ends_its_streams_at_once() {
    let (server, _) = alice("").await;
    server.ok(&["user", "create", "bob"]);
    server.ok(&["project", "member", "TACK", "bob", "member"]);
    for (who, revoke) in [("alice", "token"), ("bob", "user")] {
        let token = server.token_for(who);
        let watcher = server.with_token(&token).await;
        let mut events = watcher.take_events().unwrap();
        watcher
            .request(Request::Subscribe {
                project: None,
                after_seq: None,
                query: None,
            })
            .await
            .unwrap();
        server.ok(&["issue", "create", "TACK", &format!("before {who}")]);
        let seen = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .unwrap();
        assert!(seen.is_some(), "the stream works before the revocation");
        match revoke {
            "token" => {
                let id = token.split('_').nth(1).unwrap();
                server.ok(&["token", "revoke", id]);
            }
            _ => {
                server.ok(&["user", "disable", who]);
            }
        }
        server.ok(&["issue", "create", "TACK", &format!("after {who}")]);
        let ended = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(event) = events.recv().await {
                assert!(
                    !format!("{event:?}").contains(&format!("after {who}")),
                    "an event reached a revoked stream"
                );
            }
        })
        .await;
        assert!(ended.is_ok(), "the stream of {who} outlived its {revoke}");
        assert!(matches!(
            watcher.request(Request::Whoami).await,
            Err(ClientError::Closed | ClientError::Api(ApiError::Unauthenticated { .. })) | Err(_)
        ));
    }
}

#[tokio::test]
async fn a_webhook_url_never_reaches_project_activity() {
    let (server, _) = alice("[webhooks]\nallow_private_targets = true\n").await;
    server.ok(&["user", "create", "victor"]);
    server.ok(&["project", "member", "TACK", "victor", "viewer"]);
    server.ok(&[
        "webhook",
        "create",
        "TACK",
        "--url",
        "http://127.0.0.1:9/hook?slack_token=xoxb-SECRET-42",
        "--secret",
        "shared-secret-1",
    ]);
    let list = server.ok(&["webhook", "list", "TACK", "--json"]);
    let id = serde_json::from_str::<serde_json::Value>(&list).unwrap()[0]["hook"]["id"]
        .as_u64()
        .unwrap();
    server.ok(&["webhook", "delete", &id.to_string()]);
    let victor = server.token_for("victor");
    let out = server.ctl_token(&victor, &["activity", "project", "TACK", "--json"]);
    let activity = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(activity.contains("webhook"), "{activity}");
    assert!(!activity.contains("SECRET"), "{activity}");
    assert!(!activity.contains("127.0.0.1:9"), "{activity}");
    let refused = server.ctl_token(&victor, &["webhook", "list", "TACK"]);
    assert_eq!(refused.status.code(), Some(1));
}

#[tokio::test]
async fn people_see_only_who_they_share_a_project_with_and_only_their_own_email() {
    let (server, _) = alice("").await;
    server.ok(&["user", "create", "bob", "--email", "bob@example.com"]);
    server.ok(&["user", "create", "carol", "--email", "carol@example.com"]);
    server.ok(&["project", "member", "TACK", "bob", "member"]);
    let alice = server.token_for("alice");
    let out = server.ctl_token(&alice, &["user", "list", "--json"]);
    let users: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let handles: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["handle"].as_str().unwrap())
        .collect();
    assert_eq!(handles, ["alice", "bob"]);
    let listed = stdout(&out);
    assert!(listed.contains("alice@example.com"), "{listed}");
    assert!(!listed.contains("bob@example.com"), "{listed}");

    let export = server.ctl_token(&alice, &["export"]);
    let export = stdout(&export);
    assert!(!export.contains("carol"), "{export}");
    assert!(!export.contains("bob@example.com"), "{export}");

    let all = server.ok(&["user", "list", "--json"]);
    assert!(all.contains("carol@example.com") && all.contains("bob@example.com"));
}

async fn user_id(console: &Client, handle: &str) -> u64 {
    match console.request(Request::ListUsers).await {
        Ok(ResponseBody::Users(users)) => users.iter().find(|u| u.handle == handle).unwrap().id,
        other => panic!("{other:?}"),
    }
}

fn forged(source: &str) -> ImportIssue {
    ImportIssue {
        source: source.into(),
        number: None,
        title: "Written by the CEO".into(),
        description: "Please wire the money.".into(),
        state: None,
        closed: false,
        priority: Priority::Urgent,
        assignees: vec![],
        labels: vec![],
        estimate: None,
        due: None,
        rank: None,
        creator: Some("ceo".into()),
        created_at: Some(1_000_000_000_000),
        updated_at: None,
        closed_at: None,
        comments: vec![ImportComment {
            author: Some("ceo".into()),
            body: "Approved.".into(),
            created_at: 1_000_000_000_000,
            edited_at: None,
        }],
    }
}

#[tokio::test]
async fn an_import_by_a_plain_user_is_credited_to_them() {
    let (server, _) = alice("").await;
    server.ok(&["user", "create", "ceo", "--name", "The CEO"]);
    let console = server.console().await;
    let (ceo, alice_id) = (
        user_id(&console, "ceo").await,
        user_id(&console, "alice").await,
    );
    let alice = server.with_token(&server.token_for("alice")).await;
    alice
        .request(Request::ImportIssues {
            project: "TACK".into(),
            issues: vec![forged("csv:1")],
            placeholders: false,
        })
        .await
        .unwrap();
    let issue = match alice
        .request(Request::GetIssue {
            key: "TACK-2".into(),
        })
        .await
        .unwrap()
    {
        ResponseBody::Issue(issue) => issue,
        other => panic!("{other:?}"),
    };
    assert_eq!(issue.creator, Actor::User(alice_id));
    assert!(
        issue.description.contains("originally created by ceo"),
        "{}",
        issue.description
    );
    let comments = server.ok(&["comment", "list", "TACK-2", "--json"]);
    let comments: serde_json::Value = serde_json::from_str(&comments).unwrap();
    assert_eq!(comments[0]["author"]["user"], alice_id);
    assert!(
        comments[0]["body"]
            .as_str()
            .unwrap()
            .contains("originally written by ceo")
    );
    let audit = server.ok(&["activity", "issue", "TACK-2", "--json"]);
    assert!(audit.contains("credited to the importer"), "{audit}");

    // A server admin's import keeps who wrote what.
    console
        .request(Request::ImportIssues {
            project: "TACK".into(),
            issues: vec![forged("csv:2")],
            placeholders: false,
        })
        .await
        .unwrap();
    let kept = match console
        .request(Request::GetIssue {
            key: "TACK-3".into(),
        })
        .await
        .unwrap()
    {
        ResponseBody::Issue(issue) => issue,
        other => panic!("{other:?}"),
    };
    assert_eq!(kept.creator, Actor::User(ceo));
}

#[tokio::test]
async fn a_pasted_key_logs_nobody_in_until_the_code_its_adder_saw_is_entered() {
    let server = TestServer::start(BIN);
    server.ok(&["user", "create", "mallory"]);
    server.ok(&["user", "create", "bob"]);
    let mallory = server.token_for("mallory");
    let bob_key = ssh::new_key();
    // Mallory pastes bob's public key into her own profile.
    let out = server.ctl_token(&mallory, &["key", "add", &ssh::authorized_line(&bob_key)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("waits for its first login"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        key_count(&server, "mallory"),
        0,
        "a pasted key is not hers yet"
    );
    // Bob's first login does not land in mallory's account.
    let mut handle = ssh::connect(&server.ssh).await;
    assert!(!ssh::login_answering(&mut handle, &bob_key, "Code", "AAAA-BBBB").await);
    // Bob gets his key from an admin: mallory's claim is gone with that.
    server.ok(&[
        "key",
        "add",
        &ssh::authorized_line(&bob_key),
        "--user",
        "bob",
    ]);
    let mut handle = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut handle, &bob_key).await);
    let (_, out, _) = ssh::exec(&handle, "whoami").await;
    assert!(out.contains("@bob"), "{out}");

    // Mallory's own new key: its first login asks for the code she was shown, then it is hers.
    let own = ssh::new_key();
    let out = server.ctl_token(
        &mallory,
        &["key", "add", &ssh::authorized_line(&own), "--json"],
    );
    let answer: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let code = answer["code"].as_str().unwrap().to_string();
    let mut wrong = ssh::connect(&server.ssh).await;
    assert!(!ssh::login_answering(&mut wrong, &own, "Code", "ZZZZ-ZZZZ").await);
    let mut first = ssh::connect(&server.ssh).await;
    assert!(ssh::login_answering(&mut first, &own, "Code", &code.to_lowercase()).await);
    let (_, out, _) = ssh::exec(&first, "whoami").await;
    assert!(out.contains("@mallory"), "{out}");
    let mut again = ssh::connect(&server.ssh).await;
    assert!(
        ssh::login(&mut again, &own).await,
        "once confirmed, the key alone logs in"
    );
    assert_eq!(key_count(&server, "mallory"), 1);
}
