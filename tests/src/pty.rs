//! A program run in a real pseudo-terminal, its screen read with vt100: how the tests use the
//! local admin console.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

pub struct PtyProgram {
    screen: vt100::Parser,
    output: mpsc::Receiver<Vec<u8>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    // Kept open: closing the master hangs up the program.
    master: Box<dyn portable_pty::MasterPty + Send>,
    /// While set, nothing reads the terminal, as a person's terminal that hangs would not.
    paused: Arc<AtomicBool>,
    pub bytes_received: usize,
}

impl PtyProgram {
    pub fn spawn(program: &std::path::Path, args: &[&str], cols: u16, rows: u16) -> PtyProgram {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut command = CommandBuilder::new(program);
        command.args(args);
        command.env("TERM", "xterm-256color");
        let child = pair.slave.spawn_command(command).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let (tx, output) = mpsc::channel();
        let paused = Arc::new(AtomicBool::new(false));
        let reader_paused = paused.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                while reader_paused.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let size = |n: u16| NonZeroU16::new(n).unwrap();
        PtyProgram {
            screen: vt100::Parser::new(size(rows), size(cols), 0),
            output,
            writer,
            child,
            master: pair.master,
            paused,
            bytes_received: 0,
        }
    }

    /// Stops (or resumes) reading what the program writes: its output backs up into the pty
    /// and then into the program.
    pub fn pause_reading(&self, paused: bool) {
        self.paused.store(paused, Ordering::Release);
    }

    /// Resizes the terminal, as a window manager does; the program gets SIGWINCH.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let size = |n: u16| NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN);
        self.screen.set_size(size(rows), size(cols));
    }

    pub fn type_text(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    pub fn contents(&self) -> String {
        self.screen.screen().contents()
    }

    /// Row `n` of the screen, trailing blanks kept off.
    pub fn row(&self, n: u16) -> String {
        let (_, cols) = self.screen.screen().size();
        self.screen
            .screen()
            .rows(0, cols.into())
            .nth(usize::from(n))
            .unwrap_or_default()
            .trim_end()
            .to_string()
    }

    fn pump(&mut self, wait: Duration) {
        if let Ok(bytes) = self.output.recv_timeout(wait) {
            self.take(&bytes);
        }
        while let Ok(bytes) = self.output.try_recv() {
            self.take(&bytes);
        }
    }

    fn take(&mut self, bytes: &[u8]) {
        self.bytes_received += bytes.len();
        self.screen.process(bytes);
    }

    /// Reads output until none arrives for `quiet`.
    pub fn settle(&mut self, quiet: Duration) {
        while let Ok(bytes) = self.output.recv_timeout(quiet) {
            self.take(&bytes);
        }
    }

    /// Reads output until none arrives for `quiet`, or until more than `most` bytes came: how
    /// many bytes it read.
    pub fn settle_at_most(&mut self, quiet: Duration, most: usize) -> usize {
        let start = self.bytes_received;
        while self.bytes_received - start <= most {
            match self.output.recv_timeout(quiet) {
                Ok(bytes) => self.take(&bytes),
                Err(_) => break,
            }
        }
        self.bytes_received - start
    }

    /// Waits until `text` is on the screen; panics with the screen if it never shows.
    pub fn wait_for(&mut self, text: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.contents().contains(text) {
            assert!(
                Instant::now() < deadline,
                "'{text}' never appeared; the screen:\n{}",
                self.contents()
            );
            self.pump(Duration::from_millis(50));
        }
    }

    /// Waits for the program to exit; its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<u32> {
        let deadline = Instant::now() + timeout;
        loop {
            self.pump(Duration::from_millis(20));
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.exit_code());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return None;
            }
        }
    }
}

impl Drop for PtyProgram {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
