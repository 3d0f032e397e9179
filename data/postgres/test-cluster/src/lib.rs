//! A private PostgreSQL for the tests of tack's PostgreSQL engine and of whole clusters, one per
//! test process: `initdb` in a temporary directory and a server listening only on a unix socket
//! there, a fresh database per test. Nothing needs to
//! be running beforehand; the distribution's `postgresql` package is all it needs.
//!
//! initdb and postgres refuse to run as root, so under root both run as the `postgres` user.
//! A small shell supervises the server: it restarts it when asked, and when the test process
//! ends (its end of the supervisor's stdin closes) it stops the server and removes the
//! directory, so no server outlives its tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const INSTALL: &str = "PostgreSQL is not installed: these tests start their own server and need \
                       its programs (initdb, postgres, pg_isready). Install them with \
                       `apt-get install -y postgresql`";

pub struct TestCluster {
    root: PathBuf,
    socket_dir: PathBuf,
    bin: PathBuf,
    supervisor: Mutex<ChildStdin>,
    databases: AtomicU64,
}

const SUPERVISOR: &str = r#"
data=$1 socket=$2 root=$3 bin=$4
start() {
    "$bin/postgres" -D "$data" -k "$socket" -c listen_addresses= -c max_connections=500 \
        -c shared_buffers=64MB 2>>"$root/postgres.log" &
    pg=$!
}
start
while read -r command; do
    case "$command" in
        restart) kill -INT "$pg"; wait "$pg"; start ;;
        stop) kill -INT "$pg"; wait "$pg" ;;
        start) start ;;
    esac
done
kill -INT "$pg"
wait "$pg"
rm -rf "$root"
"#;

/// The directory of the newest installed PostgreSQL's programs.
fn binaries() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return bin;
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .find(|dir| dir.join("initdb").exists() && dir.join("postgres").exists())
        .unwrap_or_else(|| panic!("{INSTALL}"))
}

/// The uid and gid to run PostgreSQL as: the `postgres` user when the tests run as root.
fn run_as() -> Option<(u32, u32)> {
    let me = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0);
    if me != 0 {
        return None;
    }
    let id = |flag: &str| {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .ok()
            .filter(|out| out.status.success())
            .unwrap_or_else(|| {
                panic!("the tests run as root and there is no `postgres` user to run PostgreSQL as; {INSTALL}")
            });
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u32>()
            .unwrap()
    };
    Some((id("-u"), id("-g")))
}

fn as_postgres(command: &mut Command, user: Option<(u32, u32)>) -> &mut Command {
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
    command
}

impl TestCluster {
    /// The cluster of this test process, started on first use.
    pub fn shared() -> &'static TestCluster {
        static CLUSTER: OnceLock<TestCluster> = OnceLock::new();
        CLUSTER.get_or_init(TestCluster::start)
    }

    /// A server of the caller's own, stopped and removed when it is dropped: for tests that
    /// stop or restart it.
    pub fn start() -> TestCluster {
        let bin = binaries();
        let user = run_as();
        let root = tempfile::Builder::new()
            .prefix("tack-pg-")
            .tempdir()
            .unwrap()
            .keep();
        let data = root.join("data");
        let socket_dir = root.join("socket");
        std::fs::create_dir_all(&socket_dir).unwrap();
        if let Some((uid, gid)) = user {
            for dir in [&root, &socket_dir] {
                std::os::unix::fs::chown(dir, Some(uid), Some(gid)).unwrap();
            }
        }
        let initdb = as_postgres(
            Command::new(bin.join("initdb"))
                .args(["-A", "trust", "-U", "tack", "--no-sync", "-E", "UTF8"])
                .arg("--locale=C")
                .arg("-D")
                .arg(&data)
                .current_dir(&root),
            user,
        )
        .output()
        .unwrap_or_else(|err| panic!("cannot run initdb ({err}); {INSTALL}"));
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        // Never waited for: it ends with the test process, when its stdin closes.
        #[allow(clippy::zombie_processes)]
        let mut supervisor = as_postgres(
            Command::new("sh")
                .arg("-c")
                .arg(SUPERVISOR)
                .arg("sh")
                .args([&data, &socket_dir, &root, &bin])
                .current_dir(&root)
                .stdin(Stdio::piped())
                .stdout(Stdio::null()),
            user,
        )
        .spawn()
        .unwrap();
        let stdin = supervisor.stdin.take().unwrap();
        let cluster = TestCluster {
            root,
            socket_dir,
            bin,
            supervisor: Mutex::new(stdin),
            databases: AtomicU64::new(0),
        };
        cluster.wait_ready();
        cluster
    }

    /// Waits until the server takes connections; panics with its log if it never does.
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .arg("-q")
                .arg("-h")
                .arg(&self.socket_dir)
                .arg("-U")
                .arg("tack")
                .status()
                .is_ok_and(|status| status.success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the test PostgreSQL did not start; its log:\n{}",
                std::fs::read_to_string(self.root.join("postgres.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn tell(&self, command: &str) {
        let mut supervisor = self.supervisor.lock().unwrap();
        supervisor
            .write_all(format!("{command}\n").as_bytes())
            .unwrap();
        supervisor.flush().unwrap();
    }

    /// Stops the server (fast shutdown: sessions are cut) and starts it again.
    pub fn restart(&self) {
        self.tell("restart");
    }

    /// Stops the server until [`TestCluster::start_again`].
    pub fn stop(&self) {
        self.tell("stop");
        let socket = self.socket_dir.join(".s.PGSQL.5432");
        let deadline = Instant::now() + Duration::from_secs(30);
        while socket.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn start_again(&self) {
        self.tell("start");
        self.wait_ready();
    }

    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://tack@localhost/{database}?host={}",
            self.socket_dir.display()
        )
    }

    /// Creates a new empty database; its URL.
    pub async fn create_database(&self) -> String {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            self.databases.fetch_add(1, Ordering::Relaxed)
        );
        let (client, connection) =
            tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|err| panic!("cannot reach the test PostgreSQL: {err}"));
        let driver = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        drop(client);
        let _ = driver.await;
        self.url(&name)
    }
}
