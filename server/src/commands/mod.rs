//! The command language of `tack ctl` and of `ssh host <command>`: the noun–verb tree, the
//! request each command sends, and how answers are printed. It talks to the server only through
//! a protocol `Client`, so the same commands run locally, over TCP with a token, and over SSH as
//! the key's user, and no front end needs another's internals.

mod inputs;
mod nouns;
mod operator_nouns;
mod operator_tables;
mod output;
mod record_tables;
mod requests;
mod transfer;

use clap::Parser;
use tack_protocol::{Client, ClientError, Request};

pub use inputs::CommandIo;
pub use nouns::Noun;
pub use output::Output;
pub use requests::{Usage, request_for};
pub use transfer::{export, import};

/// Exit codes, as scripts see them.
pub mod exit {
    pub const OK: u8 = 0;
    pub const REFUSED: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const CANNOT_CONNECT: u8 = 3;
    /// `tack serve` stopped because its store failed (see the log); restart it.
    pub const STORE_FAILED: u8 = 75;
}

/// Sends one request and writes the answer (or the refusal) into `out`; returns the exit code.
pub async fn execute(client: &Client, request: Request, out: &mut Output) -> u8 {
    match client.request(request).await {
        Ok(body) => {
            output::print(client, out, body).await;
            exit::OK
        }
        Err(ClientError::Api(err)) => {
            if out.json {
                out.say(serde_json::to_string(&err).unwrap_or_default());
            }
            out.complain(format!("tack: {err}"));
            exit::REFUSED
        }
        Err(err) => {
            out.complain(format!("tack: {err}"));
            exit::CANNOT_CONNECT
        }
    }
}

/// The words of `ssh host <command>`, parsed: the command, or the answer to give at once
/// (help, a usage mistake).
pub enum ExecCommand {
    Run { noun: Box<Noun>, json: bool },
    Answer(u8, Output),
}

impl ExecCommand {
    pub fn parse(words: &[String]) -> ExecCommand {
        let argv = std::iter::once("tack".to_string()).chain(words.iter().cloned());
        match ExecArgs::try_parse_from(argv) {
            Ok(args) => ExecCommand::Run {
                noun: Box::new(args.noun),
                json: args.json,
            },
            Err(err) => {
                let mut out = Output::default();
                let rendered = err.render().to_string();
                if err.use_stderr() {
                    out.complain(rendered);
                    ExecCommand::Answer(exit::USAGE, out)
                } else {
                    out.say(rendered);
                    ExecCommand::Answer(exit::OK, out)
                }
            }
        }
    }

    /// Whether the command reads standard input (an argument of `-`): the exec channel's data
    /// is collected first only then.
    pub fn wants_stdin(words: &[String]) -> bool {
        words.iter().any(|w| w == "-")
    }
}

/// `tack ctl` run by a user over `ssh host <command>`: the command, as that user, with `stdin`
/// what the client piped in (when the command asked for it). No file of the server's is read
/// or written, whatever the arguments say.
pub async fn execute_remote(
    client: &Client,
    noun: Noun,
    json: bool,
    stdin: Option<String>,
) -> (u8, Output) {
    let io = CommandIo::Remote { stdin };
    let mut out = Output {
        json,
        ..Default::default()
    };
    let code = match noun {
        Noun::Export(export) => transfer::export(client, export, &mut out, &io).await,
        Noun::Import(import) => transfer::import(client, import, &mut out, &io).await,
        Noun::Watch { .. } => {
            out.complain(
                "tack: watch streams without end; run `tack ctl watch` with an API token instead",
            );
            exit::USAGE
        }
        noun => match request_for(noun, &io) {
            Ok(request) => execute(client, request, &mut out).await,
            Err(Usage(message)) => {
                out.complain(format!("tack: {message}"));
                exit::USAGE
            }
        },
    };
    (code, out)
}

/// The command tree as `ssh host …` sees it: no connection flags, the identity is the SSH key.
#[derive(Debug, clap::Parser)]
#[command(
    name = "ssh tack",
    about = "tack over ssh: the same commands as `tack ctl`, as you"
)]
struct ExecArgs {
    /// Machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    noun: Noun,
}
