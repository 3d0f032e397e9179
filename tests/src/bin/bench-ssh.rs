//! SSH front benchmark: prints figures, asserts nothing.
//!
//!     cargo run --release -p tack-tests --bin bench-ssh
//!
//! Starts a real `tack serve` (this binary re-executed as the server) and drives it with russh
//! clients: connect→auth→first frame, memory per open session, keystroke→frame latency while many
//! sessions type, fan-out of one card move to every session, and the bytes a card move costs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tack_tests::ssh::{self, Terminal};
use tack_tests::{TestServer, rss_bytes};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONFIG: &str = "[limits]\nrequests_per_second = 100000000\nrequest_burst = 100000000\nmax_connections = 20000\n[ssh_limits]\nmax_sessions_per_user = 100000\nmax_unauthenticated = 1000\nmax_unauthenticated_per_source = 1000\n";
const WAIT: Duration = Duration::from_secs(60);

fn percentile(samples: &mut [Duration], p: usize) -> Duration {
    samples.sort();
    samples[(samples.len() * p / 100).min(samples.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Connects, logs in and waits for the home screen; returns the terminal and the time it took.
async fn session(
    addr: String,
    key: Arc<russh::keys::PrivateKey>,
) -> (
    russh::client::Handle<ssh::AcceptAnyHostKey>,
    Terminal,
    Duration,
) {
    let started = Instant::now();
    let mut handle = ssh::connect(&addr).await;
    assert!(ssh::login(&mut handle, &key).await);
    let mut term = Terminal::open(&handle, 80, 24).await;
    term.wait_for("My open issues", WAIT).await;
    let took = started.elapsed();
    // The home screen has loaded its projects before anyone types into it.
    term.wait_for("Projects · 1", WAIT).await;
    (handle, term, took)
}

async fn bench() {
    let me = std::env::current_exe().unwrap();
    let server = TestServer::start_with_config(me.to_str().unwrap(), CONFIG);
    let key = Arc::new(ssh::new_key());
    let run = |args: &[&str]| assert!(server.ctl(args).status.success(), "{args:?}");
    run(&["user", "create", "bench", "--name", "Bench"]);
    run(&["key", "add", &ssh::authorized_line(&key), "--user", "bench"]);
    run(&["project", "create", "BENCH", "Bench"]);
    run(&["project", "member", "BENCH", "bench", "owner"]);
    for n in 0..20 {
        run(&[
            "issue",
            "create",
            "BENCH",
            &format!("Card number {n}"),
            "--assignee",
            "bench",
        ]);
    }
    println!(
        "tack ssh benchmark ({} cores)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    println!("\n== connect → auth → first frame ==");
    let mut sequential = Vec::new();
    for _ in 0..30 {
        let (_, _, took) = session(server.ssh.clone(), key.clone()).await;
        sequential.push(took);
    }
    println!(
        "sequential:     p50 {:>6.1} ms   p99 {:>6.1} ms",
        ms(percentile(&mut sequential, 50)),
        ms(percentile(&mut sequential, 99))
    );
    let tasks: Vec<_> = (0..100)
        .map(|_| tokio::spawn(session(server.ssh.clone(), key.clone())))
        .collect();
    let mut concurrent = Vec::new();
    let mut held = Vec::new();
    for task in tasks {
        let (handle, term, took) = task.await.unwrap();
        concurrent.push(took);
        held.push((handle, term));
    }
    println!(
        "100 concurrent: p50 {:>6.1} ms   p99 {:>6.1} ms",
        ms(percentile(&mut concurrent, 50)),
        ms(percentile(&mut concurrent, 99))
    );

    println!("\n== memory per session (80×24, on the board) ==");
    let before = rss_bytes(server.pid()).unwrap_or(0);
    // BENCH_SESSIONS holds more (the figure to watch is memory per session).
    let target: usize = std::env::var("BENCH_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
        .max(200);
    while held.len() < target {
        let batch: Vec<_> = (0..50.min(target - held.len()))
            .map(|_| tokio::spawn(session(server.ssh.clone(), key.clone())))
            .collect();
        for task in batch {
            let (handle, term, _) = task.await.unwrap();
            held.push((handle, term));
        }
    }
    for (_, term) in held.iter_mut() {
        term.type_text("\t\r").await;
    }
    for (_, term) in held.iter_mut() {
        term.wait_for("Todo · 20", WAIT).await;
    }
    let after = rss_bytes(server.pid()).unwrap_or(0);
    println!(
        "{} sessions: server RSS {:.0} MiB, {:.0} KiB per session",
        held.len(),
        after as f64 / 1048576.0,
        (after.saturating_sub(before)) as f64 / 1024.0 / (held.len() - 100) as f64
    );

    println!("\n== fan-out: one card moved, every session shows it ==");
    let start_bytes: Vec<usize> = held.iter().map(|(_, t)| t.bytes_received).collect();
    let (mover, others) = held.split_first_mut().unwrap();
    let started = Instant::now();
    mover.1.type_text("L").await;
    let mut arrivals = Vec::new();
    for (_, term) in others.iter_mut() {
        term.wait_for("In Progress · 1", WAIT).await;
        arrivals.push(started.elapsed());
    }
    println!(
        "{} sessions: p50 {:>6.1} ms   p99 {:>6.1} ms   last {:>6.1} ms",
        arrivals.len(),
        ms(percentile(&mut arrivals, 50)),
        ms(percentile(&mut arrivals, 99)),
        ms(*arrivals.iter().max().unwrap())
    );
    others[0].1.settle(Duration::from_millis(200)).await;
    let moved: Vec<usize> = held
        .iter()
        .zip(&start_bytes)
        .skip(1)
        .map(|((_, t), s)| t.bytes_received - s)
        .collect();
    println!(
        "bytes on the wire for a card move (an onlooker's screen): {} bytes",
        moved.iter().min().unwrap_or(&0)
    );

    println!("\n== keystroke → frame, 300 sessions typing 20 keys/s ==");
    let count = 300.min(held.len());
    let typists: Vec<_> = held.drain(..count).collect();
    let start = Instant::now() + Duration::from_millis(100);
    let tasks: Vec<_> = typists
        .into_iter()
        .enumerate()
        .map(|(n, (handle, mut term))| {
            tokio::spawn(async move {
                let mut samples = Vec::new();
                for round in 0..20u32 {
                    // 20 keys a second, each typist offset a little from the others.
                    let at = start + Duration::from_millis(u64::from(round) * 50 + (n as u64 % 50));
                    tokio::time::sleep_until(at.into()).await;
                    let before = term.bytes_received;
                    let sent = Instant::now();
                    term.type_text(if round % 2 == 0 { "j" } else { "k" }).await;
                    while term.bytes_received == before && sent.elapsed() < WAIT {
                        term.settle(Duration::from_millis(1)).await;
                    }
                    samples.push(sent.elapsed());
                }
                drop(handle);
                samples
            })
        })
        .collect();
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.unwrap());
    }
    println!(
        "p50 {:>6.1} ms   p99 {:>6.1} ms",
        ms(percentile(&mut samples, 50)),
        ms(percentile(&mut samples, 99))
    );
}

fn main() {
    // Re-executed as the server (or its ctl): `bench-ssh serve …` is `tack serve …`.
    if matches!(std::env::args().nth(1).as_deref(), Some("serve" | "ctl")) {
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
