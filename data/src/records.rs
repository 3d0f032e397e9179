//! The records only the store holds (secrets beside the records they protect), and how every
//! record is encoded: its stored form ([`crate::stored`]) in bincode 2, decoded with a limit.

use tack_protocol::{ApiToken, Invite, SshKey, Webhook};

use crate::StoreError;
use crate::stored::{AsStored, Stored};

/// No single record is larger than this (issues cap their text at 64 KiB each).
const RECORD_LIMIT: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub token: ApiToken,
    /// argon2id PHC string of the secret.
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInvite {
    pub invite: Invite,
    pub hash: String,
}

pub fn encode<T: Stored>(value: &T) -> Vec<u8> {
    // Encoding into a Vec cannot fail for our types: they have no fallible Encode impls.
    bincode::encode_to_vec(AsStored(value), bincode::config::standard()).unwrap_or_default()
}

pub fn decode<T: Stored>(collection: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    tack_protocol::codec::decode_payload(bytes, RECORD_LIMIT)
        .map(T::from_form)
        .map_err(|e| StoreError::Corrupt {
            tree: collection,
            reason: e.to_string(),
        })
}

/// A key someone added to their own account, not yet proven theirs: it logs in only once its
/// holder enters the code shown to the person who added it. Anyone can paste anyone's public
/// key, so a pasted key must not capture its real owner's first login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingKey {
    pub key: SshKey,
    /// argon2id PHC string of the confirmation code.
    pub code_hash: String,
}

/// A user's second factor. The secret must be readable to check codes, so it is kept in the
/// store as is; `last_step` refuses a code that was already used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpRecord {
    pub user: u64,
    pub secret: Vec<u8>,
    pub enabled: bool,
    pub last_step: u64,
}

/// A webhook and the secret its deliveries are signed with (kept readable: signing needs it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWebhook {
    pub hook: Webhook,
    pub secret: String,
}
