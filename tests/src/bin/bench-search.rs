//! Search benchmark: prints figures, asserts nothing.
//!
//!     cargo run --release -p tack-tests --features fts5-reference --bin bench-search
//!
//! Loads a generated corpus (fixed seed; `BENCH_ISSUES`, default 100,000 issues with three
//! comments each) into a real `tack serve` over the protocol, then measures p50/p99 of ten query
//! shapes, how long the search index takes to build from the store and its size, the server's
//! memory, and how soon a new issue is findable after its create is acknowledged. Beside it, in
//! the same run, SQLite FTS5 (bundled) over the same corpus and text queries as the reference.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tack_protocol::{Client, Credentials, IssueFilter, NewIssue, Priority, Request, ResponseBody};
use tack_tests::{TestServer, rss_bytes};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONFIG: &str = "http = \"\"\n[limits]\nrequests_per_second = 100000000\nrequest_burst = 100000000\nmax_in_flight_per_connection = 1024\nmax_frame_bytes = 16777216\n";
const RUNS: usize = 200;
const CLIENTS: usize = 32;

/// SplitMix64: a fixed seed gives the same corpus every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A vocabulary of made-up words plus the ones the queries look for, Zipf-ish in use.
fn vocabulary() -> Vec<String> {
    let syllables = [
        "ka", "lo", "mi", "ra", "te", "su", "no", "vi", "de", "po", "lan", "tor", "mes", "qui",
        "bel", "dor",
    ];
    let mut words: Vec<String> = [
        "crash", "resize", "window", "memory", "leak", "keyboard", "shortcut", "board", "column",
        "login", "token", "export", "import", "slow", "render", "terminal", "cursor", "session",
        "invite", "search",
    ]
    .iter()
    .map(|w| w.to_string())
    .collect();
    for a in syllables {
        for b in syllables {
            for c in ["", "n", "s", "r"] {
                words.push(format!("{a}{b}{c}"));
            }
        }
    }
    words
}

fn sentence(rng: &mut Rng, words: &[String], len: usize) -> String {
    (0..len)
        .map(|_| {
            // Squaring skews toward the front: a few common words, a long tail.
            let r = rng.below(1000) as f64 / 1000.0;
            words[((r * r) * words.len() as f64) as usize].as_str()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

struct Doc {
    title: String,
    description: String,
    comments: Vec<String>,
    label: &'static str,
    priority: Priority,
    assignee: usize,
}

fn corpus(issues: usize) -> Vec<Doc> {
    let words = vocabulary();
    let mut rng = Rng(0x7ac4);
    let labels = ["bug", "feature", "docs", "ui", "perf"];
    let priorities = [
        Priority::None,
        Priority::Low,
        Priority::Medium,
        Priority::High,
        Priority::Urgent,
    ];
    (0..issues)
        .map(|_| {
            let title_len = 4 + rng.below(5);
            let body_len = 20 + rng.below(60);
            Doc {
                title: sentence(&mut rng, &words, title_len),
                description: sentence(&mut rng, &words, body_len),
                comments: (0..3)
                    .map(|_| {
                        let len = 10 + rng.below(30);
                        sentence(&mut rng, &words, len)
                    })
                    .collect(),
                label: labels[rng.below(labels.len())],
                priority: priorities[rng.below(priorities.len())],
                assignee: rng.below(20),
            }
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

async fn load(server: &TestServer, docs: &[Doc]) -> String {
    let console = server.console().await;
    console
        .request(Request::CreateProject {
            key: "BENCH".into(),
            name: "Bench".into(),
            description: String::new(),
        })
        .await
        .unwrap();
    for n in 0..20 {
        server.user_with_token(&format!("dev{n}"), false).await;
        console
            .request(Request::SetMember {
                project: "BENCH".into(),
                handle: format!("dev{n}"),
                role: tack_protocol::ProjectRole::Member,
            })
            .await
            .unwrap();
    }
    let token = server.user_with_token("reader", true).await;
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(Arc::new(
            Client::connect_tcp(&server.api, Credentials::Token(token.clone()))
                .await
                .unwrap(),
        ));
    }
    let started = Instant::now();
    let per = docs.len().div_ceil(CLIENTS);
    let mut tasks = Vec::new();
    for (c, client) in clients.iter().enumerate() {
        let chunk: Vec<(
            usize,
            String,
            String,
            Vec<String>,
            &'static str,
            Priority,
            usize,
        )> = docs
            .iter()
            .enumerate()
            .skip(c * per)
            .take(per)
            .map(|(n, d)| {
                (
                    n,
                    d.title.clone(),
                    d.description.clone(),
                    d.comments.clone(),
                    d.label,
                    d.priority,
                    d.assignee,
                )
            })
            .collect();
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for (_, title, description, comments, label, priority, assignee) in chunk {
                let created = client
                    .request(Request::CreateIssue(NewIssue {
                        project: "BENCH".into(),
                        title,
                        description,
                        state: None,
                        priority,
                        assignees: vec![format!("dev{assignee}")],
                        labels: vec![label.into()],
                        estimate: None,
                        due: None,
                        parent: None,
                    }))
                    .await
                    .unwrap();
                let ResponseBody::Issue(issue) = created else {
                    panic!("unexpected answer")
                };
                for body in comments {
                    client
                        .request(Request::AddComment {
                            issue: issue.key.clone(),
                            body,
                        })
                        .await
                        .unwrap();
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let took = started.elapsed();
    println!(
        "loaded {} issues and {} comments in {:.1} s",
        docs.len(),
        docs.len() * 3,
        took.as_secs_f64()
    );
    token
}

async fn timed(client: &Client, request: &Request) -> (Vec<Duration>, usize) {
    let mut times = Vec::with_capacity(RUNS);
    let mut found = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let answer = client.request(request.clone()).await.unwrap();
        times.push(started.elapsed());
        found = match answer {
            ResponseBody::Issues(v) => v.len(),
            ResponseBody::SearchHits(v) => v.len(),
            _ => 0,
        };
    }
    times.sort();
    (times, found)
}

fn query(text: &str) -> Request {
    Request::ListIssues {
        project: Some("BENCH".into()),
        filter: IssueFilter {
            query: Some(text.into()),
            limit: Some(50),
            ..Default::default()
        },
    }
}

fn search(text: &str) -> Request {
    Request::Search {
        text: text.into(),
        project: None,
        limit: 20,
    }
}

/// Waits until `text` finds something; how long it took.
async fn until_found(client: &Client, text: &str, timeout: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if let Ok(ResponseBody::SearchHits(hits)) = client.request(search(text)).await
            && !hits.is_empty()
        {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    None
}

fn fts5(docs: &[Doc], texts: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fts.sqlite");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(
        "PRAGMA journal_mode=WAL; CREATE VIRTUAL TABLE issues USING fts5(title, description, comments, tokenize='unicode61', prefix='2 3');",
    )
    .unwrap();
    let started = Instant::now();
    let tx = db.unchecked_transaction().unwrap();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO issues(rowid, title, description, comments) VALUES (?1, ?2, ?3, ?4)",
            )
            .unwrap();
        for (n, d) in docs.iter().enumerate() {
            insert
                .execute(rusqlite::params![
                    n as i64 + 1,
                    d.title,
                    d.description,
                    d.comments.join("\n")
                ])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    println!(
        "\nSQLite FTS5 (reference): built in {:.1} s, {:.0} MiB on disk",
        started.elapsed().as_secs_f64(),
        dir_size(dir.path()) as f64 / 1048576.0
    );
    println!(
        "{:<34} {:>10} {:>10} {:>6}",
        "text query", "p50", "p99", "hits"
    );
    for text in texts {
        // FTS5 syntax for the same intent: every word, the last one as a prefix.
        let words: Vec<String> = text
            .split_whitespace()
            .map(|w| format!("\"{w}\"*"))
            .collect();
        let expr = words.join(" AND ");
        let mut statement = db
            .prepare("SELECT rowid FROM issues WHERE issues MATCH ?1 ORDER BY bm25(issues, 3.0, 1.0, 1.0) LIMIT 20")
            .unwrap();
        let mut times = Vec::with_capacity(RUNS);
        let mut hits = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let rows: Vec<i64> = statement
                .query_map([&expr], |r| r.get(0))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            times.push(started.elapsed());
            hits = rows.len();
        }
        times.sort();
        println!(
            "{:<34} {:>10} {:>10} {:>6}",
            format!("\"{text}\""),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            hits
        );
    }
}

async fn bench() {
    let issues: usize = std::env::var("BENCH_ISSUES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let mut docs = corpus(issues);
    // A word only the last issue has: found means the index has everything before it.
    if let Some(last) = docs.last_mut() {
        last.title.push_str(" zqlastdoc");
    }
    let bin = std::env::current_exe().unwrap();
    let mut server = TestServer::start_with_config(bin.to_str().unwrap(), CONFIG);
    let token = load(&server, &docs).await;
    let client = Client::connect_tcp(&server.api, Credentials::Token(token.clone()))
        .await
        .unwrap();
    let caught_up = until_found(&client, "zqlastdoc", Duration::from_secs(600)).await;
    println!(
        "index caught up {} after the last acknowledged write",
        caught_up.map_or("never".into(), ms)
    );

    let shapes: [(&str, Request); 10] = [
        ("filters: is:open label:bug", query("is:open label:bug")),
        (
            "filters: assignee + priority",
            query("assignee:dev3 priority:>=high"),
        ),
        ("filters: sorted", query("label:perf sort:priority-desc")),
        (
            "filters: OR and NOT",
            query("(priority:urgent OR label:docs) -assignee:dev1"),
        ),
        ("text: one word", search("crash")),
        ("text: two words", search("memory leak")),
        ("text: typo", search("keybaord")),
        ("text: prefix", search("termin")),
        ("mixed: word + filters", query("crash label:bug is:open")),
        (
            "mixed: words + sort",
            query("resize window sort:updated-desc"),
        ),
    ];
    println!("\ntack over the protocol ({} runs each)", RUNS);
    println!(
        "{:<34} {:>10} {:>10} {:>6}",
        "query shape", "p50", "p99", "hits"
    );
    for (name, request) in &shapes {
        let (times, found) = timed(&client, request).await;
        println!(
            "{name:<34} {:>10} {:>10} {:>6}",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            found
        );
    }

    // Findable after the create is acknowledged.
    let mut fresh = Vec::new();
    for n in 0..20 {
        let word = format!("zqfresh{n}x");
        client
            .request(Request::CreateIssue(NewIssue {
                project: "BENCH".into(),
                title: format!("fresh issue {word}"),
                description: String::new(),
                state: None,
                priority: Priority::None,
                assignees: vec![],
                labels: vec![],
                estimate: None,
                due: None,
                parent: None,
            }))
            .await
            .unwrap();
        if let Some(d) = until_found(&client, &word, Duration::from_secs(10)).await {
            fresh.push(d);
        }
    }
    fresh.sort();
    println!(
        "\nnew issue findable after its ack: p50 {}, max {} ({} of 20)",
        ms(percentile(&fresh, 0.5)),
        ms(fresh.last().copied().unwrap_or_default()),
        fresh.len()
    );
    let rss = rss_bytes(server.pid()).unwrap_or(0);
    let index_size = dir_size(&server.data.join("search"));
    println!(
        "server RSS {:.0} MiB; search index {:.0} MiB; store {:.0} MiB",
        rss as f64 / 1048576.0,
        index_size as f64 / 1048576.0,
        dir_size(&server.data.join("store")) as f64 / 1048576.0
    );

    // A rebuild from the store: doctor --reindex, then a fresh start catches up from zero.
    let data = server.data.clone();
    server.terminate();
    std::process::Command::new(&bin)
        .args(["doctor", "--reindex", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let started = Instant::now();
    server.restart();
    let client = Client::connect_tcp(&server.api, Credentials::Token(token))
        .await
        .unwrap();
    let rebuilt = until_found(&client, "zqfresh19x", Duration::from_secs(1200)).await;
    println!(
        "index rebuilt from the store in {:.1} s",
        rebuilt.map_or(f64::NAN, |_| started.elapsed().as_secs_f64())
    );

    let texts: Vec<&str> = ["crash", "memory leak", "termin"].to_vec();
    fts5(&docs, &texts);
}

fn main() {
    if std::env::args()
        .nth(1)
        .as_deref()
        .is_some_and(|a| a != "--bench")
    {
        // Re-executed as the server: `bench-search serve …` is `tack serve …`.
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
