//! Configuration: defaults < `tack.toml` < `TACK_*` environment < command-line flags.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::socket::SocketConfig;
use crate::socket::proxy_protocol::TrustedProxies;

mod sections;

pub use sections::*;

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
