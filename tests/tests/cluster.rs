//! tack as a cluster: three `tack serve` nodes on one PostgreSQL behind a real HAProxy in TCP
//! mode. A stock OpenSSH client lands through the balancer and is seen at its own address; a
//! change made through one node reaches a session on another; revoking a key through one node
//! ends its session on another; a node killed under write load and a PostgreSQL restart under
//! load lose no acknowledged write, and every node goes on without a restart of its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tack_pg_test_cluster::TestCluster;
use tack_protocol::{Request, ResponseBody};
use tack_tests::balancer::Balancer;
use tack_tests::ssh::{self, Terminal};
use tack_tests::{TestServer, create_issue, stderr, wait_until};

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");
const WAIT: Duration = Duration::from_secs(10);

/// The balancer runs on 127.0.0.1; people connect from elsewhere in 127.0.0.0/8.
fn node_config(url: &str) -> String {
    format!(
        "trusted_proxies = [\"127.0.0.1/32\"]\n[store]\nengine = \"postgres\"\nurl = \"{url}\"\n"
    )
}

struct Cluster {
    nodes: Vec<TestServer>,
    balancer: Balancer,
    key: russh::keys::PrivateKey,
    fingerprint: String,
}

/// Three nodes on the database at `url`, alice an owner of TACK with one key.
async fn three_nodes(url: &str) -> Cluster {
    nodes_with(url, 3, "").await
}

/// `count` nodes on the database at `url`, each with `extra` configuration; alice an owner
/// of TACK with one key.
async fn nodes_with(url: &str, count: usize, extra: &str) -> Cluster {
    let config = format!("{}{extra}", node_config(url));
    let nodes: Vec<TestServer> = (0..count)
        .map(|_| TestServer::start_with_config(BIN, &config))
        .collect();
    let key = ssh::new_key();
    let first = &nodes[0];
    first.ok(&["user", "create", "alice", "--name", "Alice"]);
    let added = first.ok(&["key", "add", &ssh::authorized_line(&key), "--user", "alice"]);
    let fingerprint = added
        .split_whitespace()
        .find(|word| word.starts_with("SHA256:"))
        .unwrap_or_else(|| panic!("no fingerprint in {added}"))
        .to_string();
    first.ok(&["project", "create", "TACK", "Tack"]);
    first.ok(&["project", "member", "TACK", "alice", "owner"]);
    let ssh_nodes: Vec<&str> = nodes.iter().map(|n| n.ssh.as_str()).collect();
    let api_nodes: Vec<&str> = nodes.iter().map(|n| n.api.as_str()).collect();
    let balancer = Balancer::start(&ssh_nodes, &api_nodes);
    Cluster {
        nodes,
        balancer,
        key,
        fingerprint,
    }
}

/// A session straight to one node, from an address that is not the balancer's.
async fn session_on(node: &TestServer, key: &russh::keys::PrivateKey) -> Terminal {
    let mut handle = ssh::connect_from(&node.ssh, Ipv4Addr::new(127, 0, 0, 8)).await;
    assert!(ssh::login(&mut handle, key).await);
    let term = Terminal::open(&handle, 120, 40).await;
    // The handle lives as long as the session needs it.
    std::mem::forget(handle);
    term
}

async fn peers(node: &TestServer) -> Vec<String> {
    match node.console().await.request(Request::ListSessions).await {
        Ok(ResponseBody::Sessions(sessions)) => sessions.into_iter().map(|s| s.peer).collect(),
        other => panic!("listing sessions answered {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stock_ssh_client_lands_through_the_balancer_and_is_seen_at_its_address() {
    let url = TestCluster::shared().create_database().await;
    let cluster = three_nodes(&url).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let (mut client, dir) = ssh::stock_client_from(
            &cluster.balancer.ssh,
            Some("127.0.0.7"),
            &cluster.key,
            100,
            30,
        );
        client.wait_for("Projects · 1", WAIT);
        clients.push((client, dir));
    }
    // Round-robin: each node has one of them, known by the client's address, not the
    // balancer's; and all three nodes presented the same host key (OpenSSH would have said).
    for node in &cluster.nodes {
        let peers = peers(node).await;
        let ssh: Vec<&String> = peers
            .iter()
            .filter(|p| p.starts_with("127.0.0.7:"))
            .collect();
        assert_eq!(ssh.len(), 1, "sessions on a node: {peers:?}");
        assert!(
            !peers.iter().any(|p| p.starts_with("127.0.0.1:")),
            "{peers:?}"
        );
    }
    let keys: Vec<Vec<u8>> = cluster
        .nodes
        .iter()
        .map(|n| std::fs::read(n.data.join("host_ed25519")).unwrap())
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] == w[1]),
        "one host key for the cluster"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_one_node_reaches_a_session_on_another() {
    let url = TestCluster::shared().create_database().await;
    let cluster = three_nodes(&url).await;
    let mut term = session_on(&cluster.nodes[2], &cluster.key).await;
    term.wait_for("Projects · 1", WAIT).await;
    term.type_text("\t\r").await;
    term.wait_for("Todo · 0", WAIT).await;
    cluster.nodes[0].ok(&["issue", "create", "TACK", "Made through node one"]);
    // Within a second, as the cluster promises.
    term.wait_for("Made through node one", Duration::from_secs(1))
        .await;
    term.wait_for("Todo · 1", WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_key_through_one_node_ends_its_session_on_another() {
    let url = TestCluster::shared().create_database().await;
    let cluster = three_nodes(&url).await;
    let mut term = session_on(&cluster.nodes[2], &cluster.key).await;
    term.wait_for("Projects · 1", WAIT).await;
    cluster.nodes[0].ok(&["key", "remove", &cluster.fingerprint]);
    assert!(
        term.wait_closed(WAIT).await,
        "the session on node three outlived its key"
    );
    // And the key no longer logs in anywhere.
    for node in &cluster.nodes {
        let mut handle = ssh::connect_from(&node.ssh, Ipv4Addr::new(127, 0, 0, 8)).await;
        assert!(!ssh::login(&mut handle, &cluster.key).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_session_cap_holds_across_nodes_and_a_dead_nodes_places_lapse() {
    let url = TestCluster::shared().create_database().await;
    let limits = "[ssh_limits]\nmax_sessions_per_user = 1\nsession_lease_secs = 2\n";
    let mut cluster = nodes_with(&url, 2, limits).await;
    let (from, key) = (Ipv4Addr::new(127, 0, 0, 8), cluster.key.clone());
    let whoami_on = async |node: &TestServer| {
        let mut handle = ssh::connect_from(&node.ssh, from).await;
        assert!(ssh::login(&mut handle, &key).await);
        ssh::exec(&handle, "whoami").await
    };
    // A session on node one takes alice's only place.
    let mut first = ssh::connect_from(&cluster.nodes[0].ssh, from).await;
    assert!(ssh::login(&mut first, &key).await);
    let mut term = Terminal::open(&first, 100, 30).await;
    term.wait_for("Projects · 1", WAIT).await;
    // On node two, a command and a screen are both refused, saying why.
    let (status, _, err) = whoami_on(&cluster.nodes[1]).await;
    assert_eq!(status, 1, "{err}");
    assert!(err.contains("already have 1 tack sessions open"), "{err}");
    let mut second = ssh::connect_from(&cluster.nodes[1].ssh, from).await;
    assert!(ssh::login(&mut second, &key).await);
    let mut refused = Terminal::open(&second, 100, 30).await;
    refused
        .wait_for("already have 1 tack sessions open", WAIT)
        .await;
    assert!(
        refused.wait_closed(WAIT).await,
        "a refused screen stays open"
    );
    // Once the first session ends, its place is free on every node.
    drop(term);
    drop(first);
    let (status, out, err) = whoami_on(&cluster.nodes[1]).await;
    assert_eq!(status, 0, "{err}");
    assert!(out.contains("@alice"), "{out}");

    // A node that dies cannot give its places back; they lapse with its lease.
    let mut held = ssh::connect_from(&cluster.nodes[0].ssh, from).await;
    assert!(ssh::login(&mut held, &key).await);
    let mut term = Terminal::open(&held, 100, 30).await;
    term.wait_for("Projects · 1", WAIT).await;
    // Past its lease, renewed by its node, the place still holds.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (status, _, err) = whoami_on(&cluster.nodes[1]).await;
    assert_eq!(status, 1, "the place is held while node one runs: {err}");
    cluster.nodes[0].kill9();
    let started = Instant::now();
    loop {
        let (status, _, err) = whoami_on(&cluster.nodes[1]).await;
        if status == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "alice's place on the killed node never lapsed: {err}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Writers creating issues through every node's protocol socket until told to stop; what
/// was acknowledged, by key and title.
struct Load {
    acked: Arc<Mutex<Vec<(String, String)>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<usize>>,
}

fn load(nodes: &[&TestServer], per_node: usize) -> Load {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        for w in 0..per_node {
            let socket = node.socket.clone();
            let (acked, stop) = (acked.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut refused = 0;
                let mut k = 0;
                while !stop.load(std::sync::atomic::Ordering::Acquire) {
                    let Ok(client) = tack_protocol::Client::connect_unix(&socket).await else {
                        refused += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    };
                    while !stop.load(std::sync::atomic::Ordering::Acquire) {
                        k += 1;
                        let title = format!("node {n} writer {w} issue {k}");
                        match client.request(create_issue("TACK", &title, "")).await {
                            Ok(ResponseBody::Issue(issue)) => {
                                acked.lock().unwrap().push((issue.key, title))
                            }
                            Ok(other) => panic!("creating an issue answered {other:?}"),
                            Err(_) => {
                                refused += 1;
                                break;
                            }
                        }
                    }
                }
                refused
            }));
        }
    }
    Load { acked, stop, tasks }
}

impl Load {
    async fn acked(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    async fn wait_for_more(&self, more: usize) {
        let target = self.acked().await + more;
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.acked().await < target {
            assert!(
                Instant::now() < deadline,
                "the writers stopped getting answers"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn finish(self) -> Vec<(String, String)> {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        for task in self.tasks {
            task.await.unwrap();
        }
        self.acked.lock().unwrap().clone()
    }
}

/// Every acknowledged issue is in the store, as written, read through `node`.
async fn all_there(node: &TestServer, acked: &[(String, String)]) {
    let console = node.console().await;
    for (key, title) in acked {
        match console
            .request(Request::GetIssue { key: key.clone() })
            .await
        {
            Ok(ResponseBody::Issue(issue)) => assert_eq!(&issue.title, title, "{key}"),
            other => panic!("acknowledged {key} ({title}) is lost: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_under_write_load_loses_no_acknowledged_write() {
    let url = TestCluster::shared().create_database().await;
    let mut cluster = three_nodes(&url).await;
    let writers = load(&cluster.nodes.iter().collect::<Vec<_>>(), 4);
    writers.wait_for_more(200).await;
    cluster.nodes[1].kill9();
    // The others keep serving.
    writers.wait_for_more(200).await;
    let acked = writers.finish().await;
    let numbers: Vec<&String> = acked.iter().map(|(key, _)| key).collect();
    let unique: std::collections::HashSet<&&String> = numbers.iter().collect();
    assert_eq!(
        unique.len(),
        numbers.len(),
        "an issue number was given twice"
    );
    all_there(&cluster.nodes[2], &acked).await;
    // Through the balancer, a client lands on a live node.
    let out = cluster.nodes[0].ctl(&["issue", "list", "TACK", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_restart_under_load_loses_no_acknowledged_write() {
    let database = TestCluster::start();
    let url = database.create_database().await;
    let cluster = three_nodes(&url).await;
    let writers = load(&cluster.nodes.iter().collect::<Vec<_>>(), 3);
    writers.wait_for_more(150).await;
    database.restart();
    database.wait_ready();
    // Every node recovers by itself: writes are acknowledged again through all three.
    writers.wait_for_more(300).await;
    let acked = writers.finish().await;
    for node in &cluster.nodes {
        wait_until("the node is ready again", WAIT, || {
            tack_tests::sinks::http_get(&node.http, "/readyz").0 == 200
        });
        let made = node.ok(&["issue", "create", "TACK", "After the restart"]);
        assert!(made.contains("TACK-"), "{made}");
    }
    all_there(&cluster.nodes[0], &acked).await;
}

/// Which node holds a job's lease: the process id its node name begins with.
async fn lease_holder(url: &str) -> Option<u32> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT lease_node FROM jobs WHERE lease_node IS NOT NULL",
            &[],
        )
        .await
        .unwrap();
    let node: String = rows.first()?.get(0);
    node.split('-').next()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_node_dies_mid_run_is_finished_once_by_another() {
    use tack_tests::sinks::{Answer, HookReceiver};
    let url = TestCluster::shared().create_database().await;
    let config = format!(
        "{}[jobs]\nlease_secs = 2\nretry_base_ms = 100\n[webhooks]\nallow_private_targets = true\ntimeout_secs = 60\n",
        node_config(&url)
    );
    let mut nodes: Vec<TestServer> = (0..3)
        .map(|_| TestServer::start_with_config(BIN, &config))
        .collect();
    let receiver = HookReceiver::start();
    receiver.answer(Answer::Hang);
    nodes[0].ok(&["project", "create", "TACK", "Tack"]);
    nodes[0].ok(&[
        "webhook",
        "create",
        "TACK",
        "--url",
        &receiver.url(),
        "--secret",
        "s3cret-s3cret-s3cret",
        "--events",
        "issue.created",
    ]);
    nodes[0].ok(&["issue", "create", "TACK", "Delivered once"]);
    // One node takes the delivery and hangs in it; that node dies.
    let first = receiver.wait_for(1, WAIT)[0].clone();
    let holder = lease_holder(&url).await.expect("nobody holds the job");
    let dying = nodes
        .iter()
        .position(|n| n.pid() == holder)
        .expect("the lease names no node of this cluster");
    receiver.answer(Answer::Ok);
    nodes[dying].kill9();
    // Once the lease is over another node delivers it, under the same key, and finishes it.
    let got = receiver.wait_for(2, Duration::from_secs(20));
    let key = |r: &tack_tests::sinks::Received| r.headers["x-tack-delivery"].clone();
    assert_eq!(key(&got[1]), key(&first), "a retry is the same delivery");
    let alive = &nodes[(dying + 1) % 3];
    wait_until("the job is finished", WAIT, || {
        alive.ok(&["job", "list"]).contains("(none)")
    });
    // A marker after it: the next delivery arrives, and the first was never sent a third time.
    alive.ok(&["issue", "create", "TACK", "The marker"]);
    let got = receiver.wait_for(3, WAIT);
    let first_key = key(&first);
    assert_eq!(
        got.iter().filter(|r| key(r) == first_key).count(),
        2,
        "sent by the node that died and once more by another: {got:#?}"
    );
    let log: Vec<serde_json::Value> =
        serde_json::from_str(&alive.ok(&["--json", "webhook", "deliveries", "TACK"])).unwrap();
    let answered: Vec<&serde_json::Value> = log
        .iter()
        .filter(|d| d["event"] == "issue.created" && d["status"] == 200)
        .collect();
    assert_eq!(
        answered.len(),
        2,
        "each issue delivered once with success: {log:#?}"
    );
}
