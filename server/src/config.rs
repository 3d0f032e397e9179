//! Configuration: defaults < `tack.toml` < `TACK_*` environment < command-line flags.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::socket::SocketConfig;
use crate::socket::proxy_protocol::TrustedProxies;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Where the store, the host key and the admin socket live.
    pub data: PathBuf,
    /// The protocol socket for bots and `tack ctl --addr`.
    pub api: String,
    /// Where people connect with `ssh -p 2222 host`.
    pub ssh: String,
    pub store: StoreSection,
    pub limits: LimitsSection,
    #[serde(rename = "ssh_limits")]
    pub ssh_limits: SshSection,
    pub security: SecuritySection,
    /// `human` or `json`.
    pub log_format: String,
    /// `/metrics`, `/healthz` and `/readyz`; empty turns them off.
    pub http: String,
    /// After the store closes at shutdown, keep `/readyz` answering 503 this long before exit.
    pub shutdown_grace_secs: u64,
    pub jobs: JobsSection,
    pub smtp: SmtpSection,
    pub webhooks: WebhooksSection,
    pub backup: BackupSection,
    pub notifications: NotificationsSection,
    /// Load balancers (addresses or networks) whose PROXY v2 headers name the real client, on
    /// the SSH and protocol listeners; a connection from one must send a header.
    pub trusted_proxies: Vec<String>,
}

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

impl Default for Config {
    fn default() -> Self {
        Config {
            data: PathBuf::from("tack-data"),
            api: "127.0.0.1:7878".into(),
            ssh: "0.0.0.0:2222".into(),
            store: StoreSection::default(),
            limits: LimitsSection::default(),
            ssh_limits: SshSection::default(),
            security: SecuritySection::default(),
            log_format: "human".into(),
            http: "127.0.0.1:9090".into(),
            shutdown_grace_secs: 0,
            jobs: JobsSection::default(),
            smtp: SmtpSection::default(),
            webhooks: WebhooksSection::default(),
            backup: BackupSection::default(),
            notifications: NotificationsSection::default(),
            trusted_proxies: Vec::new(),
        }
    }
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

/// Flags given on the command line; only those present override the layers below.
#[derive(Debug, Default, Serialize)]
pub struct FlagOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
}

/// The configuration's top-level keys, as `TACK_*` environment variables may set them.
const ENV_SECTIONS: &[&str] = &[
    "data",
    "api",
    "ssh",
    "log_format",
    "http",
    "shutdown_grace_secs",
    "store",
    "limits",
    "ssh_limits",
    "security",
    "jobs",
    "smtp",
    "webhooks",
    "backup",
    "notifications",
    "trusted_proxies",
];

impl Config {
    /// Loads the layers. Without `--config`, `./tack.toml` is read if it exists.
    pub fn load(file: Option<&Path>, flags: FlagOverrides) -> Result<Config, String> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) if !path.exists() => {
                return Err(format!("config file {} does not exist", path.display()));
            }
            Some(path) => figment = figment.merge(Toml::file(path)),
            None if Path::new("tack.toml").exists() => {
                figment = figment.merge(Toml::file("tack.toml"))
            }
            None => {}
        }
        let config: Config = figment
            .merge(Env::prefixed("TACK_").split("__").filter(|key| {
                // `TACK_LIMITS__MAX_CONNECTIONS` is `limits.max_connections`: keep every key of a
                // section we have, and none of the client's variables (`TACK_TOKEN`, …).
                let section = key.as_str().split('.').next().unwrap_or_default();
                ENV_SECTIONS.iter().any(|s| s.eq_ignore_ascii_case(section))
            }))
            .merge(Serialized::defaults(flags))
            .extract()
            .map_err(|e| format!("invalid configuration: {e}"))?;
        TrustedProxies::parse(&config.trusted_proxies)?;
        match (config.store.engine, &config.store.url) {
            (StoreEngine::Postgres, None) => {
                return Err(
                    "invalid configuration: store.engine = \"postgres\" needs store.url \
                            (postgres://user:password@host/database, or TACK_STORE__URL)"
                        .into(),
                );
            }
            (StoreEngine::Sled, Some(_)) => {
                return Err(
                    "invalid configuration: store.url is set but store.engine is \"sled\"; \
                            set store.engine = \"postgres\" to use the database"
                        .into(),
                );
            }
            _ => {}
        }
        if config.limits.max_frame_bytes < 1024 {
            return Err(
                "invalid configuration: limits.max_frame_bytes must be at least 1024".into(),
            );
        }
        Ok(config)
    }

    pub fn socket(&self) -> SocketConfig {
        SocketConfig {
            max_connections: self.limits.max_connections.max(1),
            max_console_connections: self.limits.max_console_connections.max(1),
            max_pending: self.limits.max_pending_handshakes.max(1),
            max_pending_per_source: self.limits.max_pending_handshakes_per_source.max(1),
            max_anonymous: self.limits.max_anonymous.max(1),
            max_anonymous_per_source: self.limits.max_anonymous_per_source.max(1),
            anonymous_idle_timeout: Duration::from_secs(self.limits.anonymous_idle_secs.max(1)),
            handshake_timeout: Duration::from_secs(self.limits.handshake_timeout_secs.max(1)),
            decode_limit: self.limits.max_frame_bytes,
            requests_per_second: self.limits.requests_per_second,
            request_burst: self.limits.request_burst,
            max_in_flight: self.limits.max_in_flight_per_connection.max(1),
            trusted_proxies: self.trusted_proxies(),
        }
    }

    pub fn ssh_settings(&self) -> crate::ssh::SshSettings {
        let ssh = &self.ssh_limits;
        crate::ssh::SshSettings {
            max_unauthenticated: ssh.max_unauthenticated.max(1),
            max_unauthenticated_per_source: ssh.max_unauthenticated_per_source.max(1),
            login_grace: Duration::from_secs(ssh.login_grace_secs.max(1)),
            max_auth_attempts: ssh.max_auth_attempts.max(1),
            max_sessions_per_user: ssh.max_sessions_per_user.max(1),
            idle_timeout: Duration::from_secs(ssh.idle_timeout_secs.max(1)),
            session_lease: Duration::from_secs(ssh.session_lease_secs.max(1)),
            require_totp_for_admins: self.security.require_totp_for_admins,
            trusted_proxies: self.trusted_proxies(),
        }
    }

    /// The proxies `load` checked.
    fn trusted_proxies(&self) -> TrustedProxies {
        TrustedProxies::parse(&self.trusted_proxies).unwrap_or_default()
    }

    pub fn store_path(&self) -> PathBuf {
        self.data.join("store")
    }

    pub fn host_key(&self) -> PathBuf {
        self.data.join("host_ed25519")
    }

    pub fn admin_socket(&self) -> PathBuf {
        self.data.join("admin.sock")
    }

    pub fn backup_dir(&self) -> PathBuf {
        self.data.join(&self.backup.dir)
    }
}

#[cfg(test)]
// figment's Jail returns its own large error type; these are tests.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        // In a jail: another test sets TACK_* variables, and jails take turns.
        figment::Jail::expect_with(|_| {
            flags_beat_the_file();
            Ok(())
        });
    }

    fn flags_beat_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tack.toml");
        std::fs::write(
            &file,
            "api = \"127.0.0.1:9999\"\n[limits]\nrequests_per_second = 5\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), FlagOverrides::default()).unwrap();
        assert_eq!(config.api, "127.0.0.1:9999");
        assert_eq!(config.limits.requests_per_second, 5);
        assert_eq!(config.limits.max_connections, 1024);
        let flags = FlagOverrides {
            api: Some("127.0.0.1:1".into()),
            ..Default::default()
        };
        assert_eq!(Config::load(Some(&file), flags).unwrap().api, "127.0.0.1:1");
    }

    #[test]
    fn a_trusted_proxy_entry_that_is_no_address_stops_the_start() {
        figment::Jail::expect_with(|_| {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("tack.toml");
            std::fs::write(
                &file,
                "trusted_proxies = [\"10.0.0.0/8\", \"lb.internal\"]\n",
            )
            .unwrap();
            let err = Config::load(Some(&file), FlagOverrides::default()).unwrap_err();
            assert!(err.contains("\"lb.internal\""), "{err}");
            std::fs::write(&file, "trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n").unwrap();
            let config = Config::load(Some(&file), FlagOverrides::default()).unwrap();
            assert!(
                config
                    .ssh_settings()
                    .trusted_proxies
                    .trusts("10.9.8.7".parse().unwrap())
            );
            assert!(
                config
                    .socket()
                    .trusted_proxies
                    .trusts("::1".parse().unwrap())
            );
            Ok(())
        });
    }

    #[test]
    fn the_example_file_lists_every_option_at_its_default() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tack.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let from_file: toml::Value = toml::from_str(&text).unwrap();
        let defaults = toml::Value::try_from(Config::default()).unwrap();
        assert_eq!(
            from_file, defaults,
            "tack.example.toml and Config::default() disagree"
        );
    }

    #[test]
    fn every_section_can_be_set_from_the_environment() {
        let sections: Vec<String> = match toml::Value::try_from(Config::default()).unwrap() {
            toml::Value::Table(table) => table.keys().cloned().collect(),
            other => panic!("{other:?}"),
        };
        let mut listed: Vec<String> = ENV_SECTIONS.iter().map(|s| s.to_string()).collect();
        let mut sections = sections;
        sections.sort();
        listed.sort();
        assert_eq!(
            sections, listed,
            "ENV_SECTIONS must name every configuration key"
        );
        figment::Jail::expect_with(|jail| {
            for (key, value) in [
                ("TACK_DATA", "/srv/tack"),
                ("TACK_API", "127.0.0.1:1"),
                ("TACK_SSH", "127.0.0.1:2"),
                ("TACK_HTTP", "127.0.0.1:3"),
                ("TACK_LOG_FORMAT", "json"),
                ("TACK_SHUTDOWN_GRACE_SECS", "4"),
                ("TACK_STORE__CACHE_CAPACITY_MB", "64"),
                ("TACK_LIMITS__REQUESTS_PER_SECOND", "1"),
                ("TACK_SSH_LIMITS__MAX_AUTH_ATTEMPTS", "3"),
                ("TACK_SECURITY__REQUIRE_TOTP_FOR_ADMINS", "true"),
                ("TACK_JOBS__CONCURRENCY", "2"),
                ("TACK_SMTP__PORT", "2525"),
                ("TACK_WEBHOOKS__TIMEOUT_SECS", "3"),
                ("TACK_BACKUP__RETENTION", "5"),
                ("TACK_NOTIFICATIONS__DIGEST_HOUR", "6"),
                // A client's variable is not configuration.
                ("TACK_TOKEN", "tack_x_y"),
            ] {
                jail.set_env(key, value);
            }
            let config = Config::load(None, FlagOverrides::default()).unwrap();
            assert_eq!(config.data, PathBuf::from("/srv/tack"));
            assert_eq!(
                (
                    config.api.as_str(),
                    config.ssh.as_str(),
                    config.http.as_str()
                ),
                ("127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3")
            );
            assert_eq!(config.log_format, "json");
            assert_eq!(config.shutdown_grace_secs, 4);
            assert_eq!(config.store.cache_capacity_mb, 64);
            assert_eq!(config.limits.requests_per_second, 1);
            assert_eq!(config.ssh_limits.max_auth_attempts, 3);
            assert!(config.security.require_totp_for_admins);
            assert_eq!(config.jobs.concurrency, 2);
            assert_eq!(config.smtp.port, 2525);
            assert_eq!(config.webhooks.timeout_secs, 3);
            assert_eq!(config.backup.retention, 5);
            assert_eq!(config.notifications.digest_hour, 6);
            Ok(())
        });
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        assert!(
            Config::load(
                Some(Path::new("/nonexistent/tack.toml")),
                FlagOverrides::default()
            )
            .is_err()
        );
    }
}
