//! The server's SSH host key: ed25519, generated on first start, readable by the owner only.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use russh::keys::ssh_key::{Algorithm, LineEnding, PrivateKey};

#[derive(Debug, thiserror::Error)]
pub enum HostKeyError {
    #[error("cannot read host key {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "host key {path} is not an OpenSSH private key ({reason}); move it away to generate a new one"
    )]
    Invalid { path: String, reason: String },
    #[error("cannot write host key {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot generate a host key: {0}")]
    Generate(String),
}

/// Loads the host key at `path`, or generates an ed25519 key there (mode 0600) if none exists.
/// An existing key readable by others has its mode tightened to 0600.
pub fn load_or_generate_host_key(path: &Path) -> Result<PrivateKey, HostKeyError> {
    let shown = path.display().to_string();
    match fs::read_to_string(path) {
        Ok(text) => {
            let key =
                PrivateKey::from_openssh(text.as_bytes()).map_err(|e| HostKeyError::Invalid {
                    path: shown.clone(),
                    reason: e.to_string(),
                })?;
            let meta = fs::metadata(path).map_err(|source| HostKeyError::Read {
                path: shown.clone(),
                source,
            })?;
            if meta.permissions().mode() & 0o077 != 0 {
                fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(|source| {
                    HostKeyError::Write {
                        path: shown,
                        source,
                    }
                })?;
            }
            Ok(key)
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519)
                .map_err(|e| HostKeyError::Generate(e.to_string()))?;
            let text = key
                .to_openssh(LineEnding::LF)
                .map_err(|e| HostKeyError::Generate(e.to_string()))?;
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|source| HostKeyError::Write {
                    path: shown.clone(),
                    source,
                })?;
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|source| HostKeyError::Write {
                    path: shown,
                    source,
                })?;
            Ok(key)
        }
        Err(source) => Err(HostKeyError::Read {
            path: shown,
            source,
        }),
    }
}

/// The key as the OpenSSH private key file holds it.
pub fn host_key_text(key: &PrivateKey) -> Result<String, HostKeyError> {
    key.to_openssh(LineEnding::LF)
        .map(|text| text.to_string())
        .map_err(|e| HostKeyError::Generate(e.to_string()))
}

/// Puts the host key every node of a cluster shares at `path` (mode 0600), in place of the
/// one there: written beside it and renamed, so a crash leaves one key or the other.
pub fn replace_host_key(path: &Path, text: &str) -> Result<PrivateKey, HostKeyError> {
    let shown = path.display().to_string();
    let key = PrivateKey::from_openssh(text.as_bytes()).map_err(|e| HostKeyError::Invalid {
        path: "the cluster's host key".into(),
        reason: e.to_string(),
    })?;
    let staged = path.with_extension("new");
    let write = || -> std::io::Result<()> {
        let _ = fs::remove_file(&staged);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&staged)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&staged, path)
    };
    write().map_err(|source| HostKeyError::Write {
        path: shown,
        source,
    })?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_with_mode_0600_then_loads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host_ed25519");
        let first = load_or_generate_host_key(&path).unwrap();
        assert_eq!(first.algorithm(), Algorithm::Ed25519);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let second = load_or_generate_host_key(&path).unwrap();
        assert_eq!(first.public_key(), second.public_key());
    }

    #[test]
    fn a_corrupt_key_file_is_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host_ed25519");
        fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            load_or_generate_host_key(&path),
            Err(HostKeyError::Invalid { .. })
        ));
        assert_eq!(fs::read_to_string(&path).unwrap(), "not a key");
    }
}
