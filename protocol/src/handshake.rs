//! The first frame each way: magic, protocol version negotiation and credentials.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::api::Identity;
use crate::error::ApiError;

pub const MAGIC: [u8; 4] = *b"TACK";
/// The protocol version this build speaks. Bump on any incompatible change to the messages.
pub const PROTOCOL_VERSION: u16 = 1;
/// The oldest version this build still speaks.
pub const MIN_PROTOCOL_VERSION: u16 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Credentials {
    /// Only `RedeemInvite` is allowed; on the admin socket the peer is the console regardless.
    None,
    /// `tack_<id>_<secret>`.
    Token(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ClientHello {
    pub magic: [u8; 4],
    pub min_version: u16,
    pub max_version: u16,
    pub client: String,
    pub credentials: Credentials,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Welcome {
    pub version: u16,
    pub server: String,
    pub identity: Option<Identity>,
    /// The newest event sequence number at the time of the handshake.
    pub event_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ServerHello {
    pub magic: [u8; 4],
    pub result: Result<Welcome, ApiError>,
}

impl ClientHello {
    pub fn new(client: impl Into<String>, credentials: Credentials) -> Self {
        ClientHello {
            magic: MAGIC,
            min_version: MIN_PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
            client: client.into(),
            credentials,
        }
    }
}

/// Picks the version both sides speak, or explains why there is none.
pub fn negotiate(hello: &ClientHello) -> Result<u16, ApiError> {
    if hello.magic != MAGIC {
        return Err(ApiError::invalid(
            "magic",
            "this is not a tack client handshake; point a tack client at this port",
        ));
    }
    let best = hello.max_version.min(PROTOCOL_VERSION);
    if best < hello.min_version.max(MIN_PROTOCOL_VERSION) || hello.min_version > hello.max_version {
        return Err(ApiError::invalid(
            "protocol_version",
            format!(
                "client speaks protocol {}..={}, server speaks {}..={}; upgrade the older side",
                hello.min_version, hello.max_version, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION
            ),
        ));
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_version_is_accepted() {
        let hello = ClientHello::new("test", Credentials::None);
        assert_eq!(negotiate(&hello), Ok(PROTOCOL_VERSION));
    }

    #[test]
    fn newer_client_falls_back_to_ours() {
        let mut hello = ClientHello::new("test", Credentials::None);
        hello.max_version = PROTOCOL_VERSION + 5;
        assert_eq!(negotiate(&hello), Ok(PROTOCOL_VERSION));
    }

    #[test]
    fn unknown_version_names_both() {
        let mut hello = ClientHello::new("test", Credentials::None);
        hello.min_version = PROTOCOL_VERSION + 1;
        hello.max_version = PROTOCOL_VERSION + 2;
        let err = negotiate(&hello).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "{}..={}",
                PROTOCOL_VERSION + 1,
                PROTOCOL_VERSION + 2
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "server speaks {MIN_PROTOCOL_VERSION}..={PROTOCOL_VERSION}"
            )),
            "{err}"
        );
    }

    #[test]
    fn wrong_magic_is_refused() {
        let mut hello = ClientHello::new("test", Credentials::None);
        hello.magic = *b"HTTP";
        assert!(
            matches!(negotiate(&hello), Err(ApiError::Invalid { field, .. }) if field == "magic")
        );
    }
}
