//! The full-screen app's loop, shared by the SSH sessions and the local admin console: input
//! bytes become events for the app, the app's requests go to the server through a protocol
//! client, and frames are drawn into a buffer and handed to a sink (the SSH channel, or the
//! local terminal). While a frame is being written, input and events pile up and the next frame
//! shows all of them: a slow client gets the newest screen, never a backlog.

use std::sync::Arc;
use std::time::Duration;

use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Frame, TerminalOptions, Viewport};
use tack_protocol::{ApiError, Client, ResponseBody};
use tack_tui::{App, Command, InputParser, Msg, Theme};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Where frames go.
pub trait FrameSink: Sync {
    /// False once the other end is gone.
    fn send(&self, bytes: Vec<u8>) -> impl std::future::Future<Output = bool> + Send;
}

/// How the app starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    Home,
    /// An admin who must enrol a second factor first.
    TwoFactor,
    /// The local admin console.
    Console,
}

/// Alternate screen, bracketed paste, SGR mouse, hidden cursor.
pub const ENTER: &[u8] = b"\x1b[?1049h\x1b[?2004h\x1b[?1000h\x1b[?1002h\x1b[?1006h\x1b[?25l";
pub const LEAVE: &[u8] = b"\x1b[?1006l\x1b[?1002l\x1b[?1000l\x1b[?2004l\x1b[?25h\x1b[?1049l";
const SYNC_START: &[u8] = b"\x1b[?2026h";
const SYNC_END: &[u8] = b"\x1b[?2026l";
/// How long a lone ESC waits for the rest of an escape sequence.
pub const ESCAPE_WAIT: Duration = Duration::from_millis(30);

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

/// What the person typed or pasted, in the order it arrived.
pub enum DriverInput {
    Bytes(Vec<u8>),
}

/// The terminal's newest size. A watch keeps only the latest value, so a resize is never lost
/// to a full input queue while a client is not reading, and a thousand resizes cost one redraw.
pub type Sizes = tokio::sync::watch::Receiver<(u16, u16)>;

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

pub struct Screen {
    terminal: ratatui::Terminal<CrosstermBackend<FrameBuffer>>,
    buffer: FrameBuffer,
}

impl Screen {
    pub fn new(size: (u16, u16)) -> std::io::Result<Screen> {
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

    pub fn resize(&mut self, size: (u16, u16)) -> std::io::Result<()> {
        self.terminal.resize(Rect {
            x: 0,
            y: 0,
            width: size.0,
            height: size.1,
        })
    }

    /// Draws a frame and returns the bytes that bring the client's screen up to date.
    pub fn frame(&mut self, draw: impl FnOnce(&mut Frame)) -> std::io::Result<Vec<u8>> {
        self.terminal.draw(draw)?;
        let drawn = self.buffer.take();
        let mut out = Vec::with_capacity(drawn.len() + SYNC_START.len() + SYNC_END.len());
        out.extend_from_slice(SYNC_START);
        out.extend_from_slice(&drawn);
        out.extend_from_slice(SYNC_END);
        Ok(out)
    }
}

/// What woke a loop that waits for the person.
pub enum Woken {
    Input(DriverInput),
    Resized((u16, u16)),
    /// A lone ESC waited long enough to be a key of its own.
    EscapeTimeout,
}

/// Waits for the next input or resize, honouring the escape timeout; `None` when the session
/// is over.
pub async fn next_input(
    input: &mut mpsc::Receiver<DriverInput>,
    sizes: &mut Sizes,
    parser: &InputParser,
    stop: &CancellationToken,
) -> Option<Woken> {
    tokio::select! {
        _ = stop.cancelled() => None,
        received = input.recv() => received.map(Woken::Input),
        Ok(()) = sizes.changed() => Some(Woken::Resized(*sizes.borrow_and_update())),
        _ = tokio::time::sleep(ESCAPE_WAIT), if parser.waiting_for_escape() => Some(Woken::EscapeTimeout),
    }
}

/// Runs the app until the person quits, the input ends, or `stop` fires.
#[allow(clippy::too_many_arguments)]
pub async fn run_app(
    client: Client,
    opening: Opening,
    sink: &impl FrameSink,
    input: &mut mpsc::Receiver<DriverInput>,
    sizes: &mut Sizes,
    screen: &mut Screen,
    parser: &mut InputParser,
    theme: Theme,
    stop: &CancellationToken,
) {
    let size = *sizes.borrow_and_update();
    if screen.resize(size).is_err() {
        return;
    }
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
    let mut pending = match opening {
        Opening::Home => app.start(),
        Opening::TwoFactor => app.require_two_factor(),
        Opening::Console => {
            let mut first = app.start();
            first.extend(app.open_admin());
            first
        }
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
        if !sink.send(bytes).await {
            return;
        }
        // Wait for something that changes the screen, then take everything else already queued.
        let mut msgs = Vec::new();
        tokio::select! {
            _ = stop.cancelled() => return,
            received = input.recv() => match received {
                Some(first) => {
                    absorb(first, parser, &mut msgs);
                    while let Ok(more) = input.try_recv() {
                        absorb(more, parser, &mut msgs);
                    }
                }
                None => return,
            },
            Ok(()) = sizes.changed() => resize(screen, *sizes.borrow_and_update(), &mut msgs),
            _ = tokio::time::sleep(ESCAPE_WAIT), if parser.waiting_for_escape() => {
                msgs.extend(parser.flush_escape().map(Msg::Input));
            }
            Some((token, result)) = answers.recv() => msgs.push(Msg::Answer { token, result }),
            event = events.recv() => match event {
                Some(event) => msgs.push(Msg::Server(event)),
                None => return,
            },
        }
        if sizes.has_changed().unwrap_or(false) {
            resize(screen, *sizes.borrow_and_update(), &mut msgs);
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

fn resize(screen: &mut Screen, size: (u16, u16), msgs: &mut Vec<Msg>) {
    if screen.resize(size).is_ok() {
        msgs.push(Msg::Input(terminput::Event::Resize {
            cols: u32::from(size.0),
            rows: u32::from(size.1),
        }));
    }
}

fn absorb(input: DriverInput, parser: &mut InputParser, msgs: &mut Vec<Msg>) {
    let DriverInput::Bytes(bytes) = input;
    msgs.extend(parser.feed(&bytes).into_iter().map(Msg::Input));
}
