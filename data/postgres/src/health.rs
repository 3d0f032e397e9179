//! Whether this node reaches the database: set by every batch and by a probe that runs while
//! nothing is written, so a node says it is not ready while it cannot reach PostgreSQL and is
//! ready again once it can, without a restart.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use deadpool_postgres::Pool;
use tack_data::StoreHealth;

#[derive(Clone, Default)]
pub(crate) struct Health(Arc<Mutex<Option<String>>>);

impl Health {
    pub fn lost(&self, reason: &str) {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            tracing::warn!(%reason, "the database cannot be reached");
        }
        *slot = Some(reason.to_owned());
    }

    pub fn reached(&self) {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.take().is_some() {
            tracing::info!("the database can be reached again");
        }
    }

    pub fn get(&self) -> StoreHealth {
        match &*self.0.lock().unwrap_or_else(PoisonError::into_inner) {
            None => StoreHealth::Ok,
            Some(reason) => StoreHealth::Unreachable(reason.clone()),
        }
    }
}

/// How often a node that writes nothing checks that it still reaches the database.
const PROBE_EVERY: Duration = Duration::from_secs(1);

pub(crate) async fn probe(pool: Pool, health: Health) {
    loop {
        tokio::time::sleep(PROBE_EVERY).await;
        let reached = match pool.get().await {
            Ok(client) => client
                .simple_query("SELECT 1")
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(err) => Err(err.to_string()),
        };
        match reached {
            Ok(()) => health.reached(),
            Err(reason) => health.lost(&crate::unreachable(&reason)),
        }
    }
}
