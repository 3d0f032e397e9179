//! Keys and secrets: SSH public keys and their fingerprints, the server's host key, and the
//! secrets people hold (API tokens, invite codes), which are stored only as argon2id hashes.

pub mod hostkey;
pub mod pubkey;
pub mod secret;

pub use hostkey::{HostKeyError, host_key_text, load_or_generate_host_key, replace_host_key};
pub use pubkey::{KeyError, ParsedKey, parse_public_key};
pub use secret::{
    IssuedSecret, SecretError, clean_confirmation_code, hash_secret, new_api_token,
    new_confirmation_code, new_invite_code, split_invite_code, split_token, verify_secret,
};
