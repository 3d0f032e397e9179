//! Backups: one file holding every record by collection, with a header and a SHA-256 checksum
//! at the end. Indexes are not in it: they are derived from the records, and a restore rebuilds
//! them, so the file says only what the data is, not how one engine lays it out.
//!
//! ```text
//! "TACKBKP2" | schema u32 | created_at i64 |
//!   ( 0x01 name_len u16 collection | 0x02 key_len u32 key value_len u32 record )* |
//! 0x00 | records u64 | sha256 of everything before it (32 bytes)
//! ```
//! Integers are big-endian. A key is the record's identity in its collection (big-endian ids,
//! joined for compound keys such as an issue's watcher; a name for counters and dedupe keys);
//! a record is its bincode 2 encoding. A backup is taken on the writer thread between two
//! writes, so it is a consistent snapshot; restore checks the checksum before it writes
//! anything. Backups of the first format (`TACKBKP1`, every tree including the indexes) still
//! restore: their index entries are skipped and rebuilt.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::sled_store::open_db;
use crate::trees::{TREE_NAMES, Trees, is_derived};
use crate::verify::{self, IntegrityReport};
use crate::{StoreError, migrate};

const MAGIC: &[u8; 8] = b"TACKBKP2";
/// The first format, which also held the index trees.
const MAGIC_V1: &[u8; 8] = b"TACKBKP1";
const TAG_END: u8 = 0;
const TAG_TREE: u8 = 1;
const TAG_ENTRY: u8 = 2;
/// No key or value in a valid backup is larger than this.
const MAX_ITEM: u32 = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    pub path: PathBuf,
    pub bytes: u64,
    pub records: u64,
    pub schema_version: u32,
    pub created_at: i64,
    pub checksum: String,
}

fn backup_error(message: impl Into<String>) -> StoreError {
    StoreError::Backup(message.into())
}

struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a snapshot of every tree to `path` (through a temporary file, then renamed, so a
/// failed backup never leaves a half file under the final name).
pub fn write_backup(db: &sled::Db, trees: &Trees, path: &Path) -> Result<BackupInfo, StoreError> {
    let _ = db;
    write_trees(trees, path, MAGIC, |name| !is_derived(name))
}

/// Writes the trees `wanted` names, under `magic`.
fn write_trees(
    trees: &Trees,
    path: &Path,
    magic: &[u8; 8],
    wanted: impl Fn(&str) -> bool,
) -> Result<BackupInfo, StoreError> {
    let schema_version = migrate::schema_version(trees)?.unwrap_or(migrate::CURRENT_SCHEMA);
    let created_at = now_ms();
    let tmp = path.with_extension("partial");
    let result = (|| -> Result<BackupInfo, StoreError> {
        // A backup holds token hashes, TOTP and webhook secrets: only the server's user reads it.
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
        }
        .map_err(|e| backup_error(format!("cannot create {}: {e}", tmp.display())))?;
        let mut out = HashingWriter {
            inner: BufWriter::new(file),
            hasher: Sha256::new(),
            written: 0,
        };
        out.write_all(magic)?;
        out.write_all(&schema_version.to_be_bytes())?;
        out.write_all(&created_at.to_be_bytes())?;
        let mut records = 0u64;
        for (name, tree) in TREE_NAMES.iter().zip(&trees.all) {
            if !wanted(name) {
                continue;
            }
            out.write_all(&[TAG_TREE])?;
            out.write_all(&(name.len() as u16).to_be_bytes())?;
            out.write_all(name.as_bytes())?;
            for entry in tree.iter() {
                let (key, value) = entry?;
                out.write_all(&[TAG_ENTRY])?;
                out.write_all(&(key.len() as u32).to_be_bytes())?;
                out.write_all(&key)?;
                out.write_all(&(value.len() as u32).to_be_bytes())?;
                out.write_all(&value)?;
                records += 1;
            }
        }
        out.write_all(&[TAG_END])?;
        out.write_all(&records.to_be_bytes())?;
        let digest = out.hasher.clone().finalize();
        let mut inner = out.inner;
        inner.write_all(&digest)?;
        let file = inner
            .into_inner()
            .map_err(|e| backup_error(e.to_string()))?;
        file.sync_all()?;
        let bytes = out.written + digest.len() as u64;
        fs::rename(&tmp, path)?;
        Ok(BackupInfo {
            path: path.to_path_buf(),
            bytes,
            records,
            schema_version,
            created_at,
            checksum: hex(&digest),
        })
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| backup_error(format!("backup to {} failed: {e}", path.display())))
}

/// Reads a backup front to back, checking the checksum and structure; each entry goes to `sink`.
fn read_backup(
    path: &Path,
    mut sink: impl FnMut(&str, Vec<u8>, Vec<u8>) -> Result<(), StoreError>,
) -> Result<BackupInfo, StoreError> {
    let file = File::open(path)
        .map_err(|e| backup_error(format!("cannot open {}: {e}", path.display())))?;
    let total = file.metadata()?.len();
    if total < (MAGIC.len() + 4 + 8 + 1 + 8 + 32) as u64 {
        return Err(backup_error(format!(
            "{} is too short to be a tack backup",
            path.display()
        )));
    }
    let body_len = total - 32;
    let mut reader = BufReader::new(file).take(body_len);
    let mut hasher = Sha256::new();
    let mut read_exact = |reader: &mut dyn Read, buf: &mut [u8]| -> Result<(), StoreError> {
        reader
            .read_exact(buf)
            .map_err(|_| backup_error(format!("{} is truncated", path.display())))?;
        hasher.update(&*buf);
        Ok(())
    };
    let mut magic = [0u8; 8];
    read_exact(&mut reader, &mut magic)?;
    if &magic != MAGIC && &magic != MAGIC_V1 {
        return Err(backup_error(format!(
            "{} is not a tack backup",
            path.display()
        )));
    }
    let mut u32buf = [0u8; 4];
    let mut u64buf = [0u8; 8];
    read_exact(&mut reader, &mut u32buf)?;
    let schema_version = u32::from_be_bytes(u32buf);
    read_exact(&mut reader, &mut u64buf)?;
    let created_at = i64::from_be_bytes(u64buf);
    let mut tree: Option<String> = None;
    let mut records = 0u64;
    loop {
        let mut tag = [0u8; 1];
        read_exact(&mut reader, &mut tag)?;
        match tag[0] {
            TAG_END => break,
            TAG_TREE => {
                let mut len = [0u8; 2];
                read_exact(&mut reader, &mut len)?;
                let mut name = vec![0u8; usize::from(u16::from_be_bytes(len))];
                read_exact(&mut reader, &mut name)?;
                tree =
                    Some(String::from_utf8(name).map_err(|_| backup_error("corrupt tree name"))?);
            }
            TAG_ENTRY => {
                let mut item = |reader: &mut dyn Read| -> Result<Vec<u8>, StoreError> {
                    read_exact(reader, &mut u32buf)?;
                    let len = u32::from_be_bytes(u32buf);
                    if len > MAX_ITEM {
                        return Err(backup_error(format!(
                            "{} is corrupt (an entry claims {len} bytes)",
                            path.display()
                        )));
                    }
                    let mut buf = vec![0u8; len as usize];
                    read_exact(reader, &mut buf)?;
                    Ok(buf)
                };
                let key = item(&mut reader)?;
                let value = item(&mut reader)?;
                let name = tree
                    .as_deref()
                    .ok_or_else(|| backup_error("entry before any tree"))?;
                sink(name, key, value)?;
                records += 1;
            }
            other => {
                return Err(backup_error(format!(
                    "{} is corrupt (unknown tag {other})",
                    path.display()
                )));
            }
        }
    }
    read_exact(&mut reader, &mut u64buf)?;
    if u64::from_be_bytes(u64buf) != records {
        return Err(backup_error(format!(
            "{} is corrupt (record count does not match)",
            path.display()
        )));
    }
    let mut trailer = reader.into_inner();
    let mut expected = [0u8; 32];
    trailer
        .read_exact(&mut expected)
        .map_err(|_| backup_error(format!("{} is truncated", path.display())))?;
    let digest = hasher.finalize();
    if digest.as_slice() != expected {
        return Err(backup_error(format!(
            "{} failed its checksum; the file is damaged",
            path.display()
        )));
    }
    Ok(BackupInfo {
        path: path.to_path_buf(),
        bytes: total,
        records,
        schema_version,
        created_at,
        checksum: hex(&digest),
    })
}

/// Checks a backup file without restoring it.
pub fn verify_backup(path: &Path) -> Result<BackupInfo, StoreError> {
    read_backup(path, |_, _, _| Ok(()))
}

/// Rebuilds a store at `store_path` (which must not hold one) from a backup, then checks it.
pub fn restore(
    backup: &Path,
    store_path: &Path,
) -> Result<(BackupInfo, IntegrityReport), StoreError> {
    let info = verify_backup(backup)?;
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
pub fn staging_path(store_path: &Path) -> PathBuf {
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
        db.open_tree(&pending.0)?.apply_batch(pending.1)?;
        Ok(())
    };
    read_backup(backup, |tree, key, value| {
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
    db.flush()?;
    let trees = Trees::open(&db)?;
    migrate::run(&db, &trees, path)?;
    crate::doctor::rebuild_indexes(&trees)?;
    let report = verify::check(&trees)?;
    let last_seq = trees
        .get(crate::trees::T::Meta)
        .get(crate::trees::LAST_SEQ)?
        .and_then(|v| crate::keys::read_u64(&v, 0))
        .unwrap_or(0);
    db.flush()?;
    Ok((report, last_seq))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::conformance::{new_issue, project, write};
    use crate::{Op, SledEngine, StoreConfig};

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
        let info = write_trees(&engine.trees, &old, MAGIC_V1, |_| true).unwrap();
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
