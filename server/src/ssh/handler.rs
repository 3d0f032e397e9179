//! One SSH connection: who it is (bound only after a verified key signature), its one session
//! channel, and the requests on it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use russh::keys::ssh_key::PublicKey;
use russh::server::{Auth, ChannelOpenHandle, Handler, Msg, Response, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, ChannelOpenFailure, MethodKind, MethodSet, Pty};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::SshServer;
use super::driver;
use super::live_sessions::LiveSession;
use crate::runtime::sessions::SessionEntry;
use crate::service::Caller;
use crate::terminal::{DriverInput, Terminal as TermInfo};

/// Environment a client may set: terminal capabilities and locale, nothing else.
const ALLOWED_ENV: &[&str] = &["TERM", "COLORTERM", "NO_COLOR", "LANG"];
const MAX_ENV_VALUE: usize = 256;
/// Input queued for a session that has not drawn yet; more is dropped, not buffered.
const INPUT_QUEUE: usize = 256;

/// Who the connection turned out to be.
#[derive(Clone)]
pub enum Who {
    Known {
        caller: Caller,
        fingerprint: String,
    },
    /// An unknown key with a valid invite code: it may only register.
    Invited {
        key: PublicKey,
        code: String,
    },
}

pub struct Connection {
    server: Arc<SshServer>,
    id: u64,
    peer: SocketAddr,
    authenticated: Arc<AtomicBool>,
    who: Option<Who>,
    unknown_key: Option<PublicKey>,
    /// The fingerprint of `unknown_key` when someone's account claims it, pending its code.
    pending_key: Option<String>,
    /// A known key whose account also wants a TOTP code.
    awaiting_code: Option<Who>,
    channel: Option<ChannelId>,
    writer: Option<russh::ChannelWriteHalf<Msg>>,
    /// The channel's own input queue, kept until the session chooses shell or exec: an exec
    /// reads its standard input from it, a shell drops it (its input arrives through `data`).
    reader: Option<russh::ChannelReadHalf>,
    term: TermInfo,
    input: Option<mpsc::Sender<DriverInput>>,
    /// The shell's newest terminal size, once it has started.
    sizes: Option<watch::Sender<(u16, u16)>>,
    /// Wrong codes on this connection (the source address's count is in the server).
    failures: u32,
    /// This connection's line in the console's Sessions view.
    listed: Arc<SessionEntry>,
}

impl Connection {
    pub fn new(
        server: Arc<SshServer>,
        id: u64,
        peer: SocketAddr,
        authenticated: Arc<AtomicBool>,
        listed: Arc<SessionEntry>,
    ) -> Self {
        Connection {
            server,
            id,
            peer,
            authenticated,
            who: None,
            unknown_key: None,
            pending_key: None,
            awaiting_code: None,
            channel: None,
            writer: None,
            reader: None,
            term: TermInfo::default(),
            input: None,
            sizes: None,
            failures: 0,
            listed,
        }
    }

    fn signed_in(&mut self, who: Who) {
        self.listed.set_who(match &who {
            Who::Known { caller, .. } => caller
                .identity()
                .and_then(|i| i.user)
                .map_or_else(|| "(unknown)".to_string(), |u| format!("@{}", u.handle)),
            Who::Invited { .. } => "(registering)".to_string(),
        });
        self.who = Some(who);
        self.authenticated.store(true, Ordering::Release);
        self.server.pending.leave(self.id);
    }

    async fn session_stop(&self) -> Option<CancellationToken> {
        let Some(Who::Known {
            caller,
            fingerprint,
        }) = &self.who
        else {
            return Some(CancellationToken::new());
        };
        let session = LiveSession {
            user: caller.user_id()?,
            fingerprint: fingerprint.clone(),
            stop: CancellationToken::new(),
        };
        let settings = &self.server.settings;
        let store = self.server.service.store();
        self.server
            .sessions
            .start(
                store.as_ref(),
                self.id,
                session,
                settings.max_sessions_per_user,
                settings.session_lease,
            )
            .await
    }
}

impl Connection {
    fn too_many_sessions(&self) -> String {
        let limit = self.server.settings.max_sessions_per_user;
        format!(
            "You already have {limit} tack sessions open (commands count too); close one and try again."
        )
    }
}

fn clamp_size(cols: u32, rows: u32) -> (u16, u16) {
    (cols.clamp(1, 500) as u16, rows.clamp(1, 200) as u16)
}

impl Connection {
    /// A wrong code costs time, more with every failure from the same source address, across
    /// connections, on top of russh's rejection delay.
    async fn failed(&mut self, what: &str, err: &tack_protocol::ApiError) {
        self.failures += 1;
        let delay = self.server.penalize(self.peer.ip());
        tracing::info!(peer = %self.peer, failures = self.failures, delay_ms = delay.as_millis() as u64, error = %err, "{what}");
        tokio::time::sleep(delay).await;
    }

    async fn second_factor(
        &mut self,
        who: Who,
        response: Option<Response<'_>>,
    ) -> Result<Auth, russh::Error> {
        let Who::Known { caller, .. } = &who else {
            return Ok(Auth::reject());
        };
        let Some(mut response) = response else {
            return Ok(Auth::Partial {
                name: "tack".into(),
                instructions: "Two-factor is on for this account.".into(),
                prompts: vec![("TOTP code: ".into(), false)].into(),
            });
        };
        let code = response
            .next()
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default();
        match self.server.service.verify_totp_login(caller, &code).await {
            Ok(()) => {
                tracing::info!(peer = %self.peer, user = %caller.rate_key(), "ssh login with two-factor");
                self.awaiting_code = None;
                self.signed_in(who);
                Ok(Auth::Accept)
            }
            Err(err) => {
                self.failed("wrong two-factor code", &err).await;
                Ok(Auth::Reject {
                    proceed_with_methods: Some(MethodSet::from(
                        &[MethodKind::KeyboardInteractive][..],
                    )),
                    partial_success: true,
                })
            }
        }
    }
}

impl Connection {
    /// A key that belongs to `caller`: in at once, or on to the second factor.
    async fn known_key(&mut self, caller: Caller, fingerprint: String) -> Auth {
        let user = caller.user_id().unwrap_or(0);
        if self
            .server
            .service
            .totp_required(user)
            .await
            .unwrap_or(true)
        {
            self.awaiting_code = Some(Who::Known {
                caller,
                fingerprint,
            });
            return Auth::Reject {
                proceed_with_methods: Some(MethodSet::from(&[MethodKind::KeyboardInteractive][..])),
                partial_success: true,
            };
        }
        let caller = match caller {
            Caller::User { user, .. }
                if self.server.settings.require_totp_for_admins
                    && user.role == tack_protocol::ServerRole::Admin =>
            {
                tracing::info!(peer = %self.peer, user = %user.handle, "admin without two-factor: enrolment only");
                Caller::Enrolling { user }
            }
            other => other,
        };
        tracing::info!(peer = %self.peer, user = %caller.rate_key(), "ssh login");
        self.signed_in(Who::Known {
            caller,
            fingerprint,
        });
        Auth::Accept
    }
}

impl Handler for Connection {
    type Error = russh::Error;

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        _offer: russh::server::PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        // Any key may prove itself; identity is bound only once its signature is verified.
        Ok(Auth::Accept)
    }

    async fn auth_publickey(
        &mut self,
        _user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let parsed = match tack_keys::pubkey::from_public_key(key.public_key) {
            Ok(parsed) => parsed,
            Err(err) => {
                tracing::debug!(peer = %self.peer, error = %err, "key refused");
                return Ok(Auth::reject());
            }
        };
        match self
            .server
            .service
            .authenticate_key(&parsed.fingerprint)
            .await
        {
            Ok(Some(caller)) => Ok(self.known_key(caller, parsed.fingerprint).await),
            Ok(None) => {
                // An unknown key may go on to redeem an invite code, or, if someone added it to
                // their account, prove it is theirs with the code they were shown.
                self.pending_key = self
                    .server
                    .service
                    .key_is_pending(&parsed.fingerprint)
                    .await
                    .unwrap_or(false)
                    .then_some(parsed.fingerprint);
                self.unknown_key = Some(key.public_key.clone());
                Ok(Auth::Reject {
                    proceed_with_methods: Some(MethodSet::from(
                        &[MethodKind::KeyboardInteractive][..],
                    )),
                    partial_success: false,
                })
            }
            Err(err) => {
                tracing::warn!(error = %err, "key lookup failed");
                Ok(Auth::reject())
            }
        }
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        _user: &str,
        _submethods: &str,
        response: Option<Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        if let Some(who) = self.awaiting_code.clone() {
            return self.second_factor(who, response).await;
        }
        let Some(key) = self.unknown_key.clone() else {
            return Ok(Auth::reject());
        };
        let Some(mut response) = response else {
            let (instructions, prompt) = match self.pending_key {
                Some(_) => (
                    "This key was added to an account and waits for its first login. Enter the code shown when it was added (or an invite code you were given).",
                    "Code: ",
                ),
                None => (
                    "This key is new to this tack server. Enter the invite code you were given.",
                    "Invite code: ",
                ),
            };
            return Ok(Auth::Partial {
                name: "tack".into(),
                instructions: instructions.into(),
                prompts: vec![(prompt.into(), false)].into(),
            });
        };
        let code = response
            .next()
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default();
        if let Some(fingerprint) = self.pending_key.clone() {
            match self.server.service.confirm_key(&fingerprint, &code).await {
                Ok(Some(caller)) => {
                    tracing::info!(peer = %self.peer, user = %caller.rate_key(), %fingerprint, "pending key confirmed at its first login");
                    self.unknown_key = None;
                    self.pending_key = None;
                    return Ok(self.known_key(caller, fingerprint).await);
                }
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "key confirmation failed"),
            }
        }
        match self.server.service.check_invite(&code).await {
            Ok(_) => {
                tracing::info!(peer = %self.peer, "invite code accepted; registering a new key");
                self.signed_in(Who::Invited { key, code });
                Ok(Auth::Accept)
            }
            Err(err) => {
                self.failed("wrong invite code", &err).await;
                Ok(Auth::reject())
            }
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channel.is_some() || self.who.is_none() {
            reply
                .reject(ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        }
        self.channel = Some(channel.id());
        let (read_half, write_half) = channel.split();
        self.reader = Some(read_half);
        self.writer = Some(write_half);
        reply.accept().await;
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        _host: &str,
        _port: u32,
        _originator: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply
            .reject(ChannelOpenFailure::AdministrativelyProhibited)
            .await;
        Ok(())
    }

    async fn tcpip_forward(
        &mut self,
        _address: &str,
        _port: &mut u32,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        Ok(false)
    }

    async fn agent_request(
        &mut self,
        _channel: ChannelId,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        Ok(false)
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single: bool,
        _protocol: &str,
        _cookie: &str,
        _screen: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        tracing::debug!(subsystem = name, "subsystem refused");
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        term: &str,
        cols: u32,
        rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.term.size = clamp_size(cols, rows);
        self.term.term = Some(term.chars().take(MAX_ENV_VALUE).collect());
        session.channel_success(channel)?;
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let allowed = ALLOWED_ENV.contains(&name) || name.starts_with("LC_");
        if !allowed || value.len() > MAX_ENV_VALUE {
            session.channel_failure(channel)?;
            return Ok(());
        }
        match name {
            "TERM" => self.term.term = Some(value.to_string()),
            "COLORTERM" => self.term.colorterm = Some(value.to_string()),
            "NO_COLOR" => self.term.no_color = true,
            _ => {}
        }
        session.channel_success(channel)?;
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Input reaches us through `data`; the channel's own copy is dropped so it cannot stall.
        drop(self.reader.take());
        let (Some(writer), Some(who)) = (self.writer.take(), self.who.clone()) else {
            session.channel_failure(channel)?;
            return Ok(());
        };
        session.channel_success(channel)?;
        let Some(stop) = self.session_stop().await else {
            driver::refuse(writer, &self.too_many_sessions()).await;
            return Ok(());
        };
        let (tx, rx) = mpsc::channel(INPUT_QUEUE);
        self.input = Some(tx);
        let (sizes, sizes_rx) = watch::channel(self.term.size);
        self.sizes = Some(sizes);
        let protocol = self.server.protocol.clone();
        let term = self.term.clone();
        let id = self.id;
        tokio::spawn(async move {
            driver::run(protocol, who, writer, rx, sizes_rx, term, stop).await;
            tracing::debug!(connection = id, "session ended");
        });
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let (Some(writer), Some(reader), Some(Who::Known { caller, .. })) =
            (self.writer.take(), self.reader.take(), self.who.clone())
        else {
            session.channel_failure(channel)?;
            return Ok(());
        };
        session.channel_success(channel)?;
        // A command counts as a session: it holds a protocol connection while it runs.
        let Some(stop) = self.session_stop().await else {
            driver::complain(&writer, &self.too_many_sessions(), 1).await;
            return Ok(());
        };
        let command = String::from_utf8_lossy(data).into_owned();
        let protocol = self.server.protocol.clone();
        tokio::spawn(driver::exec(
            protocol, caller, command, reader, writer, stop,
        ));
        Ok(())
    }

    async fn data(
        &mut self,
        _channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(input) = &self.input {
            // A full queue means the session is not keeping up: drop keys rather than grow.
            let _ = input.try_send(DriverInput::Bytes(data.to_vec()));
        }
        Ok(())
    }

    async fn window_change_request(
        &mut self,
        _channel: ChannelId,
        cols: u32,
        rows: u32,
        _pw: u32,
        _ph: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.term.size = clamp_size(cols, rows);
        if let Some(sizes) = &self.sizes {
            sizes.send_replace(self.term.size);
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        _channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.input = None;
        Ok(())
    }

    async fn channel_close(
        &mut self,
        _channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.input = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::clamp_size;

    #[test]
    fn hostile_pty_sizes_are_clamped() {
        assert_eq!(clamp_size(65535, 65535), (500, 200));
        assert_eq!(clamp_size(0, 0), (1, 1));
        assert_eq!(clamp_size(80, 24), (80, 24));
    }
}
