//! Scheduled backup files: how they are named (so names sort by time), found and pruned.

use std::path::Path;

use chrono::{DateTime, Utc};

const BACKUP_PREFIX: &str = "tack-";
const BACKUP_SUFFIX: &str = ".tackbak";

/// A backup file's name: `tack-20261126-030000.tackbak`, so names sort by time.
pub fn backup_name(at: DateTime<Utc>) -> String {
    format!(
        "{BACKUP_PREFIX}{}{BACKUP_SUFFIX}",
        at.format("%Y%m%d-%H%M%S")
    )
}

/// Scheduled backups in `dir`, oldest first.
pub fn backup_files(dir: &Path) -> Vec<(String, std::fs::Metadata)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(String, std::fs::Metadata)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let meta = e.metadata().ok()?;
            (meta.is_file() && name.starts_with(BACKUP_PREFIX) && name.ends_with(BACKUP_SUFFIX))
                .then_some((name, meta))
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// Keeps the newest `retention` backups.
pub fn prune(dir: &Path, retention: u32) {
    let files = backup_files(dir);
    let extra = files.len().saturating_sub(retention.max(1) as usize);
    for (name, _) in files.into_iter().take(extra) {
        match std::fs::remove_file(dir.join(&name)) {
            Ok(()) => tracing::info!(file = %name, "old backup removed"),
            Err(err) => tracing::warn!(file = %name, error = %err, "cannot remove an old backup"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_keeps_the_newest_backups() {
        let dir = tempfile::tempdir().unwrap();
        for day in 1..=5 {
            std::fs::write(
                dir.path().join(format!("tack-2026110{day}-030000.tackbak")),
                b"x",
            )
            .unwrap();
        }
        std::fs::write(dir.path().join("manual.tackbak"), b"x").unwrap();
        prune(dir.path(), 2);
        let left: Vec<String> = backup_files(dir.path()).into_iter().map(|f| f.0).collect();
        assert_eq!(
            left,
            [
                "tack-20261104-030000.tackbak",
                "tack-20261105-030000.tackbak"
            ]
        );
        assert!(
            dir.path().join("manual.tackbak").exists(),
            "other files stay"
        );
    }
}
