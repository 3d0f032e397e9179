//! Invites: the only way in for a new person. A code is shown once, stored as a hash, and works
//! once, before it expires.

use tack_data::{Op, StoredInvite};
use tack_protocol::{ActivityKind, ApiError, Invite, ResponseBody, ServerRole, User};

use super::store_error;
use super::{Caller, Service, change, keys::parse_key, now_ms, tokens::issue_token, validate};

/// Invites last at most 30 days.
const MAX_INVITE_SECS: u64 = 30 * 24 * 3600;

impl Service {
    pub(crate) async fn create_invite(
        &self,
        caller: &Caller,
        role: ServerRole,
        expires_in_secs: u64,
    ) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "create invites")?;
        if expires_in_secs == 0 || expires_in_secs > MAX_INVITE_SECS {
            return Err(ApiError::invalid(
                "expires_in",
                format!(
                    "must be between 1 second and {} days",
                    MAX_INVITE_SECS / 86400
                ),
            ));
        }
        let secret = tokio::task::spawn_blocking(tack_keys::new_invite_code)
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let now = now_ms();
        let invite = Invite {
            id: secret.id.clone(),
            role,
            created_by: caller.actor().unwrap_or(tack_protocol::Actor::Console),
            created_at: now,
            expires_at: now + (expires_in_secs as i64) * 1000,
            redeemed_by: None,
            revoked: false,
        };
        let stored = StoredInvite {
            invite: invite.clone(),
            hash: secret.hash,
        };
        let changes = vec![change("role", "", role)];
        self.commit(
            caller,
            Op::PutInvite {
                invite: stored,
                kind: ActivityKind::InviteCreated,
            },
            changes,
        )
        .await?;
        Ok(ResponseBody::InviteCreated {
            invite,
            code: secret.display,
        })
    }

    /// Checks a code without using it: the SSH front asks this before it lets a new key in.
    pub async fn check_invite(&self, code: &str) -> Result<StoredInvite, ApiError> {
        let refused = || {
            ApiError::unauthenticated(
                "that invite code is not valid; check it with whoever invited you",
            )
        };
        let (id, secret) = tack_keys::split_invite_code(code)
            .map_err(|e| ApiError::invalid("code", e.to_string()))?;
        let lookup = id.clone();
        let stored = self
            .store
            .invite(&lookup)
            .await
            .map_err(store_error)?
            .ok_or_else(refused)?;
        let hash = stored.hash.clone();
        let matches = tokio::task::spawn_blocking(move || tack_keys::verify_secret(&secret, &hash))
            .await
            .unwrap_or(false);
        if !matches {
            return Err(refused());
        }
        if stored.invite.revoked {
            return Err(ApiError::unauthenticated(
                "that invite was revoked; ask for a new one",
            ));
        }
        if stored.invite.redeemed_by.is_some() {
            return Err(ApiError::unauthenticated(
                "that invite was already used; ask for a new one",
            ));
        }
        if stored.invite.expires_at <= now_ms() {
            return Err(ApiError::unauthenticated(
                "that invite has expired; ask for a new one",
            ));
        }
        Ok(stored)
    }

    pub(crate) async fn redeem_invite(
        &self,
        caller: &Caller,
        code: String,
        handle: String,
        display_name: String,
        public_key: Option<String>,
        token_name: Option<String>,
    ) -> Result<ResponseBody, ApiError> {
        let stored = self.check_invite(&code).await?;
        let user = User {
            id: 0,
            handle: validate::handle(&handle)?,
            display_name: validate::display_name(&display_name)?,
            email: None,
            role: stored.invite.role,
            disabled: false,
            created_at: now_ms(),
        };
        let key = public_key.as_deref().map(|k| parse_key(k, 0)).transpose()?;
        let issued = match token_name {
            Some(name) => Some(
                tokio::task::spawn_blocking(move || issue_token(0, &name))
                    .await
                    .map_err(|e| ApiError::internal(e.to_string()))??,
            ),
            None => None,
        };
        let (token, display) = match issued {
            Some((token, display)) => (Some(token), Some(display)),
            None => (None, None),
        };
        // The new account acts for itself in the log; anonymous callers have no actor yet.
        let acting = match caller {
            Caller::Anonymous => Caller::Console,
            other => other.clone(),
        };
        let changes = vec![
            change("invite", "", &stored.invite.id),
            change("role", "", stored.invite.role),
        ];
        let op = Op::CreateUser {
            user: user.clone(),
            key,
            token,
            invite: Some(stored.invite.id.clone()),
        };
        self.commit(&acting, op, changes).await?;
        let created = self.user_by_handle(&user.handle).await?;
        Ok(ResponseBody::Redeemed {
            user: created,
            token: display,
        })
    }

    pub(crate) async fn list_invites(&self, caller: &Caller) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "list invites")?;
        let mut invites: Vec<Invite> = self
            .store
            .invites()
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|i| i.invite)
            .collect();
        invites.sort_by_key(|i| std::cmp::Reverse(i.created_at));
        Ok(ResponseBody::Invites(invites))
    }

    pub(crate) async fn revoke_invite(
        &self,
        caller: &Caller,
        id: String,
    ) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "revoke invites")?;
        let id = id
            .trim()
            .split('-')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let lookup = id.clone();
        let mut stored = self
            .store
            .invite(&lookup)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                ApiError::not_found(format!("no invite {}", validate::clean_line(&id)))
            })?;
        let changes = vec![change("revoked", stored.invite.revoked, true)];
        stored.invite.revoked = true;
        let invite = stored.invite.clone();
        self.commit(
            caller,
            Op::PutInvite {
                invite: stored,
                kind: ActivityKind::InviteRevoked,
            },
            changes,
        )
        .await?;
        Ok(ResponseBody::Invites(vec![invite]))
    }
}
