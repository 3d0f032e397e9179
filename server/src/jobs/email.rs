//! Email: one message per notification for people who want them instantly, and a daily digest
//! for those who want that, over SMTP (lettre).

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tack_data::{Op, Write};
use tack_protocol::{Actor, Job, Notification, NotificationKind, UserId};

use super::Ran;
use crate::config::SmtpSection;
use crate::service::{Service, now_ms};

#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("smtp.tls must be none, starttls or tls, not '{0}'")]
    TlsMode(String),
    #[error("smtp.from '{0}' is not a mailbox (like: tack <tack@example.com>)")]
    From(String),
    #[error("cannot set up SMTP for {host}: {reason}")]
    Setup { host: String, reason: String },
    #[error("smtp.ca_file {path}: {reason}")]
    CaFile { path: String, reason: String },
}

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `None` when no SMTP host is configured (email is off).
    pub fn from_config(smtp: &SmtpSection) -> Result<Option<Mailer>, MailerError> {
        let host = smtp.host.trim();
        if host.is_empty() {
            return Ok(None);
        }
        let setup = |e: lettre::transport::smtp::Error| MailerError::Setup {
            host: host.to_string(),
            reason: e.to_string(),
        };
        let builder = match smtp.tls.as_str() {
            "none" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            "starttls" => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(setup)?
            }
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(setup)?,
            other => return Err(MailerError::TlsMode(other.to_string())),
        };
        // A relay with a certificate from a private CA: trust that CA as well as the public ones.
        let builder = match (smtp.tls.as_str(), smtp.ca_file.as_os_str().is_empty()) {
            ("starttls" | "tls", false) => {
                let path = smtp.ca_file.display().to_string();
                let pem = std::fs::read(&smtp.ca_file).map_err(|e| MailerError::CaFile {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                let ca = Certificate::from_pem(&pem).map_err(|e| MailerError::CaFile {
                    path,
                    reason: format!("not a PEM certificate ({e})"),
                })?;
                let params = TlsParameters::builder(host.to_string())
                    .add_root_certificate(ca)
                    .build_rustls()
                    .map_err(setup)?;
                builder.tls(if smtp.tls == "tls" {
                    Tls::Wrapper(params)
                } else {
                    Tls::Required(params)
                })
            }
            _ => builder,
        };
        let mut builder = builder
            .port(smtp.port)
            .timeout(Some(Duration::from_secs(smtp.timeout_secs.max(1))));
        if !smtp.username.is_empty() {
            builder = builder.credentials(Credentials::new(
                smtp.username.clone(),
                smtp.password.clone(),
            ));
        }
        let from: Mailbox = smtp
            .from
            .parse()
            .map_err(|_| MailerError::From(smtp.from.clone()))?;
        Ok(Some(Mailer {
            transport: builder.build(),
            from,
        }))
    }

    async fn send(&self, to: Mailbox, subject: String, body: String, id: &str) -> Ran {
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            // A receiver sees the same Message-ID if a send is repeated after a crash.
            .message_id(Some(format!("<{id}@tack>")))
            .body(body);
        let message = match message {
            Ok(message) => message,
            Err(err) => return Ran::Hopeless(format!("cannot build the message: {err}")),
        };
        match self.transport.send(message).await {
            Ok(_) => Ran::Done,
            Err(err) if err.is_permanent() => {
                Ran::Failed(format!("the SMTP server refused: {err}"))
            }
            Err(err) => Ran::Failed(format!("cannot send: {err}")),
        }
    }
}

async fn actor_name(service: &Service, actor: Actor) -> String {
    match actor {
        Actor::User(id) => match service.user_by_id(id).await {
            Ok(Some(user)) => format!("@{}", user.handle),
            _ => "someone".into(),
        },
        Actor::Console => "tack".into(),
    }
}

/// One line per notification: `@bob commented on TACK-3 Fix the login`.
async fn describe(service: &Service, n: &Notification) -> String {
    let issue = n.issue;
    let title = service
        .store()
        .issue(issue)
        .await
        .ok()
        .flatten()
        .map(|i| i.title)
        .unwrap_or_default();
    if n.kind == NotificationKind::DueSoon {
        return format!("{} {title} is due soon", n.issue_key);
    }
    format!(
        "{} {} {} {title}",
        actor_name(service, n.actor).await,
        n.kind.verb(),
        n.issue_key
    )
}

/// The person's mailbox, or why there is nothing to send.
async fn recipient(service: &Service, user: UserId) -> Result<Mailbox, Ran> {
    let user = match service.user_by_id(user).await {
        Ok(Some(user)) => user,
        Ok(None) => return Err(Ran::Done),
        Err(err) => return Err(Ran::Failed(err.to_string())),
    };
    let Some(email) = user.email.clone().filter(|e| !e.trim().is_empty()) else {
        tracing::info!(user = %user.handle, "no email address; nothing sent");
        return Err(Ran::Done);
    };
    match email.parse::<lettre::Address>() {
        Ok(address) => Ok(Mailbox::new(Some(user.display_name.clone()), address)),
        Err(_) => Err(Ran::Hopeless(format!(
            "@{}'s email '{email}' is not an address",
            user.handle
        ))),
    }
}

async fn notifications_of(service: &Service, user: UserId) -> Result<Vec<Notification>, String> {
    service
        .store()
        .notifications(user, false, 500)
        .await
        .map_err(|e| e.to_string())
}

pub(crate) async fn send_notification(
    service: &Service,
    mailer: Option<&Mailer>,
    job: &Job,
    user: UserId,
    notification: u64,
) -> Ran {
    let Some(mailer) = mailer else {
        return Ran::Hopeless("email is not configured ([smtp] host is empty)".into());
    };
    let to = match recipient(service, user).await {
        Ok(to) => to,
        Err(ran) => return ran,
    };
    let found = match notifications_of(service, user).await {
        Ok(all) => all.into_iter().find(|n| n.id == notification),
        Err(err) => return Ran::Failed(err),
    };
    let Some(n) = found else {
        return Ran::Done;
    };
    let line = describe(service, &n).await;
    let body = format!(
        "{line}\n\nOpen it in tack: ssh to the server and press / then type {}.\n\nYou get these because your email notifications are set to instant; change it with `tack ctl user update <you> --email-notifications digest|off`.\n",
        n.issue_key
    );
    mailer
        .send(to, format!("[tack] {line}"), body, &job.idempotency_key)
        .await
}

pub(crate) async fn send_digest(
    service: &Service,
    mailer: Option<&Mailer>,
    job: &Job,
    user: UserId,
) -> Ran {
    let Some(mailer) = mailer else {
        return Ran::Hopeless("email is not configured ([smtp] host is empty)".into());
    };
    let mut settings = match service.store().user_settings(user).await {
        Ok(settings) => settings,
        Err(err) => return Ran::Failed(err.to_string()),
    };
    let mut fresh = match notifications_of(service, user).await {
        Ok(all) => all
            .into_iter()
            .filter(|n| n.id > settings.digest_watermark)
            .collect::<Vec<_>>(),
        Err(err) => return Ran::Failed(err),
    };
    if fresh.is_empty() {
        return Ran::Done;
    }
    let to = match recipient(service, user).await {
        Ok(to) => to,
        Err(ran) => return ran,
    };
    fresh.sort_by_key(|n| n.id);
    let mut body = format!("{} updates since your last digest:\n\n", fresh.len());
    for n in &fresh {
        body.push_str("  - ");
        body.push_str(&describe(service, n).await);
        body.push('\n');
    }
    body.push_str("\nYour inbox in tack has them all (press i).\n");
    let subject = format!("[tack] Your daily digest: {} updates", fresh.len());
    let sent = mailer.send(to, subject, body, &job.idempotency_key).await;
    if !matches!(sent, Ran::Done) {
        return sent;
    }
    settings.digest_watermark = fresh.last().map_or(0, |n| n.id);
    let write = Write {
        actor: Actor::Console,
        at: now_ms(),
        op: Op::PutUserSettings {
            user,
            settings,
            logged: false,
        },
        changes: Vec::new(),
        follow: Default::default(),
    };
    match service.store().submit(write).wait().await {
        Ok(_) => Ran::Done,
        // Sent but not recorded: the next digest repeats these (with the same Message-ID).
        Err(err) => Ran::Failed(format!("sent, but cannot record it: {err}")),
    }
}
