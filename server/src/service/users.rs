//! Users: created by admins (or by redeeming an invite), disabled, listed.

use tack_data::Op;
use tack_protocol::{ApiError, ResponseBody, ServerRole, User};

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
        Ok(ResponseBody::User(user))
    }

    pub(crate) async fn list_users(&self, _caller: &Caller) -> Result<ResponseBody, ApiError> {
        let mut users = self.read(|s| s.users()).await?;
        users.sort_by(|a, b| a.handle.cmp(&b.handle));
        Ok(ResponseBody::Users(users))
    }
}
