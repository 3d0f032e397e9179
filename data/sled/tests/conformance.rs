//! The sled engine passes the conformance suite every engine behind `Store` must pass.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use tack_data::conformance::Engine;
use tack_data::{Store, StoreError};
use tack_data_sled::{SledStore, StoreConfig, backup};

struct Sled;

impl Engine for Sled {
    fn open(&self, dir: &Path) -> Result<Arc<dyn Store>, StoreError> {
        Ok(Arc::new(SledStore::open(&StoreConfig::new(
            dir.join("store"),
        ))?))
    }

    fn restore(&self, file: &Path, dir: &Path) -> Result<(), StoreError> {
        backup::restore(file, &dir.join("store")).map(|_| ())
    }
}

tack_data::conformance_tests!(Sled);
