//! The PostgreSQL engine passes the conformance suite every engine behind `Store` must pass,
//! each case on a fresh database of a private PostgreSQL started for this test process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use tack_data::conformance::Engine;
use tack_data::{Store, StoreError};
use tack_data_postgres::{PgConfig, PgStore, repair, restore};
use tack_pg_test_cluster::TestCluster;

struct Postgres;

/// The database that stands for the store kept under `dir`: made on first use.
async fn database(dir: &Path) -> PgConfig {
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join("database-url");
    if let Ok(url) = std::fs::read_to_string(&file) {
        return PgConfig::new(url);
    }
    let url = TestCluster::shared().create_database().await;
    std::fs::write(&file, &url).unwrap();
    PgConfig::new(url)
}

#[async_trait::async_trait]
impl Engine for Postgres {
    async fn open(&self, dir: &Path) -> Result<Arc<dyn Store>, StoreError> {
        Ok(Arc::new(PgStore::open(&database(dir).await).await?))
    }

    async fn restore(&self, file: &Path, dir: &Path) -> Result<(), StoreError> {
        restore(file, &database(dir).await).await.map(|_| ())
    }

    async fn damage(&self, dir: &Path) -> Result<(), StoreError> {
        let config = database(dir).await;
        let (client, connection) = tokio_postgres::connect(&config.url, tokio_postgres::NoTls)
            .await
            .map_err(|e| StoreError::Engine(e.to_string()))?;
        tokio::spawn(connection);
        // The first issue loses its place on its board: its column says another state.
        client
            .batch_execute(
                "UPDATE issues SET state = state + 100 WHERE id = (SELECT min(id) FROM issues)",
            )
            .await
            .map_err(|e| StoreError::Engine(e.to_string()))
    }

    async fn repair(&self, dir: &Path) -> Result<(), StoreError> {
        repair(&database(dir).await).await.map(|_| ())
    }
}

tack_data::conformance_tests!(Postgres);
