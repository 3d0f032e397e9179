//! Schema versions. Each migration is a function from version N to N+1, run in order at start-up;
//! a store newer than this build is refused rather than misread.

use std::path::Path;

use tack_protocol::Issue;

use crate::engine_error;
use crate::records::decode;
use crate::trees::{self, T, Trees};
use crate::{StoreError, keys};

/// The schema this build writes.
pub use tack_data::CURRENT_SCHEMA;

type Migration = fn(&Trees) -> Result<(), StoreError>;

/// `MIGRATIONS[n]` takes a store from version `n + 1` to `n + 2`.
const MIGRATIONS: [Migration; (CURRENT_SCHEMA - 1) as usize] = [v1_add_label_index];

pub fn schema_version(trees: &Trees) -> Result<Option<u32>, StoreError> {
    Ok(trees
        .get(T::Meta)
        .get(trees::SCHEMA_VERSION)
        .map_err(engine_error)?
        .and_then(|v| {
            let bytes: [u8; 4] = v.as_ref().try_into().ok()?;
            Some(u32::from_be_bytes(bytes))
        }))
}

fn set_schema_version(trees: &Trees, version: u32) -> Result<(), StoreError> {
    trees
        .get(T::Meta)
        .insert(trees::SCHEMA_VERSION, &version.to_be_bytes())
        .map_err(engine_error)?;
    Ok(())
}

/// Brings the store to `CURRENT_SCHEMA`; returns the version it found.
pub fn run(db: &sled::Db, trees: &Trees, path: &Path) -> Result<u32, StoreError> {
    let found = match schema_version(trees)? {
        Some(version) => version,
        None => {
            set_schema_version(trees, CURRENT_SCHEMA)?;
            db.flush().map_err(engine_error)?;
            return Ok(CURRENT_SCHEMA);
        }
    };
    if found > CURRENT_SCHEMA {
        return Err(StoreError::TooNew {
            path: path.display().to_string(),
            found,
            supported: CURRENT_SCHEMA,
        });
    }
    if found < CURRENT_SCHEMA {
        // Migrations rewrite the store in place: keep the store as it was, first.
        let dir = path.parent().unwrap_or(path).join("backups");
        std::fs::create_dir_all(&dir)?;
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let file = dir.join(format!("pre-migration-v{found}-{at}.tackbak"));
        let info = crate::backup::write_backup(trees, &file)?;
        tracing::info!(path = %info.path.display(), from = found, to = CURRENT_SCHEMA, "backup taken before migrating");
    }
    for version in found..CURRENT_SCHEMA {
        tracing::info!(from = version, to = version + 1, "migrating store");
        MIGRATIONS[(version - 1) as usize](trees)?;
        set_schema_version(trees, version + 1)?;
        db.flush().map_err(engine_error)?;
    }
    Ok(found)
}

/// Version 1 kept labels on issues but had no label index; version 2 adds `idx_label`.
/// Idempotent, so a crash half-way simply runs it again.
fn v1_add_label_index(trees: &Trees) -> Result<(), StoreError> {
    let index = trees.get(T::IdxLabel);
    for value in trees.get(T::Issues).iter().values() {
        let issue: Issue = decode(trees::name(T::Issues), &value.map_err(engine_error)?)?;
        for label in &issue.labels {
            index
                .insert(keys::label(issue.project, label, issue.id), &[])
                .map_err(engine_error)?;
        }
    }
    Ok(())
}
