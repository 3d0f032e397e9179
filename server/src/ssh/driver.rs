//! The session driver: one task per SSH session. Input bytes become events for the app; the app's
//! requests go to the service over an in-memory protocol connection; frames are drawn into a
//! buffer and written through the channel, which waits for the client's window. While a frame
//! is being written, input and events pile up and the next frame shows all of them: a slow
//! client gets the newest screen, never a backlog.

use std::sync::Arc;
use std::time::Duration;

use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Frame, TerminalOptions, Viewport};
use russh::ChannelWriteHalf;
use russh::server::Msg as SshMsg;
use tack_protocol::transport::in_memory_pair;
use tack_protocol::{ApiError, Client, ClientHello, Credentials, Request, ResponseBody};
use tack_tui::register::{RegisterForm, RegisterOutcome};
use tack_tui::{App, ColorSupport, Command, InputParser, Msg, Theme};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::handler::Who;
use crate::service::Caller;
use crate::socket::{Peer, ProtocolServer};

/// Alternate screen, bracketed paste, SGR mouse, hidden cursor.
const ENTER: &[u8] = b"\x1b[?1049h\x1b[?2004h\x1b[?1000h\x1b[?1002h\x1b[?1006h\x1b[?25l";
const LEAVE: &[u8] = b"\x1b[?1006l\x1b[?1002l\x1b[?1000l\x1b[?2004l\x1b[?25h\x1b[?1049l";
const SYNC_START: &[u8] = b"\x1b[?2026h";
const SYNC_END: &[u8] = b"\x1b[?2026l";
/// How long a lone ESC waits for the rest of an escape sequence.
const ESCAPE_WAIT: Duration = Duration::from_millis(30);

#[derive(Debug, Clone)]
pub struct Terminal {
    pub size: (u16, u16),
    pub term: Option<String>,
    pub colorterm: Option<String>,
    pub no_color: bool,
}

impl Default for Terminal {
    fn default() -> Self {
        Terminal {
            size: (80, 24),
            term: None,
            colorterm: None,
            no_color: false,
        }
    }
}

pub enum DriverInput {
    Bytes(Vec<u8>),
    Resize((u16, u16)),
}

/// Where ratatui writes a frame; the driver takes the bytes out after each draw.
#[derive(Clone, Default)]
struct FrameBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl FrameBuffer {
    fn take(&self) -> Vec<u8> {
        std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

impl std::io::Write for FrameBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Screen {
    terminal: ratatui::Terminal<CrosstermBackend<FrameBuffer>>,
    buffer: FrameBuffer,
}

impl Screen {
    fn new(size: (u16, u16)) -> std::io::Result<Screen> {
        let area = Rect {
            x: 0,
            y: 0,
            width: size.0,
            height: size.1,
        };
        let buffer = FrameBuffer::default();
        let terminal = ratatui::Terminal::with_options(
            CrosstermBackend::new(buffer.clone()),
            TerminalOptions {
                viewport: Viewport::Fixed(area),
            },
        )?;
        Ok(Screen { terminal, buffer })
    }

    fn resize(&mut self, size: (u16, u16)) -> std::io::Result<()> {
        self.terminal.resize(Rect {
            x: 0,
            y: 0,
            width: size.0,
            height: size.1,
        })
    }

    /// Draws a frame and returns the bytes that bring the client's screen up to date.
    fn frame(&mut self, draw: impl FnOnce(&mut Frame)) -> std::io::Result<Vec<u8>> {
        self.terminal.draw(draw)?;
        let drawn = self.buffer.take();
        let mut out = Vec::with_capacity(drawn.len() + SYNC_START.len() + SYNC_END.len());
        out.extend_from_slice(SYNC_START);
        out.extend_from_slice(&drawn);
        out.extend_from_slice(SYNC_END);
        Ok(out)
    }
}

async fn send(writer: &ChannelWriteHalf<SshMsg>, bytes: Vec<u8>) -> bool {
    writer.data_bytes(bytes).await.is_ok()
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

/// `ssh host <command>`: one `tack ctl` command as the key's user, its output, its exit code.
pub async fn exec(
    protocol: Arc<ProtocolServer>,
    caller: Caller,
    command: String,
    writer: ChannelWriteHalf<SshMsg>,
) {
    let words = match shell_words::split(&command) {
        Ok(words) => words,
        Err(err) => {
            let _ = writer
                .extended_data_bytes(
                    1,
                    format!("tack: cannot read the command ({err})\n").into_bytes(),
                )
                .await;
            finish(&writer, 2).await;
            return;
        }
    };
    let client = match connect(&protocol, caller).await {
        Ok(client) => client,
        Err(err) => {
            let _ = writer
                .extended_data_bytes(1, format!("tack: {err}\n").into_bytes())
                .await;
            finish(&writer, 3).await;
            return;
        }
    };
    let (code, out) = crate::cli::execute_words(&client, &words).await;
    if !out.stdout.is_empty() {
        let _ = writer.data_bytes(out.stdout.into_bytes()).await;
    }
    if !out.stderr.is_empty() {
        let _ = writer.extended_data_bytes(1, out.stderr.into_bytes()).await;
    }
    finish(&writer, u32::from(code)).await;
}

/// Waits for the next input, honouring the escape timeout; `None` when the session is over.
async fn next_input(
    input: &mut mpsc::Receiver<DriverInput>,
    parser: &InputParser,
    stop: &CancellationToken,
) -> Option<Option<DriverInput>> {
    tokio::select! {
        _ = stop.cancelled() => None,
        received = input.recv() => received.map(Some),
        _ = tokio::time::sleep(ESCAPE_WAIT), if parser.waiting_for_escape() => Some(None),
    }
}

/// Runs the full-screen app for one session until the person quits or the connection ends.
pub async fn run(
    protocol: Arc<ProtocolServer>,
    who: Who,
    writer: ChannelWriteHalf<SshMsg>,
    mut input: mpsc::Receiver<DriverInput>,
    term: Terminal,
    stop: CancellationToken,
) {
    let support = ColorSupport::detect(
        term.term.as_deref(),
        term.colorterm.as_deref(),
        term.no_color,
    );
    let theme = Theme::new(support);
    let Ok(mut screen) = Screen::new(term.size) else {
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
        app_loop(
            &protocol,
            caller,
            &writer,
            &mut input,
            &mut screen,
            &mut parser,
            theme,
            term.size,
            &stop,
        )
        .await;
    }
    let _ = send(&writer, LEAVE.to_vec()).await;
    finish(&writer, 0).await;
}

#[allow(clippy::too_many_arguments)]
async fn register(
    protocol: &Arc<ProtocolServer>,
    writer: &ChannelWriteHalf<SshMsg>,
    input: &mut mpsc::Receiver<DriverInput>,
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
        let events = match next_input(input, parser, stop).await? {
            Some(DriverInput::Bytes(bytes)) => parser.feed(&bytes),
            Some(DriverInput::Resize(size)) => {
                screen.resize(size).ok()?;
                Vec::new()
            }
            None => parser.flush_escape().into_iter().collect(),
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

#[allow(clippy::too_many_arguments)]
async fn app_loop(
    protocol: &Arc<ProtocolServer>,
    caller: Caller,
    writer: &ChannelWriteHalf<SshMsg>,
    input: &mut mpsc::Receiver<DriverInput>,
    screen: &mut Screen,
    parser: &mut InputParser,
    theme: Theme,
    size: (u16, u16),
    stop: &CancellationToken,
) {
    let enrolling = matches!(caller, Caller::Enrolling { .. });
    let Ok(client) = connect(protocol, caller).await else {
        return;
    };
    let client = Arc::new(client);
    let Some(me) = client.welcome().identity.clone() else {
        return;
    };
    let Some(mut events) = client.take_events() else {
        return;
    };
    let (answers_tx, mut answers) =
        mpsc::unbounded_channel::<(u64, Result<ResponseBody, ApiError>)>();
    let mut app = App::new(me, theme, size);
    let mut pending = if enrolling {
        app.require_two_factor()
    } else {
        app.start()
    };
    loop {
        for command in pending.drain(..) {
            match command {
                Command::Quit => return,
                Command::Send { token, request } => {
                    let (client, answers) = (client.clone(), answers_tx.clone());
                    tokio::spawn(async move {
                        let result = client.request(request).await.map_err(|err| match err {
                            tack_protocol::ClientError::Api(api) => api,
                            other => ApiError::unavailable(other.to_string()),
                        });
                        let _ = answers.send((token, result));
                    });
                }
            }
        }
        let Ok(bytes) = screen.frame(|frame| tack_tui::view::draw(&app, frame)) else {
            return;
        };
        if !send(writer, bytes).await {
            return;
        }
        // Wait for something that changes the screen, then take everything else already queued.
        let mut msgs = Vec::new();
        tokio::select! {
            _ = stop.cancelled() => return,
            received = input.recv() => match received {
                Some(first) => {
                    absorb(first, parser, screen, &mut msgs);
                    while let Ok(more) = input.try_recv() {
                        absorb(more, parser, screen, &mut msgs);
                    }
                }
                None => return,
            },
            _ = tokio::time::sleep(ESCAPE_WAIT), if parser.waiting_for_escape() => {
                msgs.extend(parser.flush_escape().map(Msg::Input));
            }
            Some((token, result)) = answers.recv() => msgs.push(Msg::Answer { token, result }),
            event = events.recv() => match event {
                Some(event) => msgs.push(Msg::Server(event)),
                None => return,
            },
        }
        while let Ok((token, result)) = answers.try_recv() {
            msgs.push(Msg::Answer { token, result });
        }
        while let Ok(event) = events.try_recv() {
            msgs.push(Msg::Server(event));
        }
        for msg in msgs {
            pending.extend(app.update(msg));
        }
    }
}

fn absorb(input: DriverInput, parser: &mut InputParser, screen: &mut Screen, msgs: &mut Vec<Msg>) {
    match input {
        DriverInput::Bytes(bytes) => msgs.extend(parser.feed(&bytes).into_iter().map(Msg::Input)),
        DriverInput::Resize(size) => {
            if screen.resize(size).is_ok() {
                msgs.push(Msg::Input(terminput::Event::Resize {
                    cols: u32::from(size.0),
                    rows: u32::from(size.1),
                }));
            }
        }
    }
}
