//! Whether this node reaches the database: set by every batch and by a probe that runs while
//! nothing is written, so a node says it is not ready while it cannot reach PostgreSQL and is
//! ready again once it can, without a restart.

use std::sync::{Arc, Mutex, PoisonError};

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
