//! The sections of `tack.toml` below the top level, each with its defaults.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::socket::SocketConfig;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct JobsSection {
    /// Jobs run at once.
    pub concurrency: usize,
    /// Attempts before a job is dead-lettered.
    pub max_attempts: u32,
    /// The first retry waits this long; each next one twice as long (with jitter), up to
    /// `retry_max_ms`.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// With several nodes on PostgreSQL, a node takes a job for this long; if it dies
    /// mid-job, another node runs the job once the lease is over. Longer than any job runs.
    pub lease_secs: u64,
}

impl Default for JobsSection {
    fn default() -> Self {
        JobsSection {
            concurrency: 4,
            max_attempts: 8,
            retry_base_ms: 5_000,
            retry_max_ms: 3_600_000,
            lease_secs: 300,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpSection {
    /// Empty: email is off (notifications stay in the inbox).
    pub host: String,
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    pub tls: String,
    pub username: String,
    pub password: String,
    pub from: String,
    pub timeout_secs: u64,
    /// A PEM certificate of a private CA to trust for `starttls`/`tls` (besides the public
    /// ones); empty: only the public ones.
    pub ca_file: PathBuf,
}

impl Default for SmtpSection {
    fn default() -> Self {
        SmtpSection {
            host: String::new(),
            port: 587,
            tls: "starttls".into(),
            username: String::new(),
            password: String::new(),
            from: "tack <tack@localhost>".into(),
            timeout_secs: 30,
            ca_file: PathBuf::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhooksSection {
    /// Allow targets in private, loopback and link-local ranges (refused by default: SSRF).
    pub allow_private_targets: bool,
    pub timeout_secs: u64,
    /// Consecutive failures that open an endpoint's breaker.
    pub breaker_threshold: u32,
    /// How long an open breaker waits before one probe.
    pub breaker_open_secs: u64,
}

impl Default for WebhooksSection {
    fn default() -> Self {
        WebhooksSection {
            allow_private_targets: false,
            timeout_secs: 10,
            breaker_threshold: 5,
            breaker_open_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupSection {
    /// A cron expression (`0 3 * * *`: every day at 03:00 UTC); empty: no scheduled backups.
    pub schedule: String,
    /// Scheduled backups kept; older ones are deleted.
    pub retention: u32,
    /// Where backups go; relative paths are inside the data directory.
    pub dir: PathBuf,
}

impl Default for BackupSection {
    fn default() -> Self {
        BackupSection {
            schedule: String::new(),
            retention: 7,
            dir: PathBuf::from("backups"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationsSection {
    /// The hour (UTC) daily digests go out.
    pub digest_hour: u32,
    /// Issues due within this many hours remind their assignees.
    pub due_soon_hours: u32,
}

impl Default for NotificationsSection {
    fn default() -> Self {
        NotificationsSection {
            digest_hour: 8,
            due_soon_hours: 24,
        }
    }
}

/// Where the records are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreEngine {
    /// Embedded, in the data directory: one machine.
    Sled,
    /// A PostgreSQL database that several `tack serve` nodes share.
    Postgres,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StoreSection {
    pub engine: StoreEngine,
    /// The PostgreSQL database (`postgres://user:password@host/db`), for `engine = "postgres"`.
    /// Its password never appears in logs or errors.
    pub url: Option<String>,
    /// Connections each node keeps to PostgreSQL.
    pub pool_size: usize,
    pub cache_capacity_mb: u64,
    /// Share flushes among concurrent writes. Turning it off is for benchmarks only.
    pub group_commit: bool,
    /// Writes are refused (reads go on) while the volume has less free than this, or than a
    /// tenth of the volume when that is less; they resume by themselves.
    pub min_free_mb: u64,
    /// A flush that takes longer fails the store: readiness turns 503 and the server exits
    /// for its supervisor to restart it.
    pub flush_timeout_secs: u64,
    /// Record the last durable event beside the store, so a store whose log lost its end is
    /// refused. Turning it off is for benchmarks only.
    pub durable_mark: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SecuritySection {
    /// Server admins must use a TOTP code after their key; until they enrol, they can do
    /// nothing else.
    pub require_totp_for_admins: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SshSection {
    pub max_unauthenticated: usize,
    pub max_unauthenticated_per_source: usize,
    pub login_grace_secs: u64,
    pub max_auth_attempts: usize,
    pub max_sessions_per_user: usize,
    pub idle_timeout_secs: u64,
    /// On a shared store: how long a node's count of a person's sessions holds unless the node
    /// renews it, so a node that dies frees its people's places.
    pub session_lease_secs: u64,
}

impl Default for SshSection {
    fn default() -> Self {
        let ssh = crate::ssh::SshSettings::default();
        SshSection {
            max_unauthenticated: ssh.max_unauthenticated,
            max_unauthenticated_per_source: ssh.max_unauthenticated_per_source,
            login_grace_secs: ssh.login_grace.as_secs(),
            max_auth_attempts: ssh.max_auth_attempts,
            max_sessions_per_user: ssh.max_sessions_per_user,
            idle_timeout_secs: ssh.idle_timeout.as_secs(),
            session_lease_secs: ssh.session_lease.as_secs(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitsSection {
    pub max_connections: usize,
    pub max_console_connections: usize,
    pub max_pending_handshakes: usize,
    pub max_pending_handshakes_per_source: usize,
    pub max_anonymous: usize,
    pub max_anonymous_per_source: usize,
    pub anonymous_idle_secs: u64,
    pub handshake_timeout_secs: u64,
    pub max_frame_bytes: usize,
    pub requests_per_second: u32,
    pub request_burst: u32,
    pub max_in_flight_per_connection: usize,
}

impl std::fmt::Debug for StoreSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSection")
            .field("engine", &self.engine)
            // It may hold a password.
            .field("url", &self.url.as_ref().map(|_| "(set)"))
            .field("pool_size", &self.pool_size)
            .field("cache_capacity_mb", &self.cache_capacity_mb)
            .field("group_commit", &self.group_commit)
            .field("min_free_mb", &self.min_free_mb)
            .field("flush_timeout_secs", &self.flush_timeout_secs)
            .field("durable_mark", &self.durable_mark)
            .finish()
    }
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            engine: StoreEngine::Sled,
            url: None,
            pool_size: 16,
            cache_capacity_mb: 128,
            group_commit: true,
            min_free_mb: 256,
            flush_timeout_secs: 30,
            durable_mark: true,
        }
    }
}

impl Default for LimitsSection {
    fn default() -> Self {
        let socket = SocketConfig::default();
        LimitsSection {
            max_connections: socket.max_connections,
            max_console_connections: socket.max_console_connections,
            max_pending_handshakes: socket.max_pending,
            max_pending_handshakes_per_source: socket.max_pending_per_source,
            max_anonymous: socket.max_anonymous,
            max_anonymous_per_source: socket.max_anonymous_per_source,
            anonymous_idle_secs: socket.anonymous_idle_timeout.as_secs(),
            handshake_timeout_secs: socket.handshake_timeout.as_secs(),
            max_frame_bytes: socket.decode_limit,
            requests_per_second: socket.requests_per_second,
            request_burst: socket.request_burst,
            max_in_flight_per_connection: socket.max_in_flight,
        }
    }
}
