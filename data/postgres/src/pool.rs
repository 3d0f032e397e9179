//! Connections to the database: what the configuration names, and the pool every read, the
//! writer and the backups take their connections from.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tack_data::StoreError;

use crate::redacted;

#[derive(Debug, Clone)]
pub struct PgConfig {
    /// `postgres://user:password@host:port/database`, or key=value settings.
    pub url: String,
    /// Connections this node keeps open; the writer takes one of them.
    pub pool_size: usize,
}

impl PgConfig {
    pub const DEFAULT_POOL_SIZE: usize = 16;

    pub fn new(url: impl Into<String>) -> Self {
        PgConfig {
            url: url.into(),
            pool_size: Self::DEFAULT_POOL_SIZE,
        }
    }
}

pub(crate) fn pool(config: &PgConfig) -> Result<Pool, StoreError> {
    let target = redacted(&config.url);
    let mut pg: tokio_postgres::Config = config.url.parse().map_err(|err| {
        StoreError::Engine(format!("the PostgreSQL URL {target} cannot be read: {err}"))
    })?;
    pg.connect_timeout(Duration::from_secs(5));
    pg.application_name("tack");
    let manager = Manager::from_config(
        pg,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(config.pool_size.max(2))
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(Duration::from_secs(5)))
        .wait_timeout(Some(Duration::from_secs(30)))
        .build()
        .map_err(|err| StoreError::Engine(format!("cannot set up connections to {target}: {err}")))
}
