//! Secrets handed to people: API tokens (`tack_<id>_<secret>`) and invite codes. The id part
//! finds the record; the secret part is checked against an argon2id hash, never stored in clear.

use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};

const TOKEN_PREFIX: &str = "tack_";
const TOKEN_ID_BYTES: usize = 8;
/// 256 bits.
const TOKEN_SECRET_BYTES: usize = 32;
/// Letters and digits that cannot be mistaken for one another when typed from a screen.
const INVITE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const INVITE_ID_LEN: usize = 6;
/// 20 symbols of 5 bits: 100 bits.
const INVITE_SECRET_LEN: usize = 20;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("this is not a tack API token; tokens look like tack_<id>_<secret>")]
    MalformedToken,
    #[error("this is not an invite code; codes look like ABCDEF-GHJK-LMNP-QRST-UVWX-YZ23")]
    MalformedInvite,
    #[error("cannot hash the secret: {0}")]
    Hash(String),
}

/// A secret as created: shown to its owner once, stored only as `hash`.
#[derive(Debug, Clone)]
pub struct IssuedSecret {
    pub id: String,
    pub secret: String,
    /// The whole string the person keeps (`tack_<id>_<secret>` or the invite code).
    pub display: String,
    /// An argon2id PHC string.
    pub hash: String,
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::fill(&mut bytes);
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn invite_symbols(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::fill(&mut bytes[..]);
    // 256 is a multiple of 32, so `% 32` picks every symbol with the same chance.
    bytes
        .iter()
        .map(|b| INVITE_ALPHABET[usize::from(*b) % 32] as char)
        .collect()
}

pub fn hash_secret(secret: &str) -> Result<String, SecretError> {
    Argon2::default()
        .hash_password(secret.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| SecretError::Hash(e.to_string()))
}

/// Checks `secret` against a stored hash; the comparison takes the same time wherever the
/// bytes differ.
pub fn verify_secret(secret: &str, stored_hash: &str) -> bool {
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

pub fn new_api_token() -> Result<IssuedSecret, SecretError> {
    let id = hex(&random_bytes::<TOKEN_ID_BYTES>());
    let secret = hex(&random_bytes::<TOKEN_SECRET_BYTES>());
    let hash = hash_secret(&secret)?;
    Ok(IssuedSecret {
        display: format!("{TOKEN_PREFIX}{id}_{secret}"),
        id,
        secret,
        hash,
    })
}

/// Splits `tack_<id>_<secret>` into its id and secret.
pub fn split_token(token: &str) -> Result<(&str, &str), SecretError> {
    let rest = token
        .trim()
        .strip_prefix(TOKEN_PREFIX)
        .ok_or(SecretError::MalformedToken)?;
    let (id, secret) = rest.split_once('_').ok_or(SecretError::MalformedToken)?;
    let is_hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    if id.len() != TOKEN_ID_BYTES * 2
        || secret.len() != TOKEN_SECRET_BYTES * 2
        || !is_hex(id)
        || !is_hex(secret)
    {
        return Err(SecretError::MalformedToken);
    }
    Ok((id, secret))
}

pub fn new_invite_code() -> Result<IssuedSecret, SecretError> {
    let id = invite_symbols(INVITE_ID_LEN);
    let secret = invite_symbols(INVITE_SECRET_LEN);
    let hash = hash_secret(&secret)?;
    let groups: Vec<String> = secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    Ok(IssuedSecret {
        display: format!("{id}-{}", groups.join("-")),
        id,
        secret,
        hash,
    })
}

/// Symbols in a key confirmation code: 40 bits, typed once at an SSH prompt.
const CONFIRMATION_LEN: usize = 8;

/// A short code that proves a pasted key belongs to the person who pasted it: shown to them,
/// asked at the key's first login. `display` is `ABCD-EFGH`, `secret` the symbols, `hash` its
/// argon2id hash.
pub fn new_confirmation_code() -> Result<IssuedSecret, SecretError> {
    let secret = invite_symbols(CONFIRMATION_LEN);
    let hash = hash_secret(&secret)?;
    Ok(IssuedSecret {
        display: format!("{}-{}", &secret[..4], &secret[4..]),
        id: String::new(),
        secret,
        hash,
    })
}

/// A confirmation code as typed, forgiving case, spaces and dashes; None if it cannot be one.
pub fn clean_confirmation_code(code: &str) -> Option<String> {
    let cleaned: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (cleaned.len() == CONFIRMATION_LEN && cleaned.bytes().all(|b| INVITE_ALPHABET.contains(&b)))
        .then_some(cleaned)
}

/// Splits an invite code into id and secret, forgiving case, spaces and dashes.
pub fn split_invite_code(code: &str) -> Result<(String, String), SecretError> {
    let cleaned: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if cleaned.len() != INVITE_ID_LEN + INVITE_SECRET_LEN
        || !cleaned.bytes().all(|b| INVITE_ALPHABET.contains(&b))
    {
        return Err(SecretError::MalformedInvite);
    }
    let (id, secret) = cleaned.split_at(INVITE_ID_LEN);
    Ok((id.to_string(), secret.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirmation_code_reads_back_however_it_is_typed() {
        let code = new_confirmation_code().unwrap();
        assert_eq!(code.display.len(), 9);
        let typed = clean_confirmation_code(&format!(" {} ", code.display.to_lowercase())).unwrap();
        assert!(verify_secret(&typed, &code.hash));
        assert!(clean_confirmation_code("ABC").is_none());
        assert!(
            clean_confirmation_code("ABCD-EFG1").is_none(),
            "1 is not in the alphabet"
        );
    }

    #[test]
    fn token_round_trip_and_verify() {
        let token = new_api_token().unwrap();
        assert!(token.display.starts_with("tack_"));
        let (id, secret) = split_token(&token.display).unwrap();
        assert_eq!(id, token.id);
        assert_eq!(secret.len(), 64, "256-bit secret");
        assert!(verify_secret(secret, &token.hash));
        assert!(
            !token.hash.contains(secret),
            "the secret is not stored in clear"
        );
        assert!(token.hash.starts_with("$argon2id$"));
        let mut wrong = secret.to_string();
        wrong.replace_range(0..1, if &wrong[0..1] == "0" { "1" } else { "0" });
        assert!(!verify_secret(&wrong, &token.hash));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in [
            "",
            "tack_",
            "tack_abc_def",
            "ghp_123",
            "tack_zzzzzzzzzzzzzzzz_00",
        ] {
            assert_eq!(split_token(bad), Err(SecretError::MalformedToken), "{bad}");
        }
    }

    #[test]
    fn invite_codes_forgive_case_and_dashes() {
        let invite = new_invite_code().unwrap();
        let typed = invite.display.to_lowercase().replace('-', " ");
        let (id, secret) = split_invite_code(&typed).unwrap();
        assert_eq!(id, invite.id);
        assert!(verify_secret(&secret, &invite.hash));
        assert_eq!(split_invite_code("nope"), Err(SecretError::MalformedInvite));
    }

    #[test]
    fn garbage_hash_never_verifies() {
        assert!(!verify_secret("x", "not a hash"));
    }
}
