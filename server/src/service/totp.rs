//! A second factor for SSH logins: TOTP (RFC 6238, as authenticator apps speak it). Enrolment
//! makes a secret that is in force only once a code from it is confirmed; a code that was used
//! once is refused the second time.

use tack_data::{Op, TotpRecord};
use tack_protocol::{ApiError, ResponseBody, User};
use totp_rs::{Builder, Totp};

use super::store_error;
use super::{Caller, Service, change};

const ISSUER: &str = "tack";
const STEP_SECONDS: u64 = 30;
/// 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
/// Wrong codes an account may get within `LOCKOUT` before it is locked for `LOCKOUT`: the
/// per-address penalties of the SSH front slow one address, this stops many addresses.
const MAX_WRONG_CODES: u32 = 5;
const LOCKOUT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Wrong two-factor codes per account, while this server runs.
#[derive(Default)]
pub struct Lockouts {
    wrong: std::sync::Mutex<std::collections::HashMap<u64, (u32, std::time::Instant)>>,
}

impl Lockouts {
    fn wrong(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<u64, (u32, std::time::Instant)>> {
        self.wrong
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How long `user` stays locked, if they are.
    fn locked_for(&self, user: u64) -> Option<std::time::Duration> {
        let mut wrong = self.wrong();
        let (count, last) = *wrong.get(&user)?;
        let since = last.elapsed();
        if since >= LOCKOUT {
            wrong.remove(&user);
            return None;
        }
        (count >= MAX_WRONG_CODES).then(|| LOCKOUT - since)
    }

    fn failed(&self, user: u64) {
        let mut wrong = self.wrong();
        let now = std::time::Instant::now();
        let entry = wrong.entry(user).or_insert((0, now));
        if now.duration_since(entry.1) >= LOCKOUT {
            *entry = (0, now);
        }
        entry.0 += 1;
        entry.1 = now;
    }

    /// Forgets `user`'s wrong codes; true if they were locked.
    fn lift(&self, user: u64) -> bool {
        self.wrong()
            .remove(&user)
            .is_some_and(|(count, _)| count >= MAX_WRONG_CODES)
    }
}

fn authenticator(secret: &[u8], account: &str) -> Result<Totp, ApiError> {
    Builder::new()
        .with_secret(secret.to_vec())
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .with_step_duration(STEP_SECONDS)
        .with_skew(1)
        .build()
        .map_err(|e| ApiError::internal(format!("cannot set up two-factor codes: {e}")))
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The step a code is valid for, if it is valid now.
fn code_step(totp: &Totp, code: &str) -> Option<u64> {
    let code: String = code.chars().filter(|c| c.is_ascii_digit()).collect();
    totp.check(&code, now_seconds())
}

impl Service {
    async fn save_totp(
        &self,
        caller: &Caller,
        record: TotpRecord,
        change_to: Option<(&str, &str)>,
    ) -> Result<(), ApiError> {
        let changes = change_to
            .map(|(before, after)| vec![change("totp", before, after)])
            .unwrap_or_default();
        let logged = change_to.is_some();
        self.commit(caller, Op::PutTotp { record, logged }, changes)
            .await
            .map(|_| ())
    }

    fn me<'a>(&self, caller: &'a Caller) -> Result<&'a User, ApiError> {
        match caller {
            Caller::User { user, .. } | Caller::Enrolling { user } => Ok(user),
            _ => Err(ApiError::invalid(
                "user",
                "two-factor codes belong to a person; the console has none",
            )),
        }
    }

    async fn totp_record(&self, user: u64) -> Result<Option<TotpRecord>, ApiError> {
        self.store.totp(user).await.map_err(store_error)
    }

    pub(crate) async fn begin_totp(&self, caller: &Caller) -> Result<ResponseBody, ApiError> {
        let user = self.me(caller)?.clone();
        if self.totp_record(user.id).await?.is_some_and(|r| r.enabled) {
            return Err(ApiError::invalid(
                "totp",
                "two-factor is already on; turn it off first to enrol a new device",
            ));
        }
        let mut secret = vec![0u8; SECRET_BYTES];
        rand::fill(&mut secret[..]);
        let totp = authenticator(&secret, &user.handle)?;
        let uri = totp
            .to_url()
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let shown = totp.secret().to_base32();
        let record = TotpRecord {
            user: user.id,
            secret,
            enabled: false,
            last_step: 0,
        };
        self.save_totp(caller, record, None).await?;
        Ok(ResponseBody::TotpSetup { uri, secret: shown })
    }

    pub(crate) async fn confirm_totp(
        &self,
        caller: &Caller,
        code: String,
    ) -> Result<ResponseBody, ApiError> {
        let user = self.me(caller)?.clone();
        let mut record = self
            .totp_record(user.id)
            .await?
            .ok_or_else(|| ApiError::invalid("totp", "start enrolment first (BeginTotp)"))?;
        let step =
            code_step(&authenticator(&record.secret, &user.handle)?, &code).ok_or_else(|| {
                ApiError::invalid(
                    "code",
                    "that code does not match; check the time on your device and try the next code",
                )
            })?;
        record.enabled = true;
        record.last_step = step;
        self.save_totp(caller, record, Some(("off", "on"))).await?;
        Ok(ResponseBody::Totp { enabled: true })
    }

    pub(crate) async fn disable_totp(
        &self,
        caller: &Caller,
        code: String,
    ) -> Result<ResponseBody, ApiError> {
        let user = self.me(caller)?.clone();
        let Some(mut record) = self.totp_record(user.id).await?.filter(|r| r.enabled) else {
            return Ok(ResponseBody::Totp { enabled: false });
        };
        code_step(&authenticator(&record.secret, &user.handle)?, &code).ok_or_else(|| {
            ApiError::invalid("code", "that code does not match; two-factor stays on")
        })?;
        record.enabled = false;
        self.save_totp(caller, record, Some(("on", "off"))).await?;
        Ok(ResponseBody::Totp { enabled: false })
    }

    pub(crate) async fn totp_status(&self, caller: &Caller) -> Result<ResponseBody, ApiError> {
        let user = self.me(caller)?;
        let enabled = self.totp_record(user.id).await?.is_some_and(|r| r.enabled);
        Ok(ResponseBody::Totp { enabled })
    }

    /// Whether logging in as `user` needs a code after the key.
    pub async fn totp_required(&self, user: u64) -> Result<bool, ApiError> {
        Ok(self.totp_record(user).await?.is_some_and(|r| r.enabled))
    }

    /// Checks a login code and burns its step, so the same code cannot log in twice.
    /// Too many wrong codes lock the account, whatever addresses they come from.
    pub async fn verify_totp_login(&self, caller: &Caller, code: &str) -> Result<(), ApiError> {
        let user = self.me(caller)?.clone();
        let Some(mut record) = self.totp_record(user.id).await?.filter(|r| r.enabled) else {
            return Ok(());
        };
        if let Some(left) = self.lockouts.locked_for(user.id) {
            tracing::warn!(user = %user.handle, "two-factor login refused: account locked");
            return Err(ApiError::unauthenticated(format!(
                "too many wrong codes: @{} is locked for {} more minutes; a server admin can lift it with `tack ctl user unlock {}`",
                user.handle,
                left.as_secs().div_ceil(60),
                user.handle
            )));
        }
        let Some(step) = code_step(&authenticator(&record.secret, &user.handle)?, code) else {
            self.lockouts.failed(user.id);
            return Err(ApiError::unauthenticated("that code does not match"));
        };
        if step <= record.last_step {
            return Err(ApiError::unauthenticated(
                "that code was already used; wait for the next one",
            ));
        }
        record.last_step = step;
        self.save_totp(caller, record, None).await?;
        self.lockouts.lift(user.id);
        Ok(())
    }

    pub(crate) async fn unlock_user(
        &self,
        caller: &Caller,
        handle: String,
    ) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "unlock accounts")?;
        let user = self.user_by_handle(&handle).await?;
        let was_locked = self.lockouts.lift(user.id);
        tracing::info!(user = %user.handle, by = %caller.rate_key(), was_locked, "two-factor lock lifted");
        Ok(ResponseBody::User(user))
    }
}
