//! The sled engine passes the conformance suite every engine behind `Store` must pass.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use tack_data::conformance::Engine;
use tack_data::{Store, StoreError};
use tack_data_sled::{SledStore, StoreConfig, backup, doctor};

struct Sled;

#[async_trait::async_trait]
impl Engine for Sled {
    async fn open(&self, dir: &Path) -> Result<Arc<dyn Store>, StoreError> {
        Ok(Arc::new(SledStore::open(&StoreConfig::new(
            dir.join("store"),
        ))?))
    }

    async fn restore(&self, file: &Path, dir: &Path) -> Result<(), StoreError> {
        backup::restore(file, &dir.join("store")).map(|_| ())
    }

    async fn damage(&self, dir: &Path) -> Result<(), StoreError> {
        let engine = |e: sled::Error| StoreError::Engine(e.to_string());
        let db = sled::open(dir.join("store")).map_err(engine)?;
        let board = db.open_tree("idx_board").map_err(engine)?;
        let (first, _) = board
            .first()
            .map_err(engine)?
            .ok_or_else(|| StoreError::Engine("the board index is empty".into()))?;
        board.remove(first).map_err(engine)?;
        db.flush().map_err(engine)?;
        Ok(())
    }

    async fn repair(&self, dir: &Path) -> Result<(), StoreError> {
        doctor::doctor(&dir.join("store"), true).map(|_| ())
    }
}

tack_data::conformance_tests!(Sled);
