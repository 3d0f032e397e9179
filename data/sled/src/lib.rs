//! The embedded engine behind tack's [`Store`](tack_data::Store): one sled tree per collection
//! and one per index, a single writer thread that plans each write through
//! [`tack_data::plan`] into a staging overlay and commits a batch in one sled transaction, and a
//! flusher that makes batches durable together (group commit). Also its upkeep: migrations,
//! backups in the engine-neutral format, integrity checks, repair and salvage.

pub mod backup;
pub mod doctor;
mod durable_mark;
mod engine;
mod handle;
mod health;
mod keys;
mod migrate;
mod operator_reads;
mod staging;
mod trees;
mod verify;
mod write_tx;
mod writer;

pub use engine::{SledEngine, StoreConfig};
pub use handle::SledStore;

// What the engine shares with every other, named as if it were the engine's own.
use tack_data::{
    BackupInfo, CommitListener, IntegrityReport, Store, StoreError, StoreHealth, Ticket, Write,
    WriteError, plan, records,
};

/// sled's errors, as the store reports them.
fn engine_error(err: sled::Error) -> StoreError {
    StoreError::Engine(err.to_string())
}
