//! Webhook deliveries: a signed JSON POST per event, through a client that refuses private,
//! loopback and link-local targets (also after DNS resolution and across redirects) unless the
//! configuration allows them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tack_protocol::{Delivery, Event, Job, event_name};

use super::Ran;
use crate::service::webhook_target::{check_url, public_addrs};
use crate::service::{Service, now_ms};

const MAX_REDIRECTS: usize = 5;

/// reqwest's resolver, with private answers dropped.
struct GuardedResolver;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let addrs = public_addrs(name.as_str(), 0)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[derive(Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    allow_private: bool,
}

impl WebhookClient {
    pub fn new(timeout: Duration, allow_private: bool) -> Result<WebhookClient, reqwest::Error> {
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            match check_url(attempt.url().as_str(), allow_private) {
                Ok(_) => attempt.follow(),
                Err(reason) => attempt.error(format!("redirected to a refused target: {reason}")),
            }
        });
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(redirects)
            // A proxy from the environment would resolve the target itself, past our resolver.
            .no_proxy()
            .user_agent(concat!("tack/", env!("CARGO_PKG_VERSION")));
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        Ok(WebhookClient {
            http: builder.build()?,
            allow_private,
        })
    }
}

/// `sha256=<hex HMAC-SHA256 of the body under the secret>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The documented body (docs/webhooks.md).
pub fn payload(delivery_id: &str, event: &Event, project_key: &str) -> serde_json::Value {
    serde_json::json!({
        "delivery": delivery_id,
        "event": event_name(event.activity.kind),
        "seq": event.seq,
        "at": event.activity.at,
        "project": project_key,
        "subject": event.activity.subject,
        "actor": event.activity.actor,
        "changes": event.activity.changes,
        "record": event.record,
    })
}

pub(crate) async fn deliver(
    service: &Service,
    client: &WebhookClient,
    job: &Job,
    hook_id: u64,
    event: &Event,
) -> (Ran, Option<Delivery>) {
    let hook = match service.store().webhook(hook_id).await {
        Ok(Some(hook)) => hook,
        // Deleted since: nothing to deliver to.
        Ok(None) => return (Ran::Done, None),
        Err(err) => return (Ran::Failed(format!("cannot read the webhook: {err}")), None),
    };
    if !hook.hook.query.trim().is_empty() {
        let wanted = match tack_protocol::query::parse(&hook.hook.query) {
            Ok(query) => {
                service
                    .event_matches(&crate::service::Caller::Console, &query, event)
                    .await
            }
            Err(_) => false,
        };
        if !wanted {
            return (Ran::Done, None);
        }
    }
    let jobs = &service.runtime().jobs;
    if let Err(until) = jobs.admit(hook_id, now_ms()) {
        return (Ran::Postpone(until), None);
    }
    let body = payload(&job.idempotency_key, event, &hook.hook.project_key).to_string();
    let name = event_name(event.activity.kind);
    let started = Instant::now();
    let checked = check_url(&hook.hook.url, client.allow_private);
    let result = match checked {
        Err(reason) => Err(reason),
        Ok(url) => client
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("x-tack-event", name)
            .header("x-tack-delivery", &job.idempotency_key)
            .header("x-tack-signature", signature(&hook.secret, body.as_bytes()))
            .body(body)
            .send()
            .await
            .map_err(describe),
    };
    let took = started.elapsed().as_millis() as u64;
    let mut delivery = Delivery {
        id: 0,
        hook: hook_id,
        job: job.id,
        event: name.to_string(),
        seq: event.seq,
        attempt: job.attempts + 1,
        at: now_ms(),
        status: None,
        error: None,
        duration_ms: took,
    };
    let ran = match result {
        Ok(response) if response.status().is_success() => {
            delivery.status = Some(response.status().as_u16());
            Ran::Done
        }
        Ok(response) => {
            let status = response.status();
            delivery.status = Some(status.as_u16());
            let error = format!("the endpoint answered {status}");
            delivery.error = Some(error.clone());
            Ran::Failed(error)
        }
        Err(error) => {
            delivery.error = Some(error.clone());
            Ran::Failed(error)
        }
    };
    jobs.record(hook_id, matches!(ran, Ran::Done), now_ms());
    (ran, Some(delivery))
}

/// reqwest's errors, with their causes, in one line.
fn describe(err: reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "the endpoint did not answer in time".to_string()
    } else if err.is_redirect() {
        "refused redirect".to_string()
    } else if err.is_connect() {
        "cannot connect".to_string()
    } else {
        "delivery failed".to_string()
    };
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
