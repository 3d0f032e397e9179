//! A second factor for SSH logins: TOTP (RFC 6238, as authenticator apps speak it). Enrolment
//! makes a secret that is in force only once a code from it is confirmed; a code that was used
//! once is refused the second time.

use tack_data::{Op, TotpRecord};
use tack_protocol::{ApiError, ResponseBody, User};
use totp_rs::{Builder, Totp};

use super::{Caller, Service, change};

const ISSUER: &str = "tack";
const STEP_SECONDS: u64 = 30;
/// 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;

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
        self.read(move |s| s.totp(user)).await
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
    pub async fn verify_totp_login(&self, caller: &Caller, code: &str) -> Result<(), ApiError> {
        let user = self.me(caller)?.clone();
        let Some(mut record) = self.totp_record(user.id).await?.filter(|r| r.enabled) else {
            return Ok(());
        };
        let step = code_step(&authenticator(&record.secret, &user.handle)?, code)
            .ok_or_else(|| ApiError::unauthenticated("that code does not match"))?;
        if step <= record.last_step {
            return Err(ApiError::unauthenticated(
                "that code was already used; wait for the next one",
            ));
        }
        record.last_step = step;
        self.save_totp(caller, record, None).await?;
        Ok(())
    }
}
