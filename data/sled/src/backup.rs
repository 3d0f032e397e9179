//! Backups of the sled engine in the engine-neutral file format ([`tack_data::backup_file`]):
//! every collection tree, none of the index trees. A backup is taken on the writer thread
//! between two writes, so it is a consistent snapshot; restore checks the checksum before it
//! writes anything, rebuilds the indexes, and verifies the store. Backups of the first format
//! (`TACKBKP1`, every tree including the indexes) still restore: their index entries are skipped
//! and rebuilt.

use std::fs;
use std::path::{Path, PathBuf};

use tack_data::backup_file::{self, BackupWriter, backup_error};

use crate::engine::open_db;
use crate::engine_error;
use crate::trees::{TREE_NAMES, Trees, is_derived};
use crate::verify;
use crate::{BackupInfo, IntegrityReport};
use crate::{StoreError, migrate};

/// Writes a snapshot of every collection tree to `path`.
pub(crate) fn write_backup(trees: &Trees, path: &Path) -> Result<BackupInfo, StoreError> {
    let schema_version = migrate::schema_version(trees)?.unwrap_or(migrate::CURRENT_SCHEMA);
    write_trees(trees, BackupWriter::create(path, schema_version)?, |name| {
        !is_derived(name)
    })
}

/// Writes the trees `wanted` names.
fn write_trees(
    trees: &Trees,
    mut out: BackupWriter,
    wanted: impl Fn(&str) -> bool,
) -> Result<BackupInfo, StoreError> {
    for (name, tree) in TREE_NAMES.iter().zip(&trees.all) {
        if !wanted(name) {
            continue;
        }
        out.collection(name)?;
        for entry in tree.iter() {
            let (key, value) = entry.map_err(engine_error)?;
            out.record(&key, &value)?;
        }
    }
    out.finish()
}

/// Rebuilds a store at `store_path` (which must not hold one) from a backup, then checks it.
pub fn restore(
    backup: &Path,
    store_path: &Path,
) -> Result<(BackupInfo, IntegrityReport), StoreError> {
    let info = backup_file::verify(backup)?;
    if info.schema_version > migrate::CURRENT_SCHEMA {
        return Err(StoreError::TooNew {
            path: backup.display().to_string(),
            found: info.schema_version,
            supported: migrate::CURRENT_SCHEMA,
        });
    }
    if store_path.exists() && fs::read_dir(store_path)?.next().is_some() {
        return Err(backup_error(format!(
            "{} is not empty; restore into an empty data directory so nothing is overwritten",
            store_path.display()
        )));
    }
    // Built beside the target and renamed into place only once verified: a restore that fails
    // (a full disk, a kill) leaves nothing that looks like a store.
    let staging = staging_path(store_path);
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }
    let built = build_store(backup, &staging);
    let (report, last_seq) = match built {
        Ok(built) => built,
        Err(err) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(backup_error(format!(
                "restore into {} failed, nothing was restored: {err}",
                store_path.display()
            )));
        }
    };
    if !report.is_clean() {
        let _ = fs::remove_dir_all(&staging);
        return Ok((info, report));
    }
    if store_path.exists() {
        fs::remove_dir(store_path)?;
    }
    fs::rename(&staging, store_path)?;
    crate::durable_mark::reset(store_path, last_seq)?;
    Ok((info, report))
}

/// Where a restore builds the store before it is renamed into place.
pub(crate) fn staging_path(store_path: &Path) -> PathBuf {
    let mut name = store_path.file_name().unwrap_or_default().to_os_string();
    name.push(".restoring");
    store_path.with_file_name(name)
}

/// Writes every record of `backup` into a new store at `path`, migrates and verifies it.
/// Returns the check and the store's last event sequence.
fn build_store(backup: &Path, path: &Path) -> Result<(IntegrityReport, u64), StoreError> {
    let db = open_db(path, 64 * 1024 * 1024)?;
    let mut batch: Option<(String, sled::Batch, usize)> = None;
    let apply = |db: &sled::Db, pending: (String, sled::Batch, usize)| -> Result<(), StoreError> {
        db.open_tree(&pending.0)
            .map_err(engine_error)?
            .apply_batch(pending.1)
            .map_err(engine_error)?;
        Ok(())
    };
    backup_file::read(backup, |tree, key, value| {
        if is_derived(tree) {
            return Ok(());
        }
        let same = batch
            .as_ref()
            .is_some_and(|(name, _, n)| name == tree && *n < 10_000);
        if !same && let Some(pending) = batch.take() {
            apply(&db, pending)?;
        }
        let entry = batch.get_or_insert_with(|| (tree.to_string(), sled::Batch::default(), 0));
        entry.1.insert(key, value);
        entry.2 += 1;
        Ok(())
    })?;
    if let Some(pending) = batch.take() {
        apply(&db, pending)?;
    }
    db.flush().map_err(engine_error)?;
    let trees = Trees::open(&db).map_err(engine_error)?;
    migrate::run(&db, &trees, path)?;
    crate::doctor::rebuild_indexes(&trees)?;
    let report = verify::check(&trees)?;
    let last_seq = trees
        .get(crate::trees::T::Meta)
        .get(crate::trees::LAST_SEQ)
        .map_err(engine_error)?
        .and_then(|v| crate::keys::read_u64(&v, 0))
        .unwrap_or(0);
    db.flush().map_err(engine_error)?;
    Ok((report, last_seq))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{SledEngine, StoreConfig};
    use tack_data::Op;
    use tack_data::conformance::{new_issue, project, write};

    #[test]
    fn a_backup_of_the_first_format_with_its_index_trees_still_restores() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let engine = SledEngine::open(&StoreConfig::new(dir.path().join("store"))).unwrap();
        rt.block_on(
            engine
                .submit(write(Op::CreateProject(project("TACK"))))
                .wait(),
        )
        .unwrap();
        for n in 0..3 {
            let mut issue = new_issue(1, &format!("issue {n}"), 2);
            issue.assignees = vec![5];
            issue.labels = vec!["bug".into()];
            rt.block_on(engine.submit(write(Op::CreateIssue(issue))).wait())
                .unwrap();
        }
        let old = dir.path().join("old.backup");
        let schema = migrate::CURRENT_SCHEMA;
        let out = BackupWriter::create_as(&old, schema, backup_file::MAGIC_V1).unwrap();
        let info = write_trees(&engine.trees, out, |_| true).unwrap();
        let new = dir.path().join("new.backup");
        let logical = rt.block_on(engine.backup(&new).wait()).unwrap();
        assert!(
            logical.records < info.records,
            "the new format leaves the indexes out ({} records against {})",
            logical.records,
            info.records
        );
        let restored = dir.path().join("restored");
        let (_, report) = restore(&old, &restored).unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
        let engine = SledEngine::open(&StoreConfig::new(&restored)).unwrap();
        assert_eq!(engine.issues_in_state(1, 2).unwrap().len(), 3);
        assert_eq!(engine.issues_assigned_to(5).unwrap().len(), 3);
        assert_eq!(engine.issues_labelled(1, "bug").unwrap().len(), 3);
        assert_eq!(engine.last_seq(), 4);
    }
}
