//! Commands on a stopped server's data directory: `tack restore`, `tack doctor` (with
//! `--repair`, `--reindex` and `--salvage`).

use std::path::{Path, PathBuf};

use super::serve::create_data_dir;
use crate::commands::exit;

pub async fn restore(file: PathBuf, data: PathBuf) -> u8 {
    if let Err(err) = create_data_dir(&data) {
        eprintln!("tack: cannot create {}: {err}", data.display());
        return exit::REFUSED;
    }
    let store_path = data.join("store");
    let result =
        tokio::task::spawn_blocking(move || tack_data_sled::backup::restore(&file, &store_path))
            .await;
    // An index beside the restored store describes another history.
    let search = data.join("search");
    if matches!(result, Ok(Ok((_, ref report))) if report.is_clean())
        && search.exists()
        && let Err(err) = std::fs::remove_dir_all(&search)
    {
        eprintln!(
            "tack: cannot remove the old search index {}: {err}",
            search.display()
        );
        return exit::REFUSED;
    }
    let result = result.map_err(|err| format!("restore failed: {err}"));
    report_restore(
        result.and_then(|r| r.map_err(|e| e.to_string())),
        &data.display().to_string(),
    )
}

/// `tack restore FILE --store postgres://…`: into an empty PostgreSQL database.
pub async fn restore_into_postgres(file: PathBuf, url: String) -> u8 {
    let config = tack_data_postgres::PgConfig::new(url.clone());
    let result = tack_data_postgres::restore(&file, &config)
        .await
        .map_err(|e| e.to_string());
    report_restore(result, &tack_data_postgres::redacted(&url))
}

fn report_restore(
    result: Result<(tack_data::BackupInfo, tack_data::IntegrityReport), String>,
    into: &str,
) -> u8 {
    match result {
        Ok((info, report)) if report.is_clean() => {
            println!(
                "restored {} records (schema {}, checksum {}) into {into}; {} issues verified",
                info.records,
                info.schema_version,
                &info.checksum[..16],
                report.issues
            );
            exit::OK
        }
        Ok((_, report)) => {
            eprintln!("tack: the restored store failed verification:");
            for problem in report.problems.iter().take(20) {
                eprintln!("  {problem}");
            }
            exit::REFUSED
        }
        Err(err) => {
            eprintln!("tack: {err}");
            exit::REFUSED
        }
    }
}

/// `tack doctor --salvage --out DIR`: what can be read of a damaged store, in a new one.
pub async fn salvage(data: PathBuf, out: PathBuf) -> u8 {
    if let Err(err) = create_data_dir(&out) {
        eprintln!("tack: cannot create {}: {err}", out.display());
        return exit::REFUSED;
    }
    let (from, to) = (data.join("store"), out.join("store"));
    let result =
        tokio::task::spawn_blocking(move || tack_data_sled::doctor::salvage(&from, &to)).await;
    let report = match result {
        Ok(Ok(report)) => report,
        Ok(Err(err)) => {
            eprintln!("tack: salvage failed: {err}");
            return exit::REFUSED;
        }
        Err(err) => {
            eprintln!("tack: salvage failed: {err}");
            return exit::REFUSED;
        }
    };
    println!(
        "salvaged {} records ({} issues, {} comments, up to event {}) from {} into {}",
        report.records,
        report.check.issues,
        report.check.comments,
        report.check.last_seq,
        data.display(),
        out.display()
    );
    for tree in &report.damaged_trees {
        println!("damaged: reading {tree} stopped at the damage; what followed is not copied");
    }
    for problem in report.check.problems.iter().take(20) {
        println!("problem: {problem}");
    }
    println!(
        "check it, then start tack on it: `tack serve --data {}` (the damaged store is untouched)",
        out.display()
    );
    exit::OK
}

/// What is wrong with the search index beside a store whose last event is `store_seq`.
fn search_problems(dir: &Path, store_seq: u64) -> Vec<String> {
    if !dir.exists() {
        return Vec::new();
    }
    match crate::search_index::SearchIndex::check(dir) {
        Ok((_, watermark)) if watermark > store_seq => vec![format!(
            "the search index at {} reflects event {watermark}, past the store's last event {store_seq}; `tack doctor --reindex` rebuilds it (tack serve also does by itself)",
            dir.display()
        )],
        Ok(_) => Vec::new(),
        Err(err) => vec![format!(
            "the search index at {} cannot be read ({err}); `tack doctor --reindex` rebuilds it (tack serve also does by itself)",
            dir.display()
        )],
    }
}

pub async fn doctor(data: PathBuf, repair: bool, reindex: bool) -> u8 {
    if reindex {
        let dir = data.join("search");
        if dir.exists()
            && let Err(err) = std::fs::remove_dir_all(&dir)
        {
            eprintln!("tack: cannot remove {}: {err}", dir.display());
            return exit::REFUSED;
        }
        println!("search index removed; the next `tack serve` rebuilds it from the store");
    }
    let store = data.join("store");
    let result =
        tokio::task::spawn_blocking(move || tack_data_sled::doctor::doctor(&store, repair)).await;
    let report = match result {
        Ok(Ok(report)) => report,
        Ok(Err(err)) => {
            eprintln!("tack: {err}");
            return exit::REFUSED;
        }
        Err(err) => {
            eprintln!("tack: doctor failed: {err}");
            return exit::REFUSED;
        }
    };
    let mut report = report;
    if !reindex {
        report
            .problems
            .extend(search_problems(&data.join("search"), report.last_seq));
    }
    for done in &report.repaired {
        println!("repaired: {done}");
    }
    println!(
        "checked {} issues and {} comments in {}",
        report.issues,
        report.comments,
        data.display()
    );
    if report.problems.is_empty() {
        println!("no problems found");
        return exit::OK;
    }
    for problem in report.problems.iter().take(50) {
        println!("problem: {problem}");
    }
    if report.problems.len() > 50 {
        println!("… and {} more", report.problems.len() - 50);
    }
    if !repair {
        println!(
            "run `tack doctor --repair` (with the server stopped) to rebuild the indexes from the records"
        );
    }
    exit::REFUSED
}

/// `tack doctor --store URL [--repair]`: every row of the PostgreSQL store read back.
pub async fn doctor_postgres(url: String, repair: bool) -> u8 {
    let config = tack_data_postgres::PgConfig::new(url.clone());
    let result = if repair {
        tack_data_postgres::repair(&config).await
    } else {
        tack_data_postgres::check(&config).await
    };
    let report = match result {
        Ok(report) => report,
        Err(err) => {
            eprintln!("tack: {err}");
            return exit::REFUSED;
        }
    };
    println!(
        "checked {} issues and {} comments in {}",
        report.issues,
        report.comments,
        tack_data_postgres::redacted(&url)
    );
    if report.is_clean() {
        println!("no problems found");
        return exit::OK;
    }
    for problem in report.problems.iter().take(50) {
        println!("problem: {problem}");
    }
    if !repair {
        println!("run `tack doctor --store URL --repair` to rewrite what records are looked up by");
    }
    exit::REFUSED
}
