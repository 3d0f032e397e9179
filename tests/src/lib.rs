//! Helpers for end-to-end tests and benchmarks: start a real `tack serve` process on an ephemeral
//! port with a temporary data directory, and talk to it as clients do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub mod balancer;
pub mod disk;
pub mod pty;
pub mod sinks;
pub mod ssh;

use tack_protocol::{Client, Credentials, Request, ResponseBody};

pub struct TestServer {
    bin: PathBuf,
    child: Option<Child>,
    pub data: PathBuf,
    _dir: Option<tempfile::TempDir>,
    pub api: String,
    /// The SSH front, `127.0.0.1:PORT`.
    pub ssh: String,
    pub socket: PathBuf,
    /// The metrics endpoint, `127.0.0.1:PORT`.
    pub http: String,
    /// The first-start admin invite code, if this start printed one.
    pub invite: Option<String>,
    extra_config: String,
    /// Where the config file goes, when not beside the data directory.
    config_path: Option<PathBuf>,
    /// Environment variables for the server process.
    env: Vec<(String, String)>,
}

impl TestServer {
    /// Starts a server in a fresh temporary data directory.
    pub fn start(bin: &str) -> TestServer {
        Self::start_with_config(bin, "")
    }

    /// Starts a server with extra `tack.toml` content (e.g. lower limits for a test).
    pub fn start_with_config(bin: &str, config: &str) -> TestServer {
        Self::start_with_env(bin, config, &[])
    }

    /// Starts a server with extra `tack.toml` content and environment variables.
    pub fn start_with_env(bin: &str, config: &str, env: &[(&str, &str)]) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut server = TestServer {
            bin: PathBuf::from(bin),
            child: None,
            data,
            _dir: Some(dir),
            api: String::new(),
            ssh: String::new(),
            socket: PathBuf::new(),
            http: String::new(),
            invite: None,
            extra_config: config.to_string(),
            config_path: None,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        server.launch();
        server
    }

    /// Starts a server on an existing data directory (a restored one, say).
    pub fn start_on(bin: &str, data: &Path) -> TestServer {
        Self::start_on_with_config(bin, data, "")
    }

    /// Starts a server on a data directory of the test's (on a small disk, say), with extra
    /// `tack.toml` content.
    pub fn start_on_with_config(bin: &str, data: &Path, config_text: &str) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("tack.toml");
        std::fs::write(&config, config_text).unwrap();
        let mut server = TestServer {
            bin: PathBuf::from(bin),
            child: None,
            data: data.to_path_buf(),
            _dir: Some(dir),
            api: String::new(),
            ssh: String::new(),
            socket: PathBuf::new(),
            http: String::new(),
            invite: None,
            extra_config: config_text.to_string(),
            config_path: Some(config),
            env: Vec::new(),
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let config = self
            .config_path
            .clone()
            .unwrap_or_else(|| self.data.parent().unwrap().join("tack.toml"));
        std::fs::write(&config, with_test_reserve(&self.extra_config)).unwrap();
        let mut child = Command::new(&self.bin)
            .args([
                "serve",
                "--api",
                "127.0.0.1:0",
                "--ssh",
                "127.0.0.1:0",
                "--http",
                "127.0.0.1:0",
                "--data",
            ])
            .arg(&self.data)
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tack serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut saw_invite_header = false;
        self.invite = None;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(remaining)
                .expect("tack serve did not report ready in time");
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("ssh:") {
                self.ssh = rest.split_whitespace().next().unwrap().to_string();
            } else if let Some(addr) = line.strip_prefix("protocol socket:") {
                self.api = addr.trim().to_string();
            } else if let Some(rest) = line.strip_prefix("metrics:") {
                self.http = rest
                    .trim()
                    .trim_start_matches("http://")
                    .trim_end_matches("/metrics")
                    .to_string();
            } else if let Some(rest) = line.strip_prefix("admin socket:") {
                self.socket = PathBuf::from(rest.split_whitespace().next().unwrap());
            } else if line.contains("one-time admin invite code") {
                saw_invite_header = true;
            } else if saw_invite_header && self.invite.is_none() {
                self.invite = Some(line.to_string());
            } else if line.starts_with("Ready.") {
                break;
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        self.child = Some(child);
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Waits for the server to exit by itself; its exit code, or None if it still runs after
    /// `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return Some(status.code().unwrap_or(-1));
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        unsafe_free_signal(child.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the server again on the same data directory (a new port).
    pub fn restart(&mut self) {
        self.kill9();
        self.launch();
    }

    /// Runs `tack ctl --socket <admin socket> ARGS…`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .arg("ctl")
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs `tack ctl ARGS…` on the admin socket and returns its stdout; panics with its stderr
    /// if it fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.ctl(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    }

    /// A new API token for an existing user, through `tack ctl token create`.
    pub fn token_for(&self, handle: &str) -> String {
        self.ok(&["token", "create", "--name", "test", "--user", handle])
            .split_whitespace()
            .find(|w| w.starts_with("tack_"))
            .expect("token create prints the token")
            .to_string()
    }

    /// Runs `tack ctl --addr <api> --token TOKEN ARGS…`.
    pub fn ctl_token(&self, token: &str, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .args(["ctl", "--addr", &self.api, "--token", token])
            .args(args)
            .output()
            .unwrap()
    }

    pub fn bin(&self) -> &Path {
        &self.bin
    }

    pub async fn console(&self) -> Client {
        Client::connect_unix(&self.socket).await.unwrap()
    }

    pub async fn with_token(&self, token: &str) -> Client {
        Client::connect_tcp(&self.api, Credentials::Token(token.into()))
            .await
            .unwrap()
    }

    /// Creates a user with an API token through the console; returns the token.
    pub async fn user_with_token(&self, handle: &str, admin: bool) -> String {
        let console = self.console().await;
        let role = if admin {
            tack_protocol::ServerRole::Admin
        } else {
            tack_protocol::ServerRole::User
        };
        console
            .request(Request::CreateUser {
                handle: handle.into(),
                display_name: handle.into(),
                email: None,
                role,
            })
            .await
            .unwrap();
        match console
            .request(Request::CreateToken {
                user: Some(handle.into()),
                name: "test".into(),
            })
            .await
            .unwrap()
        {
            ResponseBody::TokenCreated { secret, .. } => secret,
            other => panic!("unexpected {other:?}"),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn unsafe_free_signal(pid: u32, signal: i32) {
    // `kill` from the command line keeps this crate free of unsafe code.
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

/// A test server's configuration with a small disk reserve, unless the test sets its own: the
/// default (256 MiB) would refuse every write on a CI disk that happens to be nearly full.
fn with_test_reserve(config: &str) -> String {
    if config.contains("min_free_mb") {
        return config.to_string();
    }
    match config.find("[store]\n") {
        Some(at) => {
            let (before, after) = config.split_at(at + "[store]\n".len());
            format!("{before}min_free_mb = 32\n{after}")
        }
        None => format!("{config}\n[store]\nmin_free_mb = 32\n"),
    }
}

/// The TOTP code an authenticator app shows for `secret` (base32), `offset_steps` 30-second
/// steps from now.
pub fn totp_code(secret: &str, offset_steps: i64) -> String {
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
        .with_account_name("tack")
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    totp.generate((now + offset_steps * 30) as u64).to_string()
}

/// Turns two-factor on for the person `client` signs in as; returns the TOTP secret (base32).
pub async fn enable_totp(client: &Client) -> String {
    let ResponseBody::TotpSetup { secret, .. } = client.request(Request::BeginTotp).await.unwrap()
    else {
        panic!("BeginTotp did not answer with a setup")
    };
    client
        .request(Request::ConfirmTotp {
            code: totp_code(&secret, 0),
        })
        .await
        .unwrap();
    secret
}

/// `tack serve` on `data` with ephemeral ports and no HTTP endpoint, to run to its end (a
/// refusal, say) rather than as a `TestServer`.
pub fn serve_command(bin: &str, data: &Path) -> Command {
    let mut command = Command::new(bin);
    command
        .args([
            "serve",
            "--api",
            "127.0.0.1:0",
            "--ssh",
            "127.0.0.1:0",
            "--http",
            "",
        ])
        .arg("--data")
        .arg(data);
    command
}

/// Polls `check` until it holds; panics naming `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Peak resident memory of a process, from /proc (kB → bytes).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// A plain `CreateIssue` request: a title (and description) in a project, defaults otherwise.
pub fn create_issue(project: &str, title: &str, description: &str) -> Request {
    Request::CreateIssue(tack_protocol::NewIssue {
        project: project.into(),
        title: title.into(),
        description: description.into(),
        state: None,
        priority: tack_protocol::Priority::None,
        assignees: vec![],
        labels: vec![],
        estimate: None,
        due: None,
        parent: None,
    })
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
