//! `tack admin`: the console in the local terminal. The same app as over SSH, speaking the
//! protocol over the admin socket, so it acts as the server's console.

use std::io::{Read, Write};
use std::path::PathBuf;

use ratatui::crossterm::terminal;
use tack_protocol::Client;
use tack_tui::{ColorSupport, InputParser, Theme};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::commands::exit;
use crate::terminal::{DriverInput, ENTER, FrameSink, LEAVE, Opening, Screen, run_app};

/// Puts the terminal back however the console ends.
struct RawMode;

impl RawMode {
    fn enter() -> std::io::Result<RawMode> {
        terminal::enable_raw_mode()?;
        let mut out = std::io::stdout();
        out.write_all(ENTER)?;
        out.flush()?;
        Ok(RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let mut out = std::io::stdout();
        let _ = out.write_all(LEAVE);
        let _ = out.flush();
        let _ = terminal::disable_raw_mode();
    }
}

struct Stdout;

impl FrameSink for Stdout {
    async fn send(&self, bytes: Vec<u8>) -> bool {
        let written = tokio::task::spawn_blocking(move || {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes).and_then(|()| out.flush())
        })
        .await;
        matches!(written, Ok(Ok(())))
    }
}

fn size() -> (u16, u16) {
    terminal::size().unwrap_or((80, 24))
}

pub async fn run(socket: PathBuf) -> u8 {
    let client = match Client::connect_unix(&socket).await {
        Ok(client) => client,
        Err(err) => {
            eprintln!(
                "tack: cannot reach the admin socket {}: {err}\nhint: is `tack serve` running on this data directory? Run tack admin as the user that runs the server, with --data DIR or --socket PATH",
                socket.display()
            );
            return exit::CANNOT_CONNECT;
        }
    };
    let raw = match RawMode::enter() {
        Ok(raw) => raw,
        Err(err) => {
            eprintln!("tack: the admin console needs a terminal ({err})");
            return exit::USAGE;
        }
    };
    let (tx, mut input) = mpsc::channel(256);
    // stdin is read on a thread of its own: a blocking read cannot be cancelled, and the
    // process exits when the console is done anyway.
    let keys = tx.clone();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if keys
                        .blocking_send(DriverInput::Bytes(buf[..n].to_vec()))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
    let start = size();
    let (sizes, mut sizes_rx) = tokio::sync::watch::channel(start);
    if let Ok(mut winch) = signal(SignalKind::window_change()) {
        tokio::spawn(async move {
            while winch.recv().await.is_some() {
                if sizes.send(size()).is_err() {
                    return;
                }
            }
        });
    }
    let support = ColorSupport::detect(
        std::env::var("TERM").ok().as_deref(),
        std::env::var("COLORTERM").ok().as_deref(),
        std::env::var_os("NO_COLOR").is_some(),
    );
    let Ok(mut screen) = Screen::new(start) else {
        drop(raw);
        eprintln!("tack: cannot draw on this terminal");
        return exit::REFUSED;
    };
    let mut parser = InputParser::default();
    run_app(
        client,
        Opening::Console,
        &Stdout,
        &mut input,
        &mut sizes_rx,
        &mut screen,
        &mut parser,
        Theme::new(support),
        &CancellationToken::new(),
    )
    .await;
    drop(raw);
    exit::OK
}
