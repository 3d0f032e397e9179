//! API tokens: how bots and scripts authenticate on the protocol socket.

use tack_data::{Op, StoredToken};
use tack_protocol::{ActivityKind, ApiError, ApiToken, ResponseBody};

use super::store_error;
use super::{Caller, Service, change, now_ms, validate};
use std::sync::Arc;

pub(crate) fn issue_token(user: u64, name: &str) -> Result<(StoredToken, String), ApiError> {
    let secret = tack_keys::new_api_token().map_err(|e| ApiError::internal(e.to_string()))?;
    let token = ApiToken {
        id: secret.id,
        user,
        name: validate::name("name", name, 64)?,
        created_at: now_ms(),
        last_used_at: None,
        revoked: false,
    };
    Ok((
        StoredToken {
            token,
            hash: secret.hash,
        },
        secret.display,
    ))
}

impl Service {
    pub(crate) async fn create_token(
        &self,
        caller: &Caller,
        user: Option<String>,
        name: String,
    ) -> Result<ResponseBody, ApiError> {
        let owner = self.target_user(caller, user).await?;
        let (stored, display) = tokio::task::spawn_blocking(move || issue_token(owner.id, &name))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))??;
        let changes = vec![change("token", "", &stored.token.name)];
        let token = stored.token.clone();
        self.commit(
            caller,
            Op::PutToken {
                token: stored,
                kind: ActivityKind::TokenCreated,
            },
            changes,
        )
        .await?;
        Ok(ResponseBody::TokenCreated {
            token,
            secret: display,
        })
    }

    pub(crate) async fn list_tokens(
        &self,
        caller: &Caller,
        user: Option<String>,
    ) -> Result<ResponseBody, ApiError> {
        let owner = match (&user, caller) {
            (None, Caller::Console) => None,
            _ => Some(self.target_user(caller, user).await?.id),
        };
        let tokens = self.store.tokens(owner).await.map_err(store_error)?;
        Ok(ResponseBody::Tokens(
            tokens.into_iter().map(|t| t.token).collect(),
        ))
    }

    pub(crate) async fn revoke_token(
        &self,
        caller: &Caller,
        id: String,
    ) -> Result<ResponseBody, ApiError> {
        let id = id
            .trim()
            .trim_start_matches("tack_")
            .split('_')
            .next()
            .unwrap_or_default()
            .to_string();
        let lookup = id.clone();
        let mut stored = self
            .store
            .token(&lookup)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no token {}; `tack ctl token list` shows yours",
                    validate::clean_line(&id)
                ))
            })?;
        if caller.user_id() != Some(stored.token.user) && !caller.is_admin() {
            return Err(ApiError::forbidden("you can only revoke your own tokens"));
        }
        let changes = vec![change("revoked", stored.token.revoked, true)];
        stored.token.revoked = true;
        let token = stored.token.clone();
        self.commit(
            caller,
            Op::PutToken {
                token: stored,
                kind: ActivityKind::TokenRevoked,
            },
            changes,
        )
        .await?;
        self.revoke_token_in_memory(&token.id);
        self.runtime().callers.end_token(&token.id);
        Ok(ResponseBody::Tokens(vec![token]))
    }
}

impl Service {
    /// A token revoked through any node (this one, or another on the same database) ends the
    /// connections that use it here too: the revocation's event says a token was revoked, and
    /// the store says which.
    pub async fn watch_token_revocations(self: Arc<Self>) {
        let mut events = self.subscribe_bus();
        loop {
            match events.recv().await {
                Ok(event) if event.activity.kind == ActivityKind::TokenRevoked => {
                    match self.store.tokens(None).await {
                        Ok(tokens) => {
                            for token in tokens.iter().filter(|t| t.token.revoked) {
                                if !self.token_revoked(&token.token.id) {
                                    self.revoke_token_in_memory(&token.token.id);
                                    self.runtime().callers.end_token(&token.token.id);
                                }
                            }
                        }
                        Err(err) => {
                            tracing::warn!(error = %err, "cannot read which token was revoked")
                        }
                    }
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}
