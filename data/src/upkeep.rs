//! What an engine reports about itself: whether it takes writes, what a backup wrote, and what
//! an integrity check found.

use std::path::PathBuf;

/// What the store can do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreHealth {
    Ok,
    /// Reads work, writes are refused for the reason given, until it passes.
    ReadOnly(String),
    /// Nothing can be trusted to work any more (a flush failed or hangs): restart tack.
    Failed(String),
    /// The database cannot be reached, for the reason given: neither reads nor writes work
    /// until the engine has reconnected, which it does by itself.
    Unreachable(String),
}

impl StoreHealth {
    pub fn is_ok(&self) -> bool {
        matches!(self, StoreHealth::Ok)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    pub path: PathBuf,
    pub bytes: u64,
    pub records: u64,
    pub schema_version: u32,
    pub created_at: i64,
    pub checksum: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntegrityReport {
    pub issues: u64,
    pub comments: u64,
    pub index_entries: u64,
    pub problems: Vec<String>,
}

impl IntegrityReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}
