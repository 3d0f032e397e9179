//! An SSH client for tests, as a person's terminal would be: a pty, the bytes fed into a `vt100`
//! screen, and waits for text with a deadline that print the screen when they fail.

use std::num::NonZeroU16;
use std::sync::Arc;
use std::time::{Duration, Instant};

use russh::client::{self, Handle, KeyboardInteractiveAuthResponse};
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg};
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf};

pub struct AcceptAnyHostKey;

impl client::Handler for AcceptAnyHostKey {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

pub fn new_key() -> PrivateKey {
    PrivateKey::random(&mut rand::rng(), russh::keys::Algorithm::Ed25519).unwrap()
}

pub fn authorized_line(key: &PrivateKey) -> String {
    key.public_key().to_openssh().unwrap()
}

pub async fn connect(addr: &str) -> Handle<AcceptAnyHostKey> {
    // As OpenSSH does for interactive sessions.
    let config = Arc::new(client::Config {
        nodelay: true,
        ..Default::default()
    });
    client::connect(config, addr, AcceptAnyHostKey)
        .await
        .unwrap()
}

/// Connects from the loopback address `source` (any of 127.0.0.0/8), as a client on another
/// machine would.
pub async fn connect_from(addr: &str, source: std::net::Ipv4Addr) -> Handle<AcceptAnyHostKey> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(std::net::SocketAddr::from((source, 0)))
        .unwrap();
    let stream = socket.connect(addr.parse().unwrap()).await.unwrap();
    let config = Arc::new(client::Config {
        nodelay: true,
        ..Default::default()
    });
    client::connect_stream(config, stream, AcceptAnyHostKey)
        .await
        .unwrap()
}

/// Logs in with `key`; true if the server accepted it.
pub async fn login(handle: &mut Handle<AcceptAnyHostKey>, key: &PrivateKey) -> bool {
    let key = PrivateKeyWithHashAlg::new(Arc::new(key.clone()), None);
    handle
        .authenticate_publickey("tack", key)
        .await
        .unwrap()
        .success()
}

/// Offers `key` (unknown to the server), then answers the invite prompt with `code`.
pub async fn login_with_invite(
    handle: &mut Handle<AcceptAnyHostKey>,
    key: &PrivateKey,
    code: &str,
) -> bool {
    assert!(!login(handle, key).await, "the key should be unknown");
    answer_prompt(handle, "Invite code", code).await
}

/// Offers `key` (which logs nobody in by itself), then answers the prompt `label` with `answer`.
pub async fn login_answering(
    handle: &mut Handle<AcceptAnyHostKey>,
    key: &PrivateKey,
    label: &str,
    answer: &str,
) -> bool {
    assert!(!login(handle, key).await, "the key alone should not log in");
    answer_prompt(handle, label, answer).await
}

/// Answers the server's masked keyboard-interactive prompt `label` with `answer`; true if that
/// signs in. A prompt asked again means the answer was refused.
async fn answer_prompt(handle: &mut Handle<AcceptAnyHostKey>, label: &str, answer: &str) -> bool {
    let mut reply = handle
        .authenticate_keyboard_interactive_start("tack", None)
        .await
        .unwrap();
    let mut answered = false;
    loop {
        match reply {
            KeyboardInteractiveAuthResponse::Success => return true,
            KeyboardInteractiveAuthResponse::Failure { .. } => return false,
            KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } if prompts.is_empty() => {
                reply = handle
                    .authenticate_keyboard_interactive_respond(Vec::new())
                    .await
                    .unwrap();
            }
            KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                if answered {
                    return false;
                }
                assert!(
                    prompts.iter().any(|p| p.prompt.contains(label) && !p.echo),
                    "{prompts:?}"
                );
                answered = true;
                reply = handle
                    .authenticate_keyboard_interactive_respond(vec![answer.to_string()])
                    .await
                    .unwrap();
            }
        }
    }
}

pub struct Terminal {
    pub screen: vt100::Parser,
    reader: ChannelReadHalf,
    writer: ChannelWriteHalf<client::Msg>,
    pub bytes_received: usize,
    /// Every byte the server sent, for checks on the raw stream.
    pub raw: Vec<u8>,
}

impl Terminal {
    /// Opens a session with a pty of `cols`×`rows` and starts the shell.
    pub async fn open(handle: &Handle<AcceptAnyHostKey>, cols: u32, rows: u32) -> Terminal {
        let channel = handle.channel_open_session().await.unwrap();
        channel
            .request_pty(true, "xterm-256color", cols, rows, 0, 0, &[])
            .await
            .unwrap();
        channel.request_shell(true).await.unwrap();
        let (reader, writer) = channel.split();
        let screen = vt100::Parser::new(nz(rows.min(200) as u16), nz(cols.min(500) as u16), 0);
        Terminal {
            screen,
            reader,
            writer,
            bytes_received: 0,
            raw: Vec::new(),
        }
    }

    pub async fn type_text(&self, text: &str) {
        self.writer
            .data_bytes(text.as_bytes().to_vec())
            .await
            .unwrap();
    }

    pub async fn resize(&mut self, cols: u32, rows: u32) {
        self.writer.window_change(cols, rows, 0, 0).await.unwrap();
        self.screen.set_size(nz(rows as u16), nz(cols as u16));
    }

    pub fn contents(&self) -> String {
        self.screen.screen().contents()
    }

    /// Row `n` of the screen (0 is the top).
    pub fn row(&self, n: u16) -> String {
        let (_, cols) = self.screen.screen().size();
        self.screen
            .screen()
            .rows(0, cols.get())
            .nth(n as usize)
            .unwrap_or_default()
    }

    /// Reads until row `n` shows `text`; panics with the screen after `timeout`.
    pub async fn wait_for_row(&mut self, n: u16, text: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.row(n).contains(text) {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(remaining, self.reader.wait()).await {
                Ok(Some(ChannelMsg::Data { data })) => {
                    self.bytes_received += data.len();
                    self.screen.process(&data);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => panic!(
                    "row {n} never showed {text:?}; screen:\n{}",
                    self.contents()
                ),
            }
        }
    }

    /// Reads until the screen shows `text`; panics with the screen after `timeout`.
    pub async fn wait_for(&mut self, text: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.contents().contains(text) {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(remaining, self.reader.wait()).await {
                Ok(Some(ChannelMsg::Data { data })) => {
                    self.bytes_received += data.len();
                    self.raw.extend_from_slice(&data);
                    self.screen.process(&data);
                }
                Ok(Some(_)) => {}
                Ok(None) => panic!(
                    "the session closed before showing {text:?}; screen:\n{}",
                    self.contents()
                ),
                Err(_) => panic!(
                    "timed out waiting for {text:?}; screen:\n{}",
                    self.contents()
                ),
            }
        }
    }

    /// Reads whatever arrives within `window`.
    pub async fn settle(&mut self, window: Duration) {
        while let Ok(Some(msg)) = tokio::time::timeout(window, self.reader.wait()).await {
            if let ChannelMsg::Data { data } = msg {
                self.bytes_received += data.len();
                self.raw.extend_from_slice(&data);
                self.screen.process(&data);
            }
        }
    }
}

fn nz(value: u16) -> NonZeroU16 {
    NonZeroU16::new(value.max(1)).unwrap_or(NonZeroU16::MIN)
}

/// Runs `command` over an exec channel; returns (exit status, stdout, stderr).
pub async fn exec(handle: &Handle<AcceptAnyHostKey>, command: &str) -> (u32, String, String) {
    let channel = start_exec(handle, command).await;
    exec_output(channel).await
}

/// Runs `command` with `stdin` piped in (then EOF), as `echo … | ssh host command` does.
pub async fn exec_with_stdin(
    handle: &Handle<AcceptAnyHostKey>,
    command: &str,
    stdin: &[u8],
) -> (u32, String, String) {
    let channel = start_exec(handle, command).await;
    channel.data(stdin).await.unwrap();
    channel.eof().await.unwrap();
    exec_output(channel).await
}

/// Starts `command` on an exec channel and leaves its standard input open.
pub async fn start_exec(
    handle: &Handle<AcceptAnyHostKey>,
    command: &str,
) -> russh::Channel<client::Msg> {
    let channel = handle.channel_open_session().await.unwrap();
    channel.exec(true, command).await.unwrap();
    channel
}

/// Reads a command's output until the server closes the channel: (exit status, stdout, stderr).
pub async fn exec_output(mut channel: russh::Channel<client::Msg>) -> (u32, String, String) {
    let (mut status, mut out, mut err) = (None, Vec::new(), Vec::new());
    while let Some(msg) = tokio::time::timeout(Duration::from_secs(20), channel.wait())
        .await
        .expect("the command did not finish within 20 s")
    {
        match msg {
            ChannelMsg::Data { data } => out.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, ext: 1 } => err.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
            _ => {}
        }
    }
    (
        status.unwrap_or(u32::MAX),
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

/// Logs in with `key`, then answers the two-factor prompt with `code`.
pub async fn login_with_code(
    handle: &mut Handle<AcceptAnyHostKey>,
    key: &PrivateKey,
    code: &str,
) -> bool {
    let first = handle
        .authenticate_publickey(
            "tack",
            PrivateKeyWithHashAlg::new(Arc::new(key.clone()), None),
        )
        .await
        .unwrap();
    match first {
        russh::client::AuthResult::Failure {
            partial_success: true,
            ..
        } => {}
        other => {
            panic!("expected the key to be accepted with a second step to come, got {other:?}")
        }
    }
    answer_prompt(handle, "TOTP code", code).await
}

impl Terminal {
    /// Reads until the server closes the session; false if it is still open after `timeout`.
    pub async fn wait_closed(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(remaining, self.reader.wait()).await {
                Ok(None) | Ok(Some(ChannelMsg::Close)) => return true,
                Ok(Some(ChannelMsg::Data { data })) => self.screen.process(&data),
                Ok(Some(_)) => {}
                Err(_) => return false,
            }
        }
    }
}

/// A stock OpenSSH client logged in as the owner of `key`, in a pty of `cols`×`rows`; the
/// directory holds the key file and must outlive the client.
pub fn stock_client(
    addr: &str,
    key: &PrivateKey,
    cols: u16,
    rows: u16,
) -> (crate::pty::PtyProgram, tempfile::TempDir) {
    stock_client_from(addr, None, key, cols, rows)
}

/// As [`stock_client`], connecting from the loopback address `source` (`ssh -b`).
pub fn stock_client_from(
    addr: &str,
    source: Option<&str>,
    key: &PrivateKey,
    cols: u16,
    rows: u16,
) -> (crate::pty::PtyProgram, tempfile::TempDir) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("id_ed25519");
    let pem = key
        .to_openssh(russh::keys::ssh_key::LineEnding::LF)
        .unwrap();
    std::fs::write(&key_file, pem.as_bytes()).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (host, port) = addr.rsplit_once(':').unwrap();
    let key_path = key_file.to_string_lossy().into_owned();
    let bind: Vec<&str> = source.map(|s| vec!["-b", s]).unwrap_or_default();
    let target = format!("alice@{host}");
    let args: Vec<&str> = bind
        .into_iter()
        .chain([
            "-tt",
            "-p",
            port,
            "-i",
            &key_path,
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "BatchMode=yes",
            &target,
        ])
        .collect();
    let program = crate::pty::PtyProgram::spawn(std::path::Path::new("ssh"), &args, cols, rows);
    (program, dir)
}
