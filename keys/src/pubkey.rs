//! OpenSSH public keys as people paste them (`authorized_keys` lines).

use russh::keys::ssh_key::{Algorithm, EcdsaCurve, HashAlg, PublicKey};

/// RSA keys shorter than this are refused, as OpenSSH does since 8.8.
pub const MIN_RSA_BITS: usize = 2048;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("the key is empty; paste one line from ~/.ssh/id_ed25519.pub")]
    Empty,
    #[error(
        "this is not an OpenSSH public key ({0}); paste one line such as 'ssh-ed25519 AAAA… you@host'"
    )]
    Malformed(String),
    #[error(
        "{0} keys are not accepted; use ed25519 (ssh-keygen -t ed25519), ecdsa or rsa of 2048 bits or more"
    )]
    Unsupported(String),
    #[error(
        "RSA key of {bits} bits is too short; use at least {MIN_RSA_BITS} bits or an ed25519 key"
    )]
    RsaTooShort { bits: usize },
}

/// A validated public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedKey {
    pub algorithm: String,
    /// `SHA256:…`, identical to `ssh-keygen -lf`.
    pub fingerprint: String,
    pub comment: String,
    /// `<algorithm> <base64>`, without the comment.
    pub openssh: String,
}

/// Parses one `authorized_keys` line (leading options are skipped).
pub fn parse_public_key(line: &str) -> Result<ParsedKey, KeyError> {
    let line = line.trim();
    if line.is_empty() {
        return Err(KeyError::Empty);
    }
    // An authorized_keys line may start with options ("no-pty,command=… ssh-ed25519 …"): start
    // at the first word that names a key algorithm.
    let words: Vec<&str> = line.split_whitespace().collect();
    let start = words
        .iter()
        .position(|w| w.starts_with("ssh-") || w.starts_with("ecdsa-") || w.starts_with("sk-"))
        .unwrap_or(0);
    let candidate = words[start..].join(" ");
    let key =
        PublicKey::from_openssh(&candidate).map_err(|e| KeyError::Malformed(e.to_string()))?;
    from_public_key(&key)
}

/// Validates an already decoded key (as the SSH server receives it).
pub fn from_public_key(key: &PublicKey) -> Result<ParsedKey, KeyError> {
    match key.algorithm() {
        Algorithm::Ed25519 => {}
        Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP256 | EcdsaCurve::NistP384 | EcdsaCurve::NistP521,
        } => {}
        Algorithm::Rsa { .. } => {
            let bits = key.key_data().rsa().map(rsa_bits).unwrap_or(0);
            if bits < MIN_RSA_BITS {
                return Err(KeyError::RsaTooShort { bits });
            }
        }
        other => return Err(KeyError::Unsupported(other.as_str().to_string())),
    }
    let mut bare = key.clone();
    bare.set_comment("");
    let openssh = bare
        .to_openssh()
        .map_err(|e| KeyError::Malformed(e.to_string()))?;
    Ok(ParsedKey {
        algorithm: key.algorithm().as_str().to_string(),
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
        comment: key.comment().as_str_lossy().to_string(),
        openssh: openssh.trim().to_string(),
    })
}

fn rsa_bits(rsa: &russh::keys::ssh_key::public::RsaPublicKey) -> usize {
    let bytes = rsa.n().as_positive_bytes().unwrap_or(&[]);
    match bytes.first() {
        Some(first) => (bytes.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Generated with ssh-keygen; fingerprints as `ssh-keygen -lf` printed them.
    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJE63XVhB31WXd9FelFdgpLQjc0BVXVaM2eBW5BGPJIb alice@example";
    const ED25519_FP: &str = "SHA256:gjTUxDiYsS5kbTCtWJk4sOi+SqJeTvAA6xI19YyDGtY";
    const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBLH8bCN/If5Ag1af359J6oQEu7QM3kNh7M0muZvmsexExoGPH14zuywdYoRgsuccLD88p/sHuQDLc3ixySiGysE= e";
    const ECDSA_FP: &str = "SHA256:QSJhtST5Cyujsl5Ytzd3MtFFff7nZCB582/oC5ne3XA";
    const RSA_1024: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDqvAY/vrgzsEE+c5LkkWHTyHQ9rMq45f0y0DtO24P6oLmzVLtq4MbtbUrfnLxThJ3NWnDjUD54MYPCOJZ9MpYj1AevoHIHzEpkaZCI3og4Tc6Jd/DTtK8LSftQsPnQmjYtvtDjGcm1GxFF0Yfn4YCv8/Hn6ktxGVTve70HgjRViw== old";

    #[test]
    fn fingerprints_match_ssh_keygen() {
        assert_eq!(parse_public_key(ED25519).unwrap().fingerprint, ED25519_FP);
        assert_eq!(parse_public_key(ECDSA).unwrap().fingerprint, ECDSA_FP);
    }

    #[test]
    fn short_rsa_is_refused() {
        assert_eq!(
            parse_public_key(RSA_1024).unwrap_err(),
            KeyError::RsaTooShort { bits: 1024 }
        );
    }

    #[test]
    fn ed25519_line_parses_with_comment() {
        let key = parse_public_key(ED25519).unwrap();
        assert_eq!(key.algorithm, "ssh-ed25519");
        assert_eq!(key.comment, "alice@example");
        assert!(
            key.fingerprint.starts_with("SHA256:"),
            "{}",
            key.fingerprint
        );
        assert!(!key.openssh.contains("alice"));
    }

    #[test]
    fn options_before_the_key_are_skipped() {
        let with_options = format!("no-pty,no-port-forwarding {ED25519}");
        assert_eq!(
            parse_public_key(&with_options).unwrap(),
            parse_public_key(ED25519).unwrap()
        );
    }

    #[test]
    fn garbage_is_refused_with_a_hint() {
        let err = parse_public_key("hello world").unwrap_err();
        assert!(err.to_string().contains("ssh-ed25519"), "{err}");
        assert_eq!(parse_public_key("   ").unwrap_err(), KeyError::Empty);
    }
}
