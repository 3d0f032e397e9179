//! The backup file: every record by collection, with a header and a SHA-256 checksum at the
//! end. Indexes are not in it: they are derived from the records, and a restore rebuilds them,
//! so the file says only what the data is, not how one engine lays it out.
//!
//! ```text
//! "TACKBKP2" | schema u32 | created_at i64 |
//!   ( 0x01 name_len u16 collection | 0x02 key_len u32 key value_len u32 record )* |
//! 0x00 | records u64 | sha256 of everything before it (32 bytes)
//! ```
//! Integers are big-endian. A key is the record's identity in its collection (big-endian ids,
//! joined for compound keys such as an issue's watcher; a name for counters and dedupe keys);
//! a record is its bincode 2 encoding. Files of the first format (`TACKBKP1`, which also held
//! the index trees of the sled engine) still read; their index entries are for the reader to
//! skip.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{BackupInfo, StoreError};

/// The magic of the current format.
pub const MAGIC: &[u8; 8] = b"TACKBKP2";
/// The first format, which also held the sled engine's index trees.
pub const MAGIC_V1: &[u8; 8] = b"TACKBKP1";
const TAG_END: u8 = 0;
const TAG_COLLECTION: u8 = 1;
const TAG_RECORD: u8 = 2;
/// No key or value in a valid backup is larger than this.
const MAX_ITEM: u32 = 64 * 1024 * 1024;

pub fn backup_error(message: impl Into<String>) -> StoreError {
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

/// A backup being written: through a temporary file, renamed into place by [`finish`], so a
/// failed backup never leaves a half file under the final name.
///
/// [`finish`]: BackupWriter::finish
pub struct BackupWriter {
    path: PathBuf,
    tmp: PathBuf,
    out: Option<HashingWriter<BufWriter<File>>>,
    schema_version: u32,
    created_at: i64,
    records: u64,
}

impl BackupWriter {
    pub fn create(path: &Path, schema_version: u32) -> Result<BackupWriter, StoreError> {
        Self::create_as(path, schema_version, MAGIC)
    }

    /// A file of another format's magic (the tests write the first format this way).
    pub fn create_as(
        path: &Path,
        schema_version: u32,
        magic: &[u8; 8],
    ) -> Result<BackupWriter, StoreError> {
        let tmp = path.with_extension("partial");
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
        .map_err(|e| {
            backup_error(format!(
                "backup to {} failed: cannot create {}: {e}",
                path.display(),
                tmp.display()
            ))
        })?;
        let created_at = now_ms();
        let mut writer = BackupWriter {
            path: path.to_path_buf(),
            tmp,
            out: Some(HashingWriter {
                inner: BufWriter::new(file),
                hasher: Sha256::new(),
                written: 0,
            }),
            schema_version,
            created_at,
            records: 0,
        };
        writer.write(magic)?;
        writer.write(&schema_version.to_be_bytes())?;
        writer.write(&created_at.to_be_bytes())?;
        Ok(writer)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| backup_error("the backup is already finished"))?;
        out.write_all(bytes).map_err(|e| self.failed(e))
    }

    fn failed(&self, err: std::io::Error) -> StoreError {
        backup_error(format!("backup to {} failed: {err}", self.path.display()))
    }

    /// Starts the records of a collection.
    pub fn collection(&mut self, name: &str) -> Result<(), StoreError> {
        let len = u16::try_from(name.len())
            .map_err(|_| backup_error(format!("collection name {name:?} is too long")))?;
        self.write(&[TAG_COLLECTION])?;
        self.write(&len.to_be_bytes())?;
        self.write(name.as_bytes())
    }

    /// One record of the current collection.
    pub fn record(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.write(&[TAG_RECORD])?;
        for item in [key, value] {
            let len = u32::try_from(item.len())
                .ok()
                .filter(|len| *len <= MAX_ITEM)
                .ok_or_else(|| backup_error("a record is too large for a backup"))?;
            self.write(&len.to_be_bytes())?;
            self.write(item)?;
        }
        self.records += 1;
        Ok(())
    }

    /// Writes the trailer, makes the file durable and puts it under its name.
    pub fn finish(mut self) -> Result<BackupInfo, StoreError> {
        self.write(&[TAG_END])?;
        let records = self.records;
        self.write(&records.to_be_bytes())?;
        let out = self
            .out
            .take()
            .ok_or_else(|| backup_error("the backup is already finished"))?;
        let digest = out.hasher.clone().finalize();
        let written = out.written + digest.len() as u64;
        let mut inner = out.inner;
        let done = inner
            .write_all(&digest)
            .and_then(|()| inner.into_inner().map_err(|e| e.into_error()))
            .and_then(|file| file.sync_all())
            .and_then(|()| fs::rename(&self.tmp, &self.path));
        if let Err(err) = done {
            let _ = fs::remove_file(&self.tmp);
            return Err(self.failed(err));
        }
        Ok(BackupInfo {
            path: self.path.clone(),
            bytes: written,
            records,
            schema_version: self.schema_version,
            created_at: self.created_at,
            checksum: hex(&digest),
        })
    }
}

impl Drop for BackupWriter {
    fn drop(&mut self) {
        if self.out.is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Reads a backup front to back, checking the checksum and structure; each record goes to
/// `sink` with its collection's name.
pub fn read(
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
    let mut collection: Option<String> = None;
    let mut records = 0u64;
    loop {
        let mut tag = [0u8; 1];
        read_exact(&mut reader, &mut tag)?;
        match tag[0] {
            TAG_END => break,
            TAG_COLLECTION => {
                let mut len = [0u8; 2];
                read_exact(&mut reader, &mut len)?;
                let mut name = vec![0u8; usize::from(u16::from_be_bytes(len))];
                read_exact(&mut reader, &mut name)?;
                collection = Some(
                    String::from_utf8(name).map_err(|_| backup_error("corrupt collection name"))?,
                );
            }
            TAG_RECORD => {
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
                let name = collection
                    .as_deref()
                    .ok_or_else(|| backup_error("entry before any collection"))?;
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
pub fn verify(path: &Path) -> Result<BackupInfo, StoreError> {
    read(path, |_, _, _| Ok(()))
}
