//! `PgStore`: one node's handle on the shared database — its pool, writer, event feed and
//! health — opened with the schema brought up to date.

use std::sync::Arc;

use tack_data::StoreError;

use crate::follow::{Feed, follow};
use crate::health::{Health, probe};
use crate::pool::{PgConfig, pool};
use crate::reads::Reads;
use crate::writer::{Writer, WriterParts};
use crate::{redacted, schema};

/// A node's handle on the shared database.
pub struct PgStore {
    pub(crate) reads: Arc<Reads>,
    pub(crate) feed: Arc<Feed>,
    pub(crate) writer: Arc<Writer>,
    pub(crate) health: Health,
    /// The URL without its password, to name the database in messages.
    pub(crate) target: String,
    probe: tokio::task::JoinHandle<()>,
    follower: tokio::task::JoinHandle<()>,
    /// This process among the nodes, for the jobs it takes and the session places it holds.
    pub(crate) node: String,
}

impl PgStore {
    /// Connects, brings the schema up to date, and starts this node's writer.
    pub async fn open(config: &PgConfig) -> Result<PgStore, StoreError> {
        let target = redacted(&config.url);
        let pool = pool(config)?;
        let mut client = pool
            .get()
            .await
            .map_err(|err| StoreError::Unavailable(format!("cannot connect to {target}: {err}")))?;
        schema::migrate(&mut client, &target).await?;
        drop(client);
        let health = Health::default();
        let reads = Arc::new(Reads { pool: pool.clone() });
        // Changes committed before this node opened are in the database, not news.
        let feed = Feed::new(reads.last_seq().await?);
        let writer = Arc::new(Writer::start(WriterParts {
            pool: pool.clone(),
            runtime: tokio::runtime::Handle::current(),
            health: health.clone(),
            reads: reads.clone(),
            feed: feed.clone(),
        })?);
        let probe = tokio::spawn(probe(pool, health.clone()));
        let follower = tokio::spawn(follow(reads.clone(), feed.clone(), config.url.clone()));
        Ok(PgStore {
            reads,
            feed,
            writer,
            health,
            target,
            probe,
            follower,
            node: node_name(),
        })
    }

    /// Noted by every read: a read that cannot reach the database makes the node unready.
    pub(crate) fn seen<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(StoreError::Unavailable(reason)) = &result {
            self.health.lost(reason);
        }
        result
    }
}

/// A name no other node (and no earlier run of this one) has.
fn node_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}-{nanos:x}", std::process::id())
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.probe.abort();
        self.follower.abort();
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .finish()
    }
}
