//! Where a webhook may point: the policy that refuses private, loopback and link-local
//! targets unless the configuration allows them. The service checks a URL when a webhook is
//! made; the delivery client checks it again at every send and after every DNS answer.

use std::net::{IpAddr, SocketAddr};

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

pub async fn public_addrs(name: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
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
}
