//! The database schema: SQL migrations embedded in the binary, applied in order under an
//! advisory lock (several nodes may start at once). A database migrated by a newer tack is
//! refused rather than written with rules that do not know its tables.

use deadpool_postgres::Object;
use tack_data::StoreError;
use tack_data::record_form::meta;

use crate::db_error;

/// `MIGRATIONS[n]` is version `n + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_records.sql"),
    include_str!("../migrations/0002_job_leases.sql"),
    include_str!("../migrations/0003_host_key.sql"),
    include_str!("../migrations/0004_session_places.sql"),
];

pub const CURRENT: i32 = MIGRATIONS.len() as i32;

/// Any number, the same on every node: the lock migrations are applied under.
const MIGRATION_LOCK: i64 = 0x7461_636b_0001;

pub(crate) async fn migrate(client: &mut Object, database: &str) -> Result<(), StoreError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS tack_schema (
                version integer PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            )",
        )
        .await
        .map_err(|e| db_error(&e))?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(|e| db_error(&e))?;
    let result = apply(client, database).await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    result?;
    unlocked.map_err(|e| db_error(&e))?;
    Ok(())
}

async fn apply(client: &mut Object, database: &str) -> Result<(), StoreError> {
    let found: Option<i32> = client
        .query_one("SELECT max(version) FROM tack_schema", &[])
        .await
        .map_err(|e| db_error(&e))?
        .get(0);
    let found = found.unwrap_or(0);
    if found > CURRENT {
        return Err(StoreError::TooNew {
            path: database.to_owned(),
            found: found as u32,
            supported: CURRENT as u32,
        });
    }
    for (at, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = at as i32 + 1;
        let tx = client.transaction().await.map_err(|e| db_error(&e))?;
        tx.batch_execute(sql).await.map_err(|e| db_error(&e))?;
        tx.execute("INSERT INTO tack_schema (version) VALUES ($1)", &[&version])
            .await
            .map_err(|e| db_error(&e))?;
        tx.commit().await.map_err(|e| db_error(&e))?;
        tracing::info!(version, "applied a database migration");
    }
    // The counters exist before the first write locks them.
    for counter in meta::COUNTERS {
        let key = String::from_utf8_lossy(meta::counter_key(counter)).into_owned();
        let start = meta::counter_start(counter) as i64;
        client
            .execute(
                "INSERT INTO tack_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                &[&key, &start],
            )
            .await
            .map_err(|e| db_error(&e))?;
    }
    Ok(())
}
