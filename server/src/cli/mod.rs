//! The `tack` command line: `serve`, `admin`, `ctl`, `backup`, `restore`, `doctor`.

mod admin;
mod ctl;
mod offline;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use ctl::CtlArgs;

use crate::commands::exit;

#[derive(Debug, Parser)]
#[command(
    name = "tack",
    version,
    about = "tack: an issue tracker and kanban board your team reaches with ssh"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// The admin console, full screen in this terminal (on the server machine).
    Admin {
        /// The data directory of the running server (its admin socket is inside).
        #[arg(long, default_value = "tack-data", conflicts_with = "socket")]
        data: PathBuf,
        #[arg(long, env = "TACK_SOCKET")]
        socket: Option<PathBuf>,
    },
    /// Talk to a running server: every request, as a command (JSON with --json).
    Ctl(Box<CtlArgs>),
    /// Write an online, consistent backup of a running server to FILE (on the server machine).
    Backup {
        file: PathBuf,
        /// The data directory of the running server (its admin socket is inside).
        #[arg(long, default_value = "tack-data", conflicts_with = "socket")]
        data: PathBuf,
        #[arg(long, env = "TACK_SOCKET")]
        socket: Option<PathBuf>,
    },
    /// Check a stopped server's store: indexes against records, orphans, counters. With
    /// --store, the PostgreSQL database (nodes may go on running).
    Doctor {
        #[arg(long, default_value = "tack-data")]
        data: PathBuf,
        /// The PostgreSQL database to check: postgres://user:password@host/database.
        #[arg(long, conflicts_with_all = ["salvage", "reindex"])]
        store: Option<String>,
        /// Rebuild the indexes and counters from the records.
        #[arg(long)]
        repair: bool,
        /// Throw the search index away; the next start rebuilds it from the store.
        #[arg(long)]
        reindex: bool,
        /// Copy every readable record of a damaged store into a new data directory (--out),
        /// rebuilding its indexes; the damaged store is left as it is.
        #[arg(long, requires = "out")]
        salvage: bool,
        /// Where --salvage writes the new data directory.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Rebuild a store from a backup into an empty data directory (sled) or an empty
    /// PostgreSQL database, verifying it first.
    Restore {
        file: PathBuf,
        #[arg(long, required_unless_present = "store", conflicts_with = "store")]
        data: Option<PathBuf>,
        /// The PostgreSQL database to restore into: postgres://user:password@host/database.
        #[arg(long, env = "TACK_STORE__URL", hide_env_values = true)]
        store: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Data directory (store, host key, admin socket). Default: ./tack-data
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Protocol socket address for bots and `tack ctl --addr`. Default: 127.0.0.1:7878
    #[arg(long)]
    pub api: Option<String>,
    /// Where people connect with ssh, HOST:PORT. Default: 0.0.0.0:2222
    #[arg(long)]
    pub ssh: Option<String>,
    /// Configuration file. Default: ./tack.toml if it exists.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Log format: human or json.
    #[arg(long)]
    pub log_format: Option<String>,
    /// Metrics and health endpoint, HOST:PORT (empty turns it off). Default: 127.0.0.1:9090
    #[arg(long)]
    pub http: Option<String>,
}

/// Entry point of the `tack` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Store reads run on the blocking pool; sled answers them from memory in microseconds, so a
    // small pool keeps up, and a burst of cache misses cannot fan out into hundreds of threads.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(16)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("tack: cannot start the async runtime: {err}");
            return ExitCode::from(exit::REFUSED);
        }
    };
    let code = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Admin { data, socket } => {
                admin::run(socket.unwrap_or_else(|| data.join("admin.sock"))).await
            }
            Command::Ctl(args) => ctl::run(*args).await,
            Command::Backup { file, data, socket } => {
                ctl::backup(file, socket.unwrap_or_else(|| data.join("admin.sock"))).await
            }
            Command::Restore {
                file,
                data: Some(data),
                ..
            } => offline::restore(file, data).await,
            Command::Restore {
                file,
                store: Some(url),
                ..
            } => offline::restore_into_postgres(file, url).await,
            Command::Restore { .. } => exit::USAGE,
            Command::Doctor {
                store: Some(url),
                repair,
                ..
            } => offline::doctor_postgres(url, repair).await,
            Command::Doctor {
                data,
                salvage: true,
                out: Some(out),
                ..
            } => offline::salvage(data, out).await,
            Command::Doctor {
                data,
                repair,
                reindex,
                ..
            } => offline::doctor(data, repair, reindex).await,
        }
    });
    // Let the blocking pool (store reads) wind down without waiting on idle threads.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    ExitCode::from(code)
}
