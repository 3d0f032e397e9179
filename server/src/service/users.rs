//! Users: created by admins (or by redeeming an invite), updated, disabled, deleted, listed;
//! and each person's email preference.

use tack_data::Op;
use tack_protocol::{ApiError, EmailMode, ResponseBody, ServerRole, User};

use super::store_error;
use super::{Caller, Service, change, now_ms, validate};

impl Service {
    pub(crate) async fn create_user(
        &self,
        caller: &Caller,
        handle: String,
        display_name: String,
        email: Option<String>,
        role: ServerRole,
    ) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "create users")?;
        let user = User {
            id: 0,
            handle: validate::handle(&handle)?,
            display_name: validate::display_name(&display_name)?,
            email: validate::email(email.as_deref())?,
            role,
            disabled: false,
            created_at: now_ms(),
        };
        let changes = vec![change("role", "", role)];
        self.commit(
            caller,
            Op::CreateUser {
                user: user.clone(),
                key: None,
                token: None,
                invite: None,
            },
            changes,
        )
        .await?;
        let created = self.user_by_handle(&user.handle).await?;
        Ok(ResponseBody::User(created))
    }

    pub(crate) async fn set_user_disabled(
        &self,
        caller: &Caller,
        handle: String,
        disabled: bool,
    ) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "disable or enable users")?;
        let mut user = self.user_by_handle(&handle).await?;
        if caller.user_id() == Some(user.id) && disabled {
            return Err(ApiError::invalid(
                "handle",
                "you cannot disable your own account",
            ));
        }
        let changes = vec![change("disabled", user.disabled, disabled)];
        user.disabled = disabled;
        self.commit(caller, Op::UpdateUser(user.clone()), changes)
            .await?;
        if disabled {
            self.runtime().callers.end_user(user.id);
        }
        Ok(ResponseBody::User(user))
    }

    /// Everyone, for server admins. A plain user sees themselves and the people who share a
    /// project with them, and nobody's email but their own.
    pub(crate) async fn list_users(&self, caller: &Caller) -> Result<ResponseBody, ApiError> {
        let mut users = self.store.users().await.map_err(store_error)?;
        if !caller.is_admin() {
            let me = caller.user_id();
            let mut shared: std::collections::HashSet<u64> = me.into_iter().collect();
            for project in self.readable_projects(caller, true).await? {
                shared.extend(project.members.iter().map(|m| m.user));
            }
            users.retain(|u| shared.contains(&u.id));
            for user in &mut users {
                if Some(user.id) != me {
                    user.email = None;
                }
            }
        }
        users.sort_by(|a, b| a.handle.cmp(&b.handle));
        Ok(ResponseBody::Users(users))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn update_user(
        &self,
        caller: &Caller,
        handle: String,
        display_name: Option<String>,
        email: Option<Option<String>>,
        role: Option<ServerRole>,
        email_notifications: Option<EmailMode>,
    ) -> Result<ResponseBody, ApiError> {
        let mut user = self.user_by_handle(&handle).await?;
        let own = caller.user_id() == Some(user.id);
        if !own && !caller.is_admin() {
            return Err(ApiError::forbidden(
                "only a server admin can change another person's account",
            ));
        }
        let mut changes = Vec::new();
        if let Some(name) = display_name {
            let name = validate::display_name(&name)?;
            changes.push(change("display_name", &user.display_name, &name));
            user.display_name = name;
        }
        if let Some(email) = email {
            let email = validate::email(email.as_deref())?;
            changes.push(change(
                "email",
                user.email.clone().unwrap_or_default(),
                email.clone().unwrap_or_default(),
            ));
            user.email = email;
        }
        if let Some(role) = role {
            self.require_admin(caller, "change roles")?;
            if own && role != ServerRole::Admin {
                return Err(ApiError::invalid(
                    "role",
                    "you cannot demote yourself; ask another admin",
                ));
            }
            changes.push(change("role", user.role, role));
            user.role = role;
        }
        if !changes.is_empty() {
            self.commit(caller, Op::UpdateUser(user.clone()), changes)
                .await?;
        }
        if let Some(mode) = email_notifications {
            let id = user.id;
            let mut settings = self.store.user_settings(id).await.map_err(store_error)?;
            if mode != EmailMode::Off && user.email.is_none() {
                return Err(ApiError::invalid(
                    "email_notifications",
                    format!(
                        "@{} has no email address; set one first (--email ADDRESS)",
                        user.handle
                    ),
                ));
            }
            let changes = vec![change(
                "email_notifications",
                settings.email_notifications,
                mode,
            )];
            settings.email_notifications = mode;
            // A digest starts from now, not from the whole history.
            if mode == EmailMode::Digest {
                settings.digest_watermark = settings.digest_watermark.max(self.last_seq().await?);
            }
            self.commit(
                caller,
                Op::PutUserSettings {
                    user: user.id,
                    settings,
                    logged: true,
                },
                changes,
            )
            .await?;
        }
        Ok(ResponseBody::User(self.user_by_handle(&user.handle).await?))
    }

    pub(crate) async fn delete_user(
        &self,
        caller: &Caller,
        handle: String,
        reassign_to: Option<String>,
    ) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "delete users")?;
        let user = self.user_by_handle(&handle).await?;
        if caller.user_id() == Some(user.id) {
            return Err(ApiError::invalid(
                "handle",
                "you cannot delete your own account",
            ));
        }
        let reassign_to = match reassign_to {
            Some(to) => {
                let to = self.user_by_handle(&to).await?;
                if to.id == user.id {
                    return Err(ApiError::invalid(
                        "reassign_to",
                        "reassign the issues to someone else than the person deleted",
                    ));
                }
                Some(to.id)
            }
            None => None,
        };
        let id = user.id;
        let tokens = self.store.tokens(Some(id)).await.map_err(store_error)?;
        for token in &tokens {
            self.revoke_token_in_memory(&token.token.id);
        }
        self.commit(
            caller,
            Op::DeleteUser {
                id: user.id,
                reassign_to,
                tokens,
            },
            vec![change("user", format!("@{}", user.handle), "")],
        )
        .await?;
        self.runtime().callers.end_user(id);
        Ok(ResponseBody::Done)
    }

    pub(crate) async fn user_settings(
        &self,
        caller: &Caller,
        handle: Option<String>,
    ) -> Result<ResponseBody, ApiError> {
        let user = self.target_user(caller, handle).await?;
        let id = user.id;
        let settings = self.store.user_settings(id).await.map_err(store_error)?;
        Ok(ResponseBody::UserSettings { user, settings })
    }
}
