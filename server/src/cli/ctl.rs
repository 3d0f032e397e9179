//! `tack ctl`: every request as a command, over the admin socket or TCP with a token.

use std::path::PathBuf;

use clap::Args;
use tack_protocol::{Client, ClientError, Credentials, EventFeed, Request, ResponseBody};

use crate::commands::{CommandIo, Noun, Output, Usage, execute, exit, request_for};

#[derive(Debug, Args)]
pub struct CtlArgs {
    /// The admin socket of a local server (acts as the console).
    #[arg(long, env = "TACK_SOCKET", global = true, conflicts_with = "addr")]
    pub socket: Option<PathBuf>,
    /// A server's protocol socket, HOST:PORT.
    #[arg(long, env = "TACK_ADDR", global = true)]
    pub addr: Option<String>,
    /// An API token (tack_<id>_<secret>) for --addr.
    #[arg(long, env = "TACK_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub noun: Noun,
}

/// Where to connect, from flags and environment.
#[derive(Clone)]
enum Target {
    Socket(PathBuf),
    Tcp { addr: String, token: Option<String> },
}

impl Target {
    fn from_args(args: &CtlArgs) -> Target {
        match (&args.socket, &args.addr) {
            (Some(socket), _) => Target::Socket(socket.clone()),
            (None, Some(addr)) => Target::Tcp {
                addr: addr.clone(),
                token: args.token.clone(),
            },
            (None, None) => {
                let default_socket = PathBuf::from("tack-data/admin.sock");
                if args.token.is_none() && default_socket.exists() {
                    Target::Socket(default_socket)
                } else {
                    Target::Tcp {
                        addr: "127.0.0.1:7878".into(),
                        token: args.token.clone(),
                    }
                }
            }
        }
    }

    async fn connect(&self) -> Result<Client, ClientError> {
        match self {
            Target::Socket(path) => Client::connect_unix(path).await,
            Target::Tcp { addr, token } => {
                let credentials = token.clone().map_or(Credentials::None, Credentials::Token);
                Client::connect_tcp(addr, credentials).await
            }
        }
    }
}

fn connect_failed(err: &ClientError) -> u8 {
    match err {
        ClientError::Refused(api) => {
            eprintln!("tack: {api}");
            exit::REFUSED
        }
        other => {
            eprintln!("tack: {other}");
            eprintln!(
                "hint: is the server running? Point at it with --socket PATH or --addr HOST:PORT --token TOKEN"
            );
            exit::CANNOT_CONNECT
        }
    }
}

pub async fn run(args: CtlArgs) -> u8 {
    let target = Target::from_args(&args);
    if let Noun::Watch {
        project,
        after,
        query,
    } = args.noun
    {
        return watch(target, project, after, query).await;
    }
    let mut out = Output {
        json: args.json,
        ..Default::default()
    };
    let code = match args.noun {
        Noun::Export(export) => match target.connect().await {
            Ok(client) => {
                crate::commands::export(&client, export, &mut out, &CommandIo::Local).await
            }
            Err(err) => return connect_failed(&err),
        },
        Noun::Import(import) => match target.connect().await {
            Ok(client) => {
                crate::commands::import(&client, import, &mut out, &CommandIo::Local).await
            }
            Err(err) => return connect_failed(&err),
        },
        noun => {
            let request = match request_for(noun, &CommandIo::Local) {
                Ok(request) => request,
                Err(Usage(message)) => {
                    eprintln!("tack: {message}");
                    return exit::USAGE;
                }
            };
            let client = match target.connect().await {
                Ok(client) => client,
                Err(err) => return connect_failed(&err),
            };
            execute(&client, request, &mut out).await
        }
    };
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    code
}

async fn watch(
    target: Target,
    project: Option<String>,
    after: Option<u64>,
    query: Option<String>,
) -> u8 {
    // Connect once up front so a wrong address or token fails fast with the right exit code.
    if let Err(err) = target.connect().await {
        return connect_failed(&err);
    }
    let connector = target.clone();
    let mut feed = EventFeed::new(
        move || {
            let target = connector.clone();
            async move { target.connect().await }
        },
        project,
        after,
    )
    .with_query(query);
    loop {
        match feed.next().await {
            Ok(event) => println!("{}", serde_json::to_string(&event).unwrap_or_default()),
            Err(err) => {
                eprintln!("tack: {err}");
                return exit::REFUSED;
            }
        }
    }
}

pub async fn backup(file: PathBuf, socket: PathBuf) -> u8 {
    let absolute = if file.is_absolute() {
        file
    } else {
        std::env::current_dir()
            .map(|d| d.join(&file))
            .unwrap_or(file)
    };
    let client = match Client::connect_unix(&socket).await {
        Ok(client) => client,
        Err(err) => return connect_failed(&err),
    };
    match client
        .request(Request::Backup {
            path: absolute.display().to_string(),
        })
        .await
    {
        Ok(ResponseBody::Backup(summary)) => {
            println!(
                "backup written to {} ({} bytes, {} records, sha256 {})",
                summary.path, summary.bytes, summary.records, summary.checksum
            );
            exit::OK
        }
        Ok(other) => {
            eprintln!("tack: unexpected answer {other:?}");
            exit::REFUSED
        }
        Err(err) => {
            eprintln!("tack: {err}");
            exit::REFUSED
        }
    }
}
