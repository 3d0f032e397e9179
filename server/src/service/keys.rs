//! SSH keys: a person's identity on the SSH front.

use tack_data::Op;
use tack_protocol::{ApiError, ResponseBody, SshKey};

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
        let changes = vec![change("key", "", &key.fingerprint)];
        self.commit(caller, Op::AddKey(key.clone()), changes)
            .await?;
        Ok(ResponseBody::Key(key))
    }

    pub(crate) async fn remove_key(
        &self,
        caller: &Caller,
        fingerprint: String,
    ) -> Result<ResponseBody, ApiError> {
        let lookup = fingerprint.trim().to_string();
        let key = self.read(move |s| s.key(&lookup)).await?.ok_or_else(|| {
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
        let keys = self.read(move |s| s.keys_of(owner.id)).await?;
        Ok(ResponseBody::Keys(keys))
    }
}
