//! Webhook deliveries: a signed JSON POST per event, through a client that refuses private,
//! loopback and link-local targets (also after DNS resolution and across redirects) unless the
//! configuration allows them.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tack_protocol::{Delivery, Event, Job, event_name};

use super::Ran;
use crate::service::{Service, now_ms};

const MAX_REDIRECTS: usize = 5;

/// Why a target is refused, or `None` when it is a public address.
pub fn private_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            if v4.is_loopback() {
                Some("a loopback address")
            } else if v4.is_private() || (a == 100 && (64..128).contains(&b)) {
                Some("a private address")
            } else if v4.is_link_local() {
                Some("a link-local address")
            } else if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || a == 0 {
                Some("not a unicast address")
            } else if (a == 198 && (b == 18 || b == 19)) || (a == 192 && b == 0 && c == 0) {
                Some("a reserved address (benchmarking or protocol assignments)")
            } else if a >= 240 {
                Some("a reserved address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            if v6.is_loopback() {
                return Some("a loopback address");
            }
            // ::ffff:a.b.c.d and the old ::a.b.c.d both reach the IPv4 address inside.
            if let Some(v4) = v6.to_ipv4() {
                return private_reason(IpAddr::V4(v4));
            }
            let first = segments[0];
            if first == 0x0064 && segments[1] == 0xff9b {
                Some("a NAT64 address (it may translate to any IPv4 address)")
            } else if first == 0x2002 {
                Some("a 6to4 address (it may relay to any IPv4 address)")
            } else if first & 0xfe00 == 0xfc00 {
                Some("a private address")
            } else if first & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if first & 0xffc0 == 0xfec0 {
                Some("a site-local address")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("not a unicast address")
            } else {
                None
            }
        }
    }
}

/// Checks a webhook URL as given: scheme, host, and (for an address) its range. Host names
/// are checked again at every delivery, after resolution.
pub fn check_url(url: &str, allow_private: bool) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| {
        format!("'{url}' is not a URL ({e}); give one like https://ci.example.com/hook")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "webhooks are sent over http or https, not {}",
            parsed.scheme()
        ));
    }
    let host = parsed
        .host()
        .ok_or_else(|| format!("'{url}' names no host"))?;
    let ip = match host {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    };
    if let Some(ip) = ip
        && !allow_private
        && let Some(reason) = private_reason(ip)
    {
        return Err(format!(
            "{ip} is {reason}; webhooks may not target it (set [webhooks] allow_private_targets = true to allow)"
        ));
    }
    Ok(parsed)
}

/// Resolves a webhook's host now and refuses it if every address it has is private.
pub async fn check_target(url: &str, allow_private: bool) -> Result<(), String> {
    let parsed = check_url(url, allow_private)?;
    if allow_private {
        return Ok(());
    }
    let Some(url::Host::Domain(name)) = parsed.host() else {
        return Ok(());
    };
    // The name must resolve now, to public addresses only; every delivery resolves it again
    // through the guarded resolver, so a later change of its DNS answer is caught there.
    public_addrs(name, 80).await.map(|_| ()).map_err(|reason| {
        format!("{reason}; a webhook needs a host name this server can resolve to a public address")
    })
}

async fn public_addrs(name: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
        .await
        .map_err(|e| format!("cannot resolve {name}: {e}"))?
        .collect();
    let public: Vec<SocketAddr> = resolved
        .iter()
        .copied()
        .filter(|a| private_reason(a.ip()).is_none())
        .collect();
    match (public.is_empty(), resolved.first()) {
        (false, _) => Ok(public),
        (true, Some(addr)) => Err(format!(
            "{name} resolves to {}, {}; webhooks may not target it",
            addr.ip(),
            private_reason(addr.ip()).unwrap_or("a refused address")
        )),
        (true, None) => Err(format!("{name} resolves to no address")),
    }
}

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
    let store = service.store().clone();
    let hook = match tokio::task::spawn_blocking(move || store.webhook(hook_id)).await {
        Ok(Ok(Some(hook))) => hook,
        // Deleted since: nothing to deliver to.
        Ok(Ok(None)) => return (Ran::Done, None),
        Ok(Err(err)) => return (Ran::Failed(format!("cannot read the webhook: {err}")), None),
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
    fn private_loopback_and_link_local_targets_are_refused() {
        for url in [
            "http://127.0.0.1/hook",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://172.16.5.5/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://[::1]/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://0.0.0.0/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::a00:1]/",
            "http://[2002:7f00:1::1]/",
            "http://[fec0::1]/",
            "http://198.18.0.1/",
            "http://198.19.255.1/",
            "http://192.0.0.8/",
            "http://240.0.0.1/",
            "http://255.255.255.254/",
        ] {
            let err = check_url(url, false).unwrap_err();
            assert!(err.contains("may not target"), "{url}: {err}");
            assert!(check_url(url, true).is_ok(), "{url} allowed by config");
        }
        assert!(check_url("https://93.184.216.34/hook", false).is_ok());
        assert!(check_url("https://example.com/hook", false).is_ok());
        assert!(check_url("ftp://example.com/", false).is_err());
        assert!(check_url("not a url", false).is_err());
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused() {
        let err = check_target("http://localhost:9/", false)
            .await
            .unwrap_err();
        assert!(err.contains("loopback"), "{err}");
        assert!(check_target("http://localhost:9/", true).await.is_ok());
        let err = check_target("http://no-such-host.invalid/hook", false)
            .await
            .unwrap_err();
        assert!(err.contains("cannot resolve"), "{err}");
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
