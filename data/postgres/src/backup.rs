//! Backups in the engine-neutral file format ([`tack_data::backup_file`]), read from one
//! REPEATABLE READ snapshot, so the file is consistent while every node goes on writing; a
//! restore into an empty database; and the integrity check, which reads every row back.

use std::collections::BTreeMap;
use std::path::Path;

use deadpool_postgres::Pool;
use tack_data::backup_file::{self, BackupWriter, backup_error};
use tack_data::plan::Record;
use tack_data::record_form::{self, meta, parse_key, read_record};
use tack_data::{BackupInfo, CURRENT_SCHEMA, IntegrityReport, StoreError};
use tokio::runtime::Handle;
use tokio_postgres::Row;

use crate::connection::Connection;
use crate::tables::{self, Param, Table, key_of_row, u};
use crate::{PgConfig, db_error, schema};

async fn client(pool: &Pool) -> Result<deadpool_postgres::Object, StoreError> {
    pool.get()
        .await
        .map_err(|e| StoreError::Unavailable(crate::unreachable(&e.to_string())))
}

/// Runs `work` on a blocking thread with a connection of its own.
async fn on_connection<T: Send + 'static>(
    pool: &Pool,
    work: impl FnOnce(&Connection<'_>) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let client = client(pool).await?;
    let runtime = Handle::current();
    tokio::task::spawn_blocking(move || {
        let db = Connection::new(&client, &runtime);
        let result = work(&db);
        if result.is_err() {
            let _ = db.simple("ROLLBACK");
        }
        result
    })
    .await
    .map_err(|err| StoreError::Engine(format!("a store task did not finish: {err}")))?
}

/// The record in a row read by a table's `all` statement.
fn record_of(table: &Table, row: &Row) -> Result<Record, StoreError> {
    let key = key_of_row(table, row).map_err(|e| db_error(&e))?;
    let body: &[u8] = row.try_get(row.len() - 1).map_err(|e| db_error(&e))?;
    read_record(&key, body)
}

pub(crate) async fn write(pool: &Pool, path: &Path) -> Result<BackupInfo, StoreError> {
    let path = path.to_path_buf();
    on_connection(pool, move |db| {
        db.simple("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        let mut out = BackupWriter::create(&path, CURRENT_SCHEMA)?;
        // The counters, and the record form's version, as the `meta` collection in key order.
        let mut entries: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        entries.insert(
            meta::SCHEMA_VERSION.to_vec(),
            CURRENT_SCHEMA.to_be_bytes().to_vec(),
        );
        for row in db.query("SELECT key, value FROM tack_meta", &[])? {
            let key: String = row.try_get(0).map_err(|e| db_error(&e))?;
            let value: i64 = row.try_get(1).map_err(|e| db_error(&e))?;
            entries.insert(key.into_bytes(), u(value).to_be_bytes().to_vec());
        }
        out.collection(meta::COLLECTION)?;
        for (key, value) in entries {
            out.record(&key, &value)?;
        }
        for table in tables::ALL {
            out.collection(table.name)?;
            db.for_each_row(&table.sql().all, |row| {
                let record = record_of(table, &row)?;
                out.record(
                    &record_form::key_bytes(&record.key()),
                    &record_form::value_bytes(&record),
                )
            })?;
        }
        db.simple("COMMIT")?;
        out.finish()
    })
    .await
}

/// Reads every row back: its body must decode, be the record its key columns name, and
/// agree with its lookup columns.
pub(crate) async fn verify(pool: &Pool) -> Result<IntegrityReport, StoreError> {
    on_connection(pool, |db| {
        db.simple("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        let mut report = IntegrityReport::default();
        for table in tables::ALL {
            db.for_each_row(&table.sql().all, |row| {
                let record = match record_of(table, &row) {
                    Ok(record) => record,
                    Err(err) => {
                        report.problems.push(format!("{}: {err}", table.name));
                        return Ok(());
                    }
                };
                let expected = tables::row_params(&record);
                let mut found = Vec::with_capacity(expected.len());
                for (at, like) in expected.iter().enumerate() {
                    found.push(Param::read(like, &row, at).map_err(|e| db_error(&e))?);
                }
                if found != expected {
                    report.problems.push(format!(
                        "{} {:?}: the columns it is looked up by do not match the record",
                        table.name,
                        record.key()
                    ));
                }
                match record {
                    Record::Issue(_) => report.issues += 1,
                    Record::Comment(_) => report.comments += 1,
                    _ => {}
                }
                report.index_entries += (expected.len() - 1) as u64;
                Ok(())
            })?;
        }
        db.simple("COMMIT")?;
        Ok(report)
    })
    .await
}

/// [`verify`] on the database `config` names, while nodes may be running.
pub async fn check(config: &PgConfig) -> Result<IntegrityReport, StoreError> {
    let pool = crate::pool::pool(config)?;
    let report = verify(&pool).await;
    pool.close();
    report
}

/// Mends what [`verify`] finds: each record's lookup columns are written again from its body.
/// It holds the counter rows as a writer does, so no node writes meanwhile.
pub async fn repair(config: &PgConfig) -> Result<IntegrityReport, StoreError> {
    let pool = crate::pool::pool(config)?;
    on_connection(&pool, |db| {
        db.begin_with(
            "SELECT key FROM tack_meta WHERE key LIKE 'next_id/%' OR key = 'last_seq' \
             ORDER BY key FOR UPDATE",
            &[],
        )?;
        for table in tables::ALL.iter().filter(|t| !t.columns.is_empty()) {
            let mut rewrites = Vec::new();
            db.for_each_row(&table.sql().all, |row| {
                // A body that does not decode is left for the report: nothing can rebuild it.
                if let Ok(record) = record_of(table, &row) {
                    rewrites.push((table.sql().put.as_str(), tables::row_params(&record)));
                }
                Ok(())
            })?;
            for chunk in rewrites.chunks(500) {
                db.execute_all(chunk)?;
            }
        }
        db.simple("COMMIT")
    })
    .await?;
    let report = verify(&pool).await;
    pool.close();
    report
}

/// Loads a backup file into the empty database `config` names, then checks it.
pub async fn restore(
    backup: &Path,
    config: &PgConfig,
) -> Result<(BackupInfo, IntegrityReport), StoreError> {
    let file = backup.to_path_buf();
    let info = tokio::task::spawn_blocking(move || backup_file::verify(&file))
        .await
        .map_err(|err| StoreError::Engine(format!("reading the backup did not finish: {err}")))??;
    if info.schema_version > CURRENT_SCHEMA {
        return Err(StoreError::TooNew {
            path: backup.display().to_string(),
            found: info.schema_version,
            supported: CURRENT_SCHEMA,
        });
    }
    let target = crate::redacted(&config.url);
    let pool = crate::pool::pool(config)?;
    schema::migrate(&mut client(&pool).await?, &target).await?;
    let file = backup.to_path_buf();
    let loaded = on_connection(&pool, move |db| {
        db.simple("BEGIN")?;
        for table in tables::ALL {
            let rows = db.query(&format!("SELECT 1 FROM {} LIMIT 1", table.name), &[])?;
            if !rows.is_empty() {
                return Err(backup_error(format!(
                    "{target} already holds {}; restore into an empty database so nothing is overwritten",
                    table.name
                )));
            }
        }
        let mut chunk: Vec<(&'static str, Vec<Param>)> = Vec::new();
        backup_file::read(&file, |collection, key, value| {
            if collection == meta::COLLECTION {
                let name = String::from_utf8_lossy(&key).into_owned();
                if meta::COUNTERS
                    .iter()
                    .any(|c| meta::counter_key(*c) == key.as_slice())
                {
                    let value = record_form::read_u64(&value, 0).ok_or_else(|| {
                        backup_error(format!("the counter {name} in the backup is damaged"))
                    })?;
                    chunk.push((
                        "UPDATE tack_meta SET value = $2 WHERE key = $1",
                        vec![Param::Text(name), Param::Id(tables::n(value))],
                    ));
                }
                return Ok(());
            }
            // Index collections of older backups are rebuilt, not restored.
            if !tables::ALL.iter().any(|t| t.name == collection) {
                return Ok(());
            }
            let record_key = parse_key(collection, &key).ok_or_else(|| {
                backup_error(format!("a key in {collection} in the backup is damaged"))
            })?;
            let record = read_record(&record_key, &value)?;
            chunk.push((
                tables::table(&record_key).sql().put.as_str(),
                tables::row_params(&record),
            ));
            if chunk.len() >= 500 {
                db.execute_all(&std::mem::take(&mut chunk))?;
            }
            Ok(())
        })?;
        db.execute_all(&chunk)?;
        db.simple("COMMIT")
    })
    .await;
    let result = match loaded {
        Ok(()) => verify(&pool).await.map(|report| (info, report)),
        Err(err) => Err(backup_error(format!(
            "restore failed, nothing was restored: {err}"
        ))),
    };
    pool.close();
    result
}
