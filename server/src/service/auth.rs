//! Authentication of API tokens. Verifying argon2id costs tens of milliseconds by design, so a
//! token that verified once is remembered (as a SHA-256 of the presented string) until it is
//! revoked; a wrong secret always goes through argon2 again.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};
use tack_protocol::ApiError;

use super::store_error;
use super::{Caller, Service};

#[derive(Default)]
pub struct TokenCache {
    verified: Mutex<HashMap<String, [u8; 32]>>,
    /// Tokens revoked while this server runs: connections still using them are refused at
    /// their next request.
    revoked: Mutex<std::collections::HashSet<String>>,
}

impl TokenCache {
    fn knows(&self, id: &str, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        verified
            .get(id)
            .is_some_and(|known| subtle_eq(known, &digest))
    }

    fn remember(&self, id: &str, presented: &str) {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_string(), digest);
    }

    pub fn revoke(&self, id: &str) {
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        self.revoked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_string());
    }

    pub fn is_revoked(&self, id: &str) -> bool {
        self.revoked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(id)
    }
}

/// A hash no presented secret matches, verified in place of a token that does not exist so
/// that its refusal takes as long as a wrong secret's.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut secret = [0u8; 32];
        rand::fill(&mut secret[..]);
        let secret: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        tack_keys::hash_secret(&secret).unwrap_or_default()
    })
}

fn subtle_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Service {
    /// Turns a presented API token into a caller, or says why not. Every refusal of a
    /// well-formed token says the same thing and costs one argon2 verification: an unknown id,
    /// a wrong secret and a revoked token cannot be told apart, by message or by time.
    pub async fn authenticate_token(&self, presented: &str) -> Result<Caller, ApiError> {
        let refused = || {
            ApiError::unauthenticated(
                "the API token is not valid (mistyped, or revoked); create a new one with `tack ctl token create`",
            )
        };
        let (id, secret) = tack_keys::split_token(presented)
            .map_err(|e| ApiError::unauthenticated(e.to_string()))?;
        let (id, secret) = (id.to_string(), secret.to_string());
        let lookup = id.clone();
        let stored = self.store.token(&lookup).await.map_err(store_error)?;
        let remembered = stored.is_some() && self.tokens.knows(&id, presented);
        if !remembered {
            let hash = stored
                .as_ref()
                .map_or_else(|| dummy_hash().to_string(), |s| s.hash.clone());
            let ok = tokio::task::spawn_blocking(move || tack_keys::verify_secret(&secret, &hash))
                .await
                .unwrap_or(false);
            if !ok {
                return Err(refused());
            }
        }
        let stored = stored.ok_or_else(refused)?;
        if stored.token.revoked {
            return Err(refused());
        }
        if !remembered {
            self.tokens.remember(&id, presented);
        }
        let user = self
            .user_by_id(stored.token.user)
            .await?
            .ok_or_else(refused)?;
        if user.disabled {
            return Err(ApiError::unauthenticated(format!(
                "the account @{} is disabled; ask a server admin",
                user.handle
            )));
        }
        Ok(Caller::User {
            user: (*user).clone(),
            token: Some(id),
        })
    }

    /// The account an SSH key belongs to, if it is known and the account is enabled.
    pub async fn authenticate_key(&self, fingerprint: &str) -> Result<Option<Caller>, ApiError> {
        let lookup = fingerprint.to_string();
        let Some(key) = self.store.key(&lookup).await.map_err(store_error)? else {
            return Ok(None);
        };
        match self.user_by_id(key.owner).await? {
            Some(user) if !user.disabled => Ok(Some(Caller::User {
                user: (*user).clone(),
                token: None,
            })),
            _ => Ok(None),
        }
    }

    pub(crate) fn revoke_token_in_memory(&self, id: &str) {
        self.tokens.revoke(id);
    }

    pub(crate) fn token_revoked(&self, id: &str) -> bool {
        self.tokens.is_revoked(id)
    }
}
