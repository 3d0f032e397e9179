//! The session driver: one task per SSH session. It runs the shared app loop (`terminal`) over an
//! in-memory protocol connection, writing frames through the channel, which waits for the
//! client's window; it also runs one-shot `ssh host <command>` execs and the registration form.

use std::sync::Arc;

use russh::server::Msg as SshMsg;
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf};
use tack_protocol::transport::in_memory_pair;
use tack_protocol::{Client, ClientHello, Credentials, Request, ResponseBody};
use tack_tui::register::{RegisterForm, RegisterOutcome};
use tack_tui::{ColorSupport, InputParser, Theme};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::handler::Who;
use crate::commands::ExecCommand;
use crate::service::Caller;
use crate::socket::{Peer, ProtocolServer};
use crate::terminal::{
    DriverInput, ENTER, FrameSink, LEAVE, Opening, Screen, Sizes, Terminal, Woken, next_input,
    run_app,
};

async fn send(writer: &ChannelWriteHalf<SshMsg>, bytes: Vec<u8>) -> bool {
    writer.data_bytes(bytes).await.is_ok()
}

impl FrameSink for ChannelWriteHalf<SshMsg> {
    async fn send(&self, bytes: Vec<u8>) -> bool {
        send(self, bytes).await
    }
}

async fn finish(writer: &ChannelWriteHalf<SshMsg>, status: u32) {
    let _ = writer.exit_status(status).await;
    let _ = writer.eof().await;
    let _ = writer.close().await;
}

/// Says why a session cannot start, then closes it.
pub async fn refuse(writer: ChannelWriteHalf<SshMsg>, message: &str) {
    let _ = send(&writer, format!("{message}\r\n").into_bytes()).await;
    finish(&writer, 1).await;
}

async fn connect(
    protocol: &Arc<ProtocolServer>,
    caller: Caller,
) -> Result<Client, tack_protocol::ClientError> {
    let (client_end, server_end) = in_memory_pair();
    protocol
        .clone()
        .spawn_connection(server_end, Peer::Authenticated(caller));
    Client::connect(
        client_end,
        ClientHello::new("tack-ssh", Credentials::None),
        tack_protocol::codec::DEFAULT_DECODE_LIMIT,
    )
    .await
}

/// The most an exec command reads from its channel as standard input.
const MAX_EXEC_STDIN: usize = 1024 * 1024;

/// Says why a command failed on its error stream, then ends it with `status`.
pub async fn complain(writer: &ChannelWriteHalf<SshMsg>, message: &str, status: u32) {
    let _ = writer
        .extended_data_bytes(1, format!("tack: {message}\n").into_bytes())
        .await;
    finish(writer, status).await;
}

/// What the client piped into the exec channel, up to its end (EOF), bounded in size.
async fn read_stdin(reader: &mut ChannelReadHalf) -> Result<String, String> {
    let mut bytes = Vec::new();
    while let Some(message) = reader.wait().await {
        match message {
            ChannelMsg::Data { data } => {
                if bytes.len() + data.len() > MAX_EXEC_STDIN {
                    return Err(format!(
                        "standard input is larger than {} MiB; attach less, or use `tack ctl` on your machine",
                        MAX_EXEC_STDIN / (1024 * 1024)
                    ));
                }
                bytes.extend_from_slice(&data);
            }
            ChannelMsg::Eof | ChannelMsg::Close => break,
            _ => {}
        }
    }
    String::from_utf8(bytes).map_err(|_| "standard input is not UTF-8 text".to_string())
}

/// `ssh host <command>`: one `tack ctl` command as the key's user, its output, its exit code.
/// `-` reads the channel's own standard input; nothing on the server is read. `stop` ends it
/// when the key is removed or the account disabled, like a full-screen session.
pub async fn exec(
    protocol: Arc<ProtocolServer>,
    caller: Caller,
    command: String,
    mut reader: ChannelReadHalf,
    writer: ChannelWriteHalf<SshMsg>,
    stop: CancellationToken,
) {
    let words = match shell_words::split(&command) {
        Ok(words) => words,
        Err(err) => return complain(&writer, &format!("cannot read the command ({err})"), 2).await,
    };
    let (noun, json) = match ExecCommand::parse(&words) {
        ExecCommand::Run { noun, json } => (noun, json),
        ExecCommand::Answer(code, out) => return write_output(&writer, code, out).await,
    };
    let run = async {
        let stdin = if ExecCommand::wants_stdin(&words) {
            match read_stdin(&mut reader).await {
                Ok(text) => Some(text),
                Err(message) => return Err((2, message)),
            }
        } else {
            None
        };
        drop(reader);
        let client = connect(&protocol, caller)
            .await
            .map_err(|err| (3, err.to_string()))?;
        Ok(crate::commands::execute_remote(&client, *noun, json, stdin).await)
    };
    tokio::select! {
        _ = stop.cancelled() => {
            complain(&writer, "this session was ended: its key was removed or the account disabled", 1).await;
        }
        outcome = run => match outcome {
            Ok((code, out)) => write_output(&writer, code, out).await,
            Err((code, message)) => complain(&writer, &message, code).await,
        },
    }
}

async fn write_output(writer: &ChannelWriteHalf<SshMsg>, code: u8, out: crate::commands::Output) {
    if !out.stdout.is_empty() {
        let _ = writer.data_bytes(out.stdout.into_bytes()).await;
    }
    if !out.stderr.is_empty() {
        let _ = writer.extended_data_bytes(1, out.stderr.into_bytes()).await;
    }
    finish(writer, u32::from(code)).await;
}

/// Runs the full-screen app for one session until the person quits or the connection ends.
pub async fn run(
    protocol: Arc<ProtocolServer>,
    who: Who,
    writer: ChannelWriteHalf<SshMsg>,
    mut input: mpsc::Receiver<DriverInput>,
    mut sizes: Sizes,
    term: Terminal,
    stop: CancellationToken,
) {
    let support = ColorSupport::detect(
        term.term.as_deref(),
        term.colorterm.as_deref(),
        term.no_color,
    );
    let theme = Theme::new(support);
    let Ok(mut screen) = Screen::new(*sizes.borrow_and_update()) else {
        return;
    };
    if !send(&writer, ENTER.to_vec()).await {
        return;
    }
    let mut parser = InputParser::default();
    let caller = match who {
        Who::Known { caller, .. } => Some(caller),
        Who::Invited { key, code } => {
            register(
                &protocol,
                &writer,
                &mut input,
                &mut sizes,
                &mut screen,
                &mut parser,
                &theme,
                key,
                code,
                &stop,
            )
            .await
        }
    };
    if let Some(caller) = caller {
        let opening = if matches!(caller, Caller::Enrolling { .. }) {
            Opening::TwoFactor
        } else {
            Opening::Home
        };
        if let Ok(client) = connect(&protocol, caller).await {
            run_app(
                client,
                opening,
                &writer,
                &mut input,
                &mut sizes,
                &mut screen,
                &mut parser,
                theme,
                &stop,
            )
            .await;
        }
    }
    let _ = send(&writer, LEAVE.to_vec()).await;
    finish(&writer, 0).await;
}

#[allow(clippy::too_many_arguments)]
async fn register(
    protocol: &Arc<ProtocolServer>,
    writer: &ChannelWriteHalf<SshMsg>,
    input: &mut mpsc::Receiver<DriverInput>,
    sizes: &mut Sizes,
    screen: &mut Screen,
    parser: &mut InputParser,
    theme: &Theme,
    key: russh::keys::ssh_key::PublicKey,
    code: String,
    stop: &CancellationToken,
) -> Option<Caller> {
    let client = connect(protocol, Caller::Anonymous).await.ok()?;
    let public_key = key.to_openssh().ok()?;
    let mut form = RegisterForm::default();
    loop {
        let bytes = screen.frame(|frame| form.draw(theme, frame)).ok()?;
        if !send(writer, bytes).await {
            return None;
        }
        let events = match next_input(input, sizes, parser, stop).await? {
            Woken::Input(DriverInput::Bytes(bytes)) => parser.feed(&bytes),
            Woken::Resized(size) => {
                screen.resize(size).ok()?;
                Vec::new()
            }
            Woken::EscapeTimeout => parser.flush_escape().into_iter().collect(),
        };
        for event in events {
            match form.on_input(event) {
                RegisterOutcome::Editing => {}
                RegisterOutcome::Quit => return None,
                RegisterOutcome::Submit {
                    handle,
                    display_name,
                } => {
                    let request = Request::RedeemInvite {
                        code: code.clone(),
                        handle,
                        display_name,
                        public_key: Some(public_key.clone()),
                        token_name: None,
                    };
                    match client.request(request).await {
                        Ok(ResponseBody::Redeemed { user, .. }) => {
                            return Some(Caller::User { user, token: None });
                        }
                        Ok(_) => form.error = Some("unexpected answer from the server".into()),
                        Err(tack_protocol::ClientError::Api(err)) => {
                            form.error = Some(err.to_string())
                        }
                        Err(err) => form.error = Some(err.to_string()),
                    }
                }
            }
        }
    }
}
