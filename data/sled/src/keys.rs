//! Key layouts. Ids are big-endian so that ranges iterate in order. Records are keyed as the
//! engine-neutral record form has them; the index layouts are sled's own.

pub use tack_data::record_form::{id, pair, pending_key_prefix, read_u64};

/// The last 8 bytes of an index key: the id it points at.
pub fn trailing_id(key: &[u8]) -> Option<u64> {
    key.len().checked_sub(8).and_then(|at| read_u64(key, at))
}

/// `project | state | rank | 0 | issue`: a board column in rank order.
pub fn board(project: u64, state: u32, rank: &str, issue: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + 4 + rank.len() + 1 + 8);
    key.extend_from_slice(&project.to_be_bytes());
    key.extend_from_slice(&state.to_be_bytes());
    key.extend_from_slice(rank.as_bytes());
    key.push(0);
    key.extend_from_slice(&issue.to_be_bytes());
    key
}

pub fn board_column(project: u64, state: u32) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&project.to_be_bytes());
    key[8..].copy_from_slice(&state.to_be_bytes());
    key
}

/// `project | label | 0 | issue`.
pub fn label(project: u64, label: &str, issue: u64) -> Vec<u8> {
    let mut key = label_prefix(project, label);
    key.extend_from_slice(&issue.to_be_bytes());
    key
}

pub fn label_prefix(project: u64, label: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + label.len() + 1 + 8);
    key.extend_from_slice(&project.to_be_bytes());
    key.extend_from_slice(label.as_bytes());
    key.push(0);
    key
}

pub fn user_key(user: u64, fingerprint: &str) -> Vec<u8> {
    let mut key = user.to_be_bytes().to_vec();
    key.extend_from_slice(fingerprint.as_bytes());
    key
}

/// The rank inside a board key (`project | state | rank | 0 | issue`).
pub fn board_rank(key: &[u8]) -> Option<&str> {
    let end = key.len().checked_sub(9)?;
    std::str::from_utf8(key.get(12..end)?).ok()
}

/// `run_at | job`: the queue in the order jobs come due.
pub fn job_due(run_at: i64, job: u64) -> [u8; 16] {
    pair(run_at.max(0) as u64, job)
}
