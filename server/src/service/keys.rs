//! SSH keys: a person's identity on the SSH front.

use tack_data::{Op, PendingKey};
use tack_protocol::{ApiError, ResponseBody, SshKey};

use super::store_error;
use super::{Caller, Service, change, now_ms};

pub(crate) fn parse_key(public_key: &str, owner: u64) -> Result<SshKey, ApiError> {
    let parsed = tack_keys::parse_public_key(public_key)
        .map_err(|e| ApiError::invalid("public_key", e.to_string()))?;
    Ok(SshKey {
        fingerprint: parsed.fingerprint,
        owner,
        algorithm: parsed.algorithm,
        comment: super::validate::clean_line(&parsed.comment),
        public_key: parsed.openssh,
        added_at: now_ms(),
        last_used_at: None,
    })
}

impl Service {
    pub(crate) async fn add_key(
        &self,
        caller: &Caller,
        user: Option<String>,
        public_key: String,
    ) -> Result<ResponseBody, ApiError> {
        let owner = self.target_user(caller, user).await?;
        let key = parse_key(&public_key, owner.id)?;
        if caller.is_admin() {
            // An admin vouches for the key they add.
            let changes = vec![change("key", "", &key.fingerprint)];
            self.commit(caller, Op::AddKey(key.clone()), changes)
                .await?;
            return Ok(ResponseBody::Key(key));
        }
        // Anyone can paste anyone's public key: it waits until its holder proves to be the
        // person who pasted it, with a code only that person was shown.
        let code = tokio::task::spawn_blocking(tack_keys::new_confirmation_code)
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let changes = vec![
            change("key", "", &key.fingerprint),
            change("confirmed", "", "no (waits for its first login)"),
        ];
        self.commit(
            caller,
            Op::AddPendingKey(PendingKey {
                key: key.clone(),
                code_hash: code.hash,
            }),
            changes,
        )
        .await?;
        Ok(ResponseBody::KeyPending {
            key,
            code: code.display,
        })
    }

    /// Whether someone added this key to their account and it waits for its first login.
    pub async fn key_is_pending(&self, fingerprint: &str) -> Result<bool, ApiError> {
        let lookup = fingerprint.to_string();
        Ok(!self
            .store
            .pending_keys(&lookup)
            .await
            .map_err(store_error)?
            .is_empty())
    }

    /// The first login with a pending key: `code` names whose it is. Returns that account, now
    /// holding the key, or None when the code matches no claim.
    pub async fn confirm_key(
        &self,
        fingerprint: &str,
        code: &str,
    ) -> Result<Option<Caller>, ApiError> {
        let Some(code) = tack_keys::clean_confirmation_code(code) else {
            return Ok(None);
        };
        let lookup = fingerprint.to_string();
        let claims = self
            .store
            .pending_keys(&lookup)
            .await
            .map_err(store_error)?;
        let owner = tokio::task::spawn_blocking(move || {
            claims
                .iter()
                .find(|claim| tack_keys::verify_secret(&code, &claim.code_hash))
                .map(|claim| claim.key.owner)
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
        let Some(owner) = owner else {
            return Ok(None);
        };
        let user = self
            .user_by_id(owner)
            .await?
            .ok_or_else(|| ApiError::not_found("the account that added this key is gone"))?;
        let caller = Caller::User {
            user: (*user).clone(),
            token: None,
        };
        self.commit(
            &caller,
            Op::ConfirmKey {
                fingerprint: fingerprint.to_string(),
                owner,
            },
            vec![change("confirmed", "no", "yes, at its first login")],
        )
        .await?;
        self.authenticate_key(fingerprint).await
    }

    pub(crate) async fn remove_key(
        &self,
        caller: &Caller,
        fingerprint: String,
    ) -> Result<ResponseBody, ApiError> {
        let lookup = fingerprint.trim().to_string();
        let key = self
            .store
            .key(&lookup)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no key {}; `tack ctl key list` shows yours",
                    super::validate::clean_line(&fingerprint)
                ))
            })?;
        if caller.user_id() != Some(key.owner) && !caller.is_admin() {
            return Err(ApiError::forbidden("you can only remove your own keys"));
        }
        let changes = vec![change("key", &key.fingerprint, "")];
        self.commit(
            caller,
            Op::RemoveKey {
                fingerprint: key.fingerprint.clone(),
            },
            changes,
        )
        .await?;
        Ok(ResponseBody::Key(key))
    }

    pub(crate) async fn list_keys(
        &self,
        caller: &Caller,
        user: Option<String>,
    ) -> Result<ResponseBody, ApiError> {
        let owner = self.target_user(caller, user).await?;
        let keys = self.store.keys_of(owner.id).await.map_err(store_error)?;
        Ok(ResponseBody::Keys(keys))
    }
}
