//! The PROXY protocol (v2, as HAProxy's `send-proxy-v2` sends it) on the TCP listeners: a
//! connection from a trusted proxy must begin with a header naming the client it carries, and
//! that client's address is the connection's everywhere (per-source limits, penalties, the
//! session list, the audit log). Nobody else may send one: from any other address the header is
//! not read, and the bytes fail the SSH or protocol handshake like any other garbage.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use ppp::v2::{Addresses, Command, Header, PROTOCOL_PREFIX};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The fixed part of a v2 header: the signature, version and command, family, and length.
const FIXED: usize = 16;
/// Larger than any header a proxy sends for TCP (addresses are 36 bytes; TLVs are short).
const MAX_BODY: usize = 1024;

/// The proxies whose PROXY headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Addresses (`10.0.0.5`) and networks (`10.0.0.0/24`), as `trusted_proxies` lists them.
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "invalid configuration: trusted_proxies entry {entry:?} is neither an address (10.0.0.5) nor a network (10.0.0.0/24)"
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyHeaderError {
    #[error("the trusted proxy {0} sent no PROXY v2 header")]
    Missing(SocketAddr),
    #[error("the PROXY header from {peer} is invalid: {reason}")]
    Invalid { peer: SocketAddr, reason: String },
    #[error("reading the PROXY header from {peer}: {source}")]
    Io {
        peer: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// The address `stream` speaks for: `peer` itself, or — when `peer` is a trusted proxy — the
/// client named by the header it must send first (read here, and no byte more). A proxy's own
/// health checks (`LOCAL`) speak for the proxy.
pub async fn client_address<S: AsyncRead + Unpin>(
    stream: &mut S,
    peer: SocketAddr,
    trusted: &TrustedProxies,
) -> Result<SocketAddr, ProxyHeaderError> {
    if !trusted.trusts(peer.ip()) {
        return Ok(peer);
    }
    let io = |source| ProxyHeaderError::Io { peer, source };
    let mut header = vec![0u8; FIXED];
    stream.read_exact(&mut header).await.map_err(io)?;
    if !header.starts_with(PROTOCOL_PREFIX) {
        return Err(ProxyHeaderError::Missing(peer));
    }
    let body = usize::from(u16::from_be_bytes([header[FIXED - 2], header[FIXED - 1]]));
    if body > MAX_BODY {
        return Err(ProxyHeaderError::Invalid {
            peer,
            reason: format!("it claims {body} bytes of addresses (at most {MAX_BODY})"),
        });
    }
    header.resize(FIXED + body, 0);
    stream.read_exact(&mut header[FIXED..]).await.map_err(io)?;
    let parsed = Header::try_from(header.as_slice()).map_err(|e| ProxyHeaderError::Invalid {
        peer,
        reason: e.to_string(),
    })?;
    Ok(match (parsed.command, parsed.addresses) {
        (Command::Proxy, Addresses::IPv4(ip)) => {
            SocketAddr::new(ip.source_address.into(), ip.source_port)
        }
        (Command::Proxy, Addresses::IPv6(ip)) => {
            SocketAddr::new(ip.source_address.into(), ip.source_port)
        }
        _ => peer,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn header(source: SocketAddr, body_len: Option<u16>) -> Vec<u8> {
        let mut bytes = PROTOCOL_PREFIX.to_vec();
        bytes.push(0x21); // version 2, PROXY
        bytes.push(0x11); // IPv4, stream
        bytes.extend(body_len.unwrap_or(12).to_be_bytes());
        let SocketAddr::V4(v4) = source else {
            panic!("the test speaks IPv4")
        };
        bytes.extend(v4.ip().octets());
        bytes.extend([127, 0, 0, 1]);
        bytes.extend(v4.port().to_be_bytes());
        bytes.extend(2222u16.to_be_bytes());
        bytes
    }

    fn trusted() -> TrustedProxies {
        TrustedProxies::parse(&["127.0.0.1".into(), "10.1.0.0/16".into()]).unwrap()
    }

    #[tokio::test]
    async fn a_trusted_proxy_names_the_client_and_nothing_after_the_header_is_read() {
        let client: SocketAddr = "203.0.113.7:4242".parse().unwrap();
        let mut bytes = header(client, None);
        bytes.extend(b"SSH-2.0-OpenSSH_9.6\r\n");
        let mut stream = bytes.as_slice();
        let proxy = "127.0.0.1:50000".parse().unwrap();
        assert_eq!(
            client_address(&mut stream, proxy, &trusted())
                .await
                .unwrap(),
            client
        );
        assert_eq!(stream, b"SSH-2.0-OpenSSH_9.6\r\n");
    }

    #[tokio::test]
    async fn anyone_else_is_taken_at_their_word_and_nothing_is_read() {
        let bytes = header("203.0.113.7:4242".parse().unwrap(), None);
        let mut stream = bytes.as_slice();
        let stranger: SocketAddr = "192.0.2.9:1234".parse().unwrap();
        assert_eq!(
            client_address(&mut stream, stranger, &trusted())
                .await
                .unwrap(),
            stranger
        );
        assert_eq!(
            stream.len(),
            bytes.len(),
            "a stranger's header stays unread"
        );
    }

    #[tokio::test]
    async fn a_trusted_proxy_without_a_header_or_with_a_bad_one_is_refused() {
        let proxy: SocketAddr = "10.1.2.3:50000".parse().unwrap();
        let mut plain = &b"SSH-2.0-OpenSSH_9.6\r\nmore bytes here"[..];
        assert!(matches!(
            client_address(&mut plain, proxy, &trusted()).await,
            Err(ProxyHeaderError::Missing(_))
        ));
        let huge = header("203.0.113.7:1".parse().unwrap(), Some(u16::MAX));
        assert!(matches!(
            client_address(&mut huge.as_slice(), proxy, &trusted()).await,
            Err(ProxyHeaderError::Invalid { .. })
        ));
        let short = header("203.0.113.7:1".parse().unwrap(), Some(4));
        assert!(matches!(
            client_address(&mut short.as_slice(), proxy, &trusted()).await,
            Err(ProxyHeaderError::Invalid { .. })
        ));
        let cut = header("203.0.113.7:1".parse().unwrap(), None);
        assert!(matches!(
            client_address(&mut &cut[..20], proxy, &trusted()).await,
            Err(ProxyHeaderError::Io { .. })
        ));
    }

    #[test]
    fn entries_are_addresses_or_networks() {
        let proxies = trusted();
        assert!(proxies.trusts("10.1.200.3".parse().unwrap()));
        assert!(proxies.trusts("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!proxies.trusts("10.2.0.1".parse().unwrap()));
        let err = TrustedProxies::parse(&["haproxy.internal".into()]).unwrap_err();
        assert!(err.contains("trusted_proxies"), "{err}");
    }
}
