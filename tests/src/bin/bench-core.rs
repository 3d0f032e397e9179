//! Core benchmark: prints figures, asserts nothing.
//!
//!     cargo run --release -p tack-tests --bin bench-core
//!
//! Starts real `tack serve` processes (this binary re-executed as the server) and measures, over
//! TCP with an API token as a bot would: durable creates/s at 1, 16 and 64 clients with group
//! commit and with the flush-per-write baseline; pipelined `issue get`/s on 1 and 16 connections;
//! request latency; and the server's RSS holding 100k issues. Then the same creates on
//! PostgreSQL next to sled, creates with three nodes sharing one database, get latency there, and
//! how long a commit on one node takes to reach a subscriber on another. PostgreSQL runs on a
//! private server this benchmark starts, or on the one `--store postgres://…` names (which must
//! let it create databases).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tack_pg_test_cluster::TestCluster;
use tack_protocol::{Client, Credentials, NewIssue, Priority, Request, ResponseBody};
use tack_tests::{TestServer, rss_bytes};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONFIG: &str = "[limits]\nrequests_per_second = 100000000\nrequest_burst = 100000000\nmax_in_flight_per_connection = 1024\nmax_connections = 4096\n";

fn create(n: usize) -> Request {
    Request::CreateIssue(NewIssue {
        project: "BENCH".into(),
        title: format!("Benchmark issue number {n} with a title of typical length"),
        description: "A description that is a couple of sentences long, as most are. ".repeat(2),
        state: None,
        priority: Priority::Medium,
        assignees: vec!["bench".into()],
        labels: vec!["bench".into()],
        estimate: Some(2),
        due: None,
        parent: None,
    })
}

async fn prepare(server: &TestServer) -> String {
    let token = server.user_with_token("bench", false).await;
    let console = server.console().await;
    console
        .request(Request::CreateProject {
            key: "BENCH".into(),
            name: "Bench".into(),
            description: String::new(),
        })
        .await
        .unwrap();
    console
        .request(Request::SetMember {
            project: "BENCH".into(),
            handle: "bench".into(),
            role: tack_protocol::ProjectRole::Member,
        })
        .await
        .unwrap();
    token
}

async fn connect(server: &TestServer, token: &str) -> Client {
    Client::connect_tcp(&server.api, Credentials::Token(token.into()))
        .await
        .unwrap()
}

/// `clients` connections each creating issues one after another; returns creates per second.
async fn creates(server: &TestServer, token: &str, clients: usize, total: usize) -> f64 {
    creates_on(&[server], token, clients, total).await
}

/// As [`creates`], the clients spread over `servers` in turn.
async fn creates_on(servers: &[&TestServer], token: &str, clients: usize, total: usize) -> f64 {
    let mut conns = Vec::new();
    for c in 0..clients {
        conns.push(Arc::new(connect(servers[c % servers.len()], token).await));
    }
    let per_client = total / clients;
    let started = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(c, client)| {
            tokio::spawn(async move {
                for n in 0..per_client {
                    client.request(create(c * per_client + n)).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    (per_client * clients) as f64 / started.elapsed().as_secs_f64()
}

/// Pipelined gets: each connection keeps `window` requests in flight.
async fn pipelined_gets(
    server: &TestServer,
    token: &str,
    connections: usize,
    total: usize,
    keys: Arc<Vec<String>>,
) -> f64 {
    let mut conns = Vec::new();
    for _ in 0..connections {
        conns.push(Arc::new(connect(server, token).await));
    }
    let per_conn = total / connections;
    let started = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(c, client)| {
            let keys = keys.clone();
            tokio::spawn(async move {
                futures::stream::iter(0..per_conn)
                    .map(|n| {
                        let client = client.clone();
                        let key = keys[(c * 7919 + n * 104_729) % keys.len()].clone();
                        async move { client.request(Request::GetIssue { key }).await.unwrap() }
                    })
                    .buffer_unordered(256)
                    .for_each(|_| async {})
                    .await;
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    (per_conn * connections) as f64 / started.elapsed().as_secs_f64()
}

/// Latency of one request at a time on each of `connections`; returns (p50, p99).
async fn latency(
    server: &TestServer,
    token: &str,
    connections: usize,
    per_conn: usize,
    keys: Arc<Vec<String>>,
) -> (Duration, Duration) {
    let mut conns = Vec::new();
    for _ in 0..connections {
        conns.push(Arc::new(connect(server, token).await));
    }
    let tasks: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(c, client)| {
            let keys = keys.clone();
            tokio::spawn(async move {
                let mut samples = Vec::with_capacity(per_conn);
                for n in 0..per_conn {
                    let key = keys[(c * 31 + n * 7) % keys.len()].clone();
                    let started = Instant::now();
                    client.request(Request::GetIssue { key }).await.unwrap();
                    samples.push(started.elapsed());
                }
                samples
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort();
    (all[all.len() / 2], all[all.len() * 99 / 100])
}

/// Keys of the issues created so far (numbers are dense: every create is acknowledged).
async fn all_keys(server: &TestServer, token: &str) -> Arc<Vec<String>> {
    let client = connect(server, token).await;
    let count = match client
        .request(Request::GetProject {
            key: "BENCH".into(),
        })
        .await
        .unwrap()
    {
        ResponseBody::Project(project) => project.next_issue_number - 1,
        other => panic!("{other:?}"),
    };
    Arc::new((1..=count).map(|n| format!("BENCH-{n}")).collect())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

async fn bench() {
    let me = std::env::current_exe().unwrap();
    let bin = me.to_str().unwrap();
    println!(
        "tack core benchmark ({} cores)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    println!("\n== durable creates (acknowledged after flush) ==");
    // BENCH_CACHE_MB sets sled's cache, to see how memory follows it.
    let store = std::env::var("BENCH_CACHE_MB")
        .map(|mb| format!("[store]\ncache_capacity_mb = {mb}\n"))
        .unwrap_or_default();
    let grouped = TestServer::start_with_config(bin, &format!("{CONFIG}{store}"));
    let token = prepare(&grouped).await;
    let baseline =
        TestServer::start_with_config(bin, &format!("{CONFIG}[store]\ngroup_commit = false\n"));
    let baseline_token = prepare(&baseline).await;
    let mut at_64 = (0.0, 0.0);
    let mut sled_creates = Vec::new();
    for (clients, total) in [(1, 1_000), (16, 8_000), (64, 19_200)] {
        let group = creates(&grouped, &token, clients, total).await;
        sled_creates.push((clients, group));
        let single = creates(&baseline, &baseline_token, clients, total / 4).await;
        println!(
            "{clients:>3} clients: group commit {group:>9.0}/s   flush-per-write baseline {single:>8.0}/s   ({:.1}x)",
            group / single
        );
        if clients == 64 {
            at_64 = (group, single);
        }
    }
    drop(baseline);
    // The mark of the last durable event costs one 16-byte write per flush: measured beside
    // a server without it, alternating seven runs each so both see the same machine (medians).
    // Two fresh servers, so neither carries the other runs' issues.
    let marked = TestServer::start_with_config(bin, CONFIG);
    let marked_token = prepare(&marked).await;
    let unmarked =
        TestServer::start_with_config(bin, &format!("{CONFIG}[store]\ndurable_mark = false\n"));
    let unmarked_token = prepare(&unmarked).await;
    for clients in [16, 64] {
        let (mut with, mut without) = (Vec::new(), Vec::new());
        for _ in 0..7 {
            with.push(creates(&marked, &marked_token, clients, 6_400).await);
            without.push(creates(&unmarked, &unmarked_token, clients, 6_400).await);
        }
        with.sort_by(f64::total_cmp);
        without.sort_by(f64::total_cmp);
        let (with, without) = (with[3], without[3]);
        println!(
            "{clients:>3} clients: with the durable mark {with:>9.0}/s   without {without:>9.0}/s   ({:+.1} %)",
            (with / without - 1.0) * 100.0
        );
    }
    drop((marked, unmarked));
    println!(
        "server RSS after the create runs: {:.0} MiB",
        mib(rss_bytes(grouped.pid()).unwrap_or(0))
    );

    println!("\n== reads: issue get ==");
    let keys = all_keys(&grouped, &token).await;
    for connections in [1, 16] {
        let rate = pipelined_gets(&grouped, &token, connections, 200_000, keys.clone()).await;
        println!("pipelined, {connections:>2} connection(s): {rate:>9.0} requests/s");
    }
    for connections in [1, 16] {
        let (p50, p99) = latency(
            &grouped,
            &token,
            connections,
            4_000 / connections.max(1) * 4,
            keys.clone(),
        )
        .await;
        println!(
            "one at a time, {connections:>2} connection(s): p50 {:>6.0} µs   p99 {:>6.0} µs",
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6
        );
    }

    println!(
        "server RSS after the read runs: {:.0} MiB",
        mib(rss_bytes(grouped.pid()).unwrap_or(0))
    );
    println!("\n== memory ==");
    let have = keys.len();
    let target = 100_000;
    if have < target {
        // Whole rounds of 64, topped up by one client, so exactly `target` issues exist.
        let rest = target - have;
        creates(&grouped, &token, 64, rest / 64 * 64).await;
        creates(&grouped, &token, 1, rest % 64).await;
    }
    let keys = all_keys(&grouped, &token).await;
    println!(
        "server RSS after creating {} issues: {:.0} MiB",
        keys.len(),
        mib(rss_bytes(grouped.pid()).unwrap_or(0))
    );
    // Touch every issue once so the caches hold what a busy server would.
    pipelined_gets(&grouped, &token, 4, keys.len(), keys.clone()).await;
    let rss = rss_bytes(grouped.pid()).unwrap_or(0);
    println!("server RSS with {} issues: {:.0} MiB", keys.len(), mib(rss));

    drop(grouped);
    let postgres = postgres(bin, &sled_creates).await;

    println!(
        "\nsummary: {:.0} durable creates/s at 64 clients, {:.1}x the flush-per-write baseline",
        at_64.0,
        at_64.0 / at_64.1
    );
    println!(
        "summary: PostgreSQL {:.0} creates/s at 64 clients on one node, {:.0}/s across 3 nodes (target 5000); cross-node event p99 {:.1} ms (target 100)",
        postgres.one_node_64, postgres.three_nodes_64, postgres.event_p99_ms
    );
}

/// Where the PostgreSQL runs get fresh databases.
enum Databases {
    Private(TestCluster),
    /// `--store URL`: databases are created on the server it names.
    Given(String),
}

impl Databases {
    fn from_args() -> Databases {
        let args: Vec<String> = std::env::args().collect();
        match args.iter().position(|a| a == "--store") {
            Some(at) => Databases::Given(args.get(at + 1).cloned().expect("--store needs a URL")),
            None => Databases::Private(TestCluster::start()),
        }
    }

    async fn fresh(&self) -> String {
        match self {
            Databases::Private(cluster) => cluster.create_database().await,
            Databases::Given(url) => {
                static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                let name = format!(
                    "tack_bench_{}_{}",
                    std::process::id(),
                    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                );
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .expect("cannot connect to --store");
                tokio::spawn(connection);
                client
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("the --store user must be allowed to create databases");
                let mut fresh = url::Url::parse(url).expect("--store is not a URL");
                fresh.set_path(&format!("/{name}"));
                fresh.to_string()
            }
        }
    }
}

fn on_postgres(url: &str) -> String {
    format!("{CONFIG}[store]\nengine = \"postgres\"\nurl = \"{url}\"\n")
}

struct PostgresFigures {
    one_node_64: f64,
    three_nodes_64: f64,
    event_p99_ms: f64,
}

async fn postgres(bin: &str, sled_creates: &[(usize, f64)]) -> PostgresFigures {
    let databases = Databases::from_args();
    println!("\n== PostgreSQL: durable creates (acknowledged after COMMIT) ==");
    let server = TestServer::start_with_config(bin, &on_postgres(&databases.fresh().await));
    let token = prepare(&server).await;
    let mut one_node_64 = 0.0;
    for &(clients, sled) in sled_creates {
        let total = clients * 300;
        let rate = creates(&server, &token, clients, total).await;
        println!(
            "{clients:>3} clients: postgres {rate:>9.0}/s   sled (same run) {sled:>9.0}/s   ({:.2}x)",
            rate / sled
        );
        if clients == 64 {
            one_node_64 = rate;
        }
    }
    let keys = all_keys(&server, &token).await;
    for connections in [1, 16] {
        let (p50, p99) = latency(
            &server,
            &token,
            connections,
            8_000 / connections,
            keys.clone(),
        )
        .await;
        println!(
            "issue get, one at a time, {connections:>2} connection(s): p50 {:>6.0} µs   p99 {:>6.0} µs",
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6
        );
    }
    drop(server);

    println!("\n== PostgreSQL: three nodes sharing one database ==");
    let url = databases.fresh().await;
    let nodes: Vec<TestServer> = (0..3)
        .map(|_| TestServer::start_with_config(bin, &on_postgres(&url)))
        .collect();
    let token = prepare(&nodes[0]).await;
    let all: Vec<&TestServer> = nodes.iter().collect();
    let mut three_nodes_64 = 0.0;
    for clients in [16, 64] {
        let rate = creates_on(&all, &token, clients, clients * 300).await;
        let one = sled_creates
            .iter()
            .find(|(c, _)| *c == clients)
            .map_or(0.0, |(_, r)| *r);
        println!(
            "{clients:>3} clients over 3 nodes: {rate:>9.0}/s   (sled, one machine, same run: {one:.0}/s)"
        );
        if clients == 64 {
            three_nodes_64 = rate;
        }
    }
    let (p50, p99) = cross_node_events(&nodes[0], &nodes[2], &token, 500).await;
    println!(
        "a commit on node 1 reaching a subscriber on node 3: p50 {:.1} ms   p99 {:.1} ms",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    PostgresFigures {
        one_node_64,
        three_nodes_64,
        event_p99_ms: p99.as_secs_f64() * 1e3,
    }
}

/// Creates issues one at a time through `from`; for each, the time from its acknowledgement
/// there to its event on a subscriber of `to` (0 when the event came first). (p50, p99).
async fn cross_node_events(
    from: &TestServer,
    to: &TestServer,
    token: &str,
    count: usize,
) -> (Duration, Duration) {
    let subscriber = connect(to, token).await;
    let mut events = subscriber.take_events().unwrap();
    subscriber
        .request(Request::Subscribe {
            project: Some("BENCH".into()),
            after_seq: None,
            query: None,
        })
        .await
        .unwrap();
    let arrivals = tokio::spawn(async move {
        let mut seen = std::collections::HashMap::new();
        while let Some(event) = events.recv().await {
            if let tack_protocol::EventRecord::Issue(issue) = &event.record {
                seen.insert(issue.key.clone(), Instant::now());
                if seen.len() == count {
                    break;
                }
            }
        }
        seen
    });
    let writer = connect(from, token).await;
    let mut acked = Vec::with_capacity(count);
    for n in 0..count {
        let key = match writer.request(create(n)).await.unwrap() {
            ResponseBody::Issue(issue) => issue.key,
            other => panic!("{other:?}"),
        };
        acked.push((key, Instant::now()));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let seen = tokio::time::timeout(Duration::from_secs(30), arrivals)
        .await
        .expect("events from another node stopped arriving")
        .unwrap();
    let mut delays: Vec<Duration> = acked
        .iter()
        .map(|(key, at)| seen[key].saturating_duration_since(*at))
        .collect();
    delays.sort();
    (delays[delays.len() / 2], delays[delays.len() * 99 / 100])
}

fn main() {
    // Re-executed as the server: `bench-core serve …` is `tack serve …`.
    if std::env::args().nth(1).as_deref() == Some("serve") {
        std::process::exit(i32::from(
            tack_server::cli::main() != std::process::ExitCode::SUCCESS,
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bench());
}
