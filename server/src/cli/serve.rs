//! `tack serve`, `tack restore` and `tack doctor`.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use tack_data::Store;
use tack_data_postgres::{PgConfig, PgStore};
use tack_data_sled::{SledStore, StoreConfig};
use tack_protocol::{Request, ResponseBody, ServerRole};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use super::ServeArgs;
use crate::commands::exit;
use crate::config::{Config, FlagOverrides, StoreEngine};
use crate::jobs::{JobSettings, Schedule, WebhookClient, Workers};
use crate::runtime::BreakerPolicy;
use crate::runtime::{BackupSettings, Runtime};
use crate::service::{Caller, Service, ServiceConfig};
use crate::socket::{ProtocolServer, bind_admin_socket};
use crate::ssh::SshServer;

/// The first admin invite lasts a week.
const FIRST_INVITE_SECS: u64 = 7 * 24 * 3600;

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

pub(super) fn create_data_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)?;
    // The admin socket inside acts as a server admin: nobody else may reach it.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

/// What the operator needs on first start; written to stdout, not the log.
fn print_banner(lines: &[String]) {
    let mut out = std::io::stdout().lock();
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
}

pub async fn run(args: ServeArgs) -> u8 {
    let flags = FlagOverrides {
        data: args.data,
        api: args.api,
        ssh: args.ssh,
        log_format: args.log_format,
        http: args.http,
    };
    let config = match Config::load(args.config.as_deref(), flags) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("tack: {err}");
            return exit::USAGE;
        }
    };
    init_logging(&config.log_format);
    match serve(config).await {
        Ok(()) => exit::OK,
        Err(err) => {
            tracing::error!(error = %err, "tack serve stopped");
            eprintln!("tack: {err:#}");
            exit::REFUSED
        }
    }
}

/// Every node of a cluster presents the host key its store keeps: the first node's. A node
/// whose own key differs takes the shared one into its data directory.
async fn use_the_shared_host_key(path: &std::path::Path, store: &dyn Store) -> anyhow::Result<()> {
    let own = tack_keys::load_or_generate_host_key(path)?;
    let own_text = tack_keys::host_key_text(&own)?;
    if let Some(shared) = store.shared_host_key(&own_text).await?
        && shared != own_text
    {
        tack_keys::replace_host_key(path, &shared)?;
        tracing::info!(file = %path.display(), "took the cluster's SSH host key");
    }
    Ok(())
}

/// The store the configuration names: sled in the data directory, or the shared PostgreSQL.
async fn open_store(config: &Config, pid_file: &std::path::Path) -> anyhow::Result<Arc<dyn Store>> {
    if let (StoreEngine::Postgres, Some(url)) = (config.store.engine, &config.store.url) {
        let pg = PgConfig {
            url: url.clone(),
            pool_size: config.store.pool_size.max(2),
        };
        tracing::info!(database = %tack_data_postgres::redacted(url), "opening the PostgreSQL store");
        return Ok(Arc::new(PgStore::open(&pg).await?));
    }
    let store_config = StoreConfig {
        path: config.store_path(),
        cache_capacity: config.store.cache_capacity_mb * 1024 * 1024,
        group_commit: config.store.group_commit,
        min_free_bytes: config.store.min_free_mb * 1024 * 1024,
        flush_timeout: std::time::Duration::from_secs(config.store.flush_timeout_secs.max(1)),
        durable_mark: config.store.durable_mark,
    };
    match tokio::task::spawn_blocking(move || SledStore::open(&store_config)).await? {
        Ok(store) => Ok(Arc::new(store)),
        Err(tack_data::StoreError::InUse { .. }) => {
            let pid = std::fs::read_to_string(pid_file).unwrap_or_default();
            let pid = pid.trim();
            anyhow::bail!(
                "another tack serve is using {}{}; stop it first",
                config.data.display(),
                if pid.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {pid})")
                }
            );
        }
        Err(err) => Err(err.into()),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    use anyhow::Context;
    create_data_dir(&config.data)
        .with_context(|| format!("cannot create the data directory {}", config.data.display()))?;
    let pid_file = config.data.join("tack.pid");
    let store = open_store(&config, &pid_file).await?;
    if let Err(err) = std::fs::write(&pid_file, format!("{}\n", std::process::id())) {
        tracing::warn!(error = %err, file = %pid_file.display(), "cannot write the pid file");
    }
    let backup_cron = crate::jobs::Schedule::parse_cron(&config.backup.schedule)
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    let mailer = crate::jobs::Mailer::from_config(&config.smtp)
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    let runtime = Arc::new(
        Runtime::new(
            BackupSettings {
                dir: config.backup_dir(),
                schedule: backup_cron
                    .as_ref()
                    .map(|_| config.backup.schedule.trim().to_string()),
                retention: config.backup.retention.max(1),
            },
            config.webhooks.allow_private_targets,
        )
        .with_totp_for_admins(config.security.require_totp_for_admins),
    );
    *runtime
        .jobs
        .policy
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = BreakerPolicy {
        threshold: config.webhooks.breaker_threshold.max(1),
        open_ms: (config.webhooks.breaker_open_secs.max(1) * 1000) as i64,
    };
    let service = Service::new(
        store.clone(),
        ServiceConfig {
            runtime: runtime.clone(),
            ..ServiceConfig::default()
        },
    );
    let background = CancellationToken::new();
    let http_stop = CancellationToken::new();
    let webhooks = WebhookClient::new(
        std::time::Duration::from_secs(config.webhooks.timeout_secs.max(1)),
        config.webhooks.allow_private_targets,
    )
    .context("cannot set up the webhook client")?;
    let workers = Workers::new(
        service.clone(),
        JobSettings {
            concurrency: config.jobs.concurrency.max(1),
            max_attempts: config.jobs.max_attempts.max(1),
            retry_base: std::time::Duration::from_millis(config.jobs.retry_base_ms.max(1)),
            retry_max: std::time::Duration::from_millis(config.jobs.retry_max_ms.max(1)),
            lease: std::time::Duration::from_secs(config.jobs.lease_secs.max(1)),
        },
        webhooks,
        mailer,
        Schedule {
            backup_cron,
            backup_dir: config.backup_dir(),
            retention: config.backup.retention.max(1),
            digest_hour: config.notifications.digest_hour.min(23),
            due_soon_hours: config.notifications.due_soon_hours,
            queued: Default::default(),
        },
    );
    let workers_task = tokio::spawn(workers.run(background.clone()));
    let search_dir = config.data.join("search");
    let store_seq = service
        .last_seq()
        .await
        .map_err(|err| anyhow::anyhow!("cannot read the store's last event: {err}"))?;
    let index = tokio::task::spawn_blocking(move || {
        crate::search_index::SearchIndex::open(&search_dir, store_seq)
    })
    .await?
    .context("cannot open the search index")?;
    let index = Arc::new(index);
    let _ = runtime.search.set(index.clone());
    tokio::spawn(crate::search::run_indexer(
        service.clone(),
        index,
        background.clone(),
    ));
    tokio::spawn(sample_metrics(service.clone(), background.clone()));
    tokio::spawn(exit_when_the_store_fails(service.clone()));
    tokio::spawn(service.clone().watch_token_revocations());
    let server = ProtocolServer::new(service.clone(), config.socket());

    let tcp = TcpListener::bind(&config.api)
        .await
        .with_context(|| format!("cannot listen on {}", config.api))?;
    let api_addr = tcp.local_addr()?;
    let admin_path = config.admin_socket();
    let unix = bind_admin_socket(&admin_path)
        .with_context(|| format!("cannot open the admin socket {}", admin_path.display()))?;
    let ssh_listener = TcpListener::bind(&config.ssh)
        .await
        .with_context(|| format!("cannot listen for ssh on {}", config.ssh))?;
    let ssh_addr = ssh_listener.local_addr()?;
    use_the_shared_host_key(&config.host_key(), service.store().as_ref()).await?;
    let ssh = SshServer::new(server.clone(), &config.host_key(), config.ssh_settings())?;
    tokio::spawn(server.clone().serve_tcp(tcp));
    tokio::spawn(server.clone().serve_unix(unix));
    tokio::spawn(ssh.clone().serve(ssh_listener));
    let http_addr = if config.http.trim().is_empty() {
        None
    } else {
        let listener = TcpListener::bind(config.http.trim())
            .await
            .with_context(|| format!("cannot listen for metrics on {}", config.http))?;
        let addr = listener.local_addr()?;
        tokio::spawn(crate::http::serve(
            service.clone(),
            listener,
            http_stop.clone(),
        ));
        Some(addr)
    };
    tracing::info!(api = %api_addr, admin_socket = %admin_path.display(), data = %config.data.display(), "tack is serving");

    let mut banner = vec![
        format!("tack {} serving", env!("CARGO_PKG_VERSION")),
        format!(
            "  ssh:             {ssh_addr} (ssh -p {} HOST)",
            ssh_addr.port()
        ),
        format!("  protocol socket: {api_addr}"),
        match http_addr {
            Some(addr) => format!("  metrics:         http://{addr}/metrics"),
            None => "  metrics:         off".into(),
        },
        format!(
            "  admin socket:    {} (tack ctl --socket {} …)",
            admin_path.display(),
            admin_path.display()
        ),
    ];
    if first_start(&service).await? {
        let invite = service
            .handle(
                &Caller::Console,
                Request::CreateInvite {
                    role: ServerRole::Admin,
                    expires_in_secs: FIRST_INVITE_SECS,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot create the first admin invite: {e}"))?;
        if let ResponseBody::InviteCreated { code, .. } = invite {
            banner.push(String::new());
            banner.push("First start: this one-time admin invite code is valid for 7 days:".into());
            banner.push(format!("  {code}"));
            banner.push(format!(
                "Redeem it: ssh -p {} localhost, and type the code at the prompt; or",
                ssh_addr.port()
            ));
            banner.push(format!(
                "           tack ctl --socket {} invite redeem {code} --handle YOU --name \"Your Name\" --key \"$(cat ~/.ssh/id_ed25519.pub)\"",
                admin_path.display()
            ));
        }
    }
    banner.push("Ready. Stop with Ctrl-C; every acknowledged write is kept.".into());
    print_banner(&banner);

    wait_for_signal().await?;
    tracing::info!("shutting down: no new connections, finishing requests in flight");
    // Unready first, so a load balancer stops sending work while in-flight work finishes.
    runtime.set_store_open(false);
    ssh.shutdown();
    background.cancel();
    let _ = workers_task.await;
    server.shutdown().await;
    store.shutdown().await;
    if config.shutdown_grace_secs > 0 {
        tracing::info!(
            secs = config.shutdown_grace_secs,
            "store closed; /readyz answers 503 until exit"
        );
        tokio::time::sleep(std::time::Duration::from_secs(config.shutdown_grace_secs)).await;
    }
    http_stop.cancel();
    let _ = std::fs::remove_file(&admin_path);
    tracing::info!("stopped; every acknowledged write is on disk");
    Ok(())
}

/// Feeds the Health view's sparklines.
async fn sample_metrics(service: Arc<Service>, stop: CancellationToken) {
    let mut every = tokio::time::interval(crate::runtime::metrics::SAMPLE_EVERY);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every.tick() => service.runtime().metrics.sample(),
        }
    }
}

/// A failed store (a flush that errs or hangs) cannot be trusted to answer: say why and exit, so
/// the supervisor restarts tack on a store reopened from disk. Never hang silently.
async fn exit_when_the_store_fails(service: Arc<Service>) {
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        if let tack_data::StoreHealth::Failed(reason) = service.store().health() {
            tracing::error!(%reason, "the store failed; exiting so the supervisor can restart tack");
            eprintln!("tack: the store failed: {reason}");
            std::process::exit(i32::from(exit::STORE_FAILED));
        }
    }
}

/// An empty store (no users, no invites) gets a first admin invite.
async fn first_start(service: &Service) -> anyhow::Result<bool> {
    let store = service.store();
    Ok(store.users().await?.is_empty() && store.invites().await?.is_empty())
}

async fn wait_for_signal() -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
