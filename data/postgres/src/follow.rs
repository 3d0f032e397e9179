//! Every node sees every committed change, in sequence order, exactly once. A node's own
//! writes reach its commit listener from the writer, with the events the planner made; the
//! writes of other nodes are read back from the activity table. NOTIFY carries only the newest
//! sequence number, as a wake-up: a node that missed one (a dropped connection, a restart of
//! PostgreSQL) finds the same changes on its next catch-up, which also runs every second.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use futures::StreamExt;
use tack_data::{CommitListener, StoreError};
use tack_protocol::Event;
use tokio::sync::{Mutex, MutexGuard, mpsc};

use crate::reads::Reads;

/// The channel every writer notifies on commit.
pub(crate) const CHANNEL: &str = "tack_events";

/// How often a node looks for changes it was not told about.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Most events read back in one query.
const CATCH_UP_BATCH: usize = 512;

pub(crate) struct Feed {
    /// The newest sequence number this node's listener has seen.
    delivered: Mutex<u64>,
    pub listener: RwLock<Option<CommitListener>>,
}

impl Feed {
    pub fn new(last_seq: u64) -> Arc<Feed> {
        Arc::new(Feed {
            delivered: Mutex::new(last_seq),
            listener: RwLock::new(None),
        })
    }

    pub async fn delivered(&self) -> u64 {
        *self.delivered.lock().await
    }

    /// Held by the writer from before its COMMIT until its events are delivered, so a
    /// catch-up cannot deliver them first, rebuilt.
    pub fn lock_blocking(&self) -> MutexGuard<'_, u64> {
        self.delivered.blocking_lock()
    }

    fn tell(&self, events: &[Event]) {
        if let Some(listener) = self
            .listener
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            listener(events);
        }
    }

    /// Delivers events after `*delivered`, then moves it on.
    pub fn deliver(&self, delivered: &mut u64, events: &[Event]) {
        let fresh: Vec<Event> = events
            .iter()
            .filter(|event| event.seq > *delivered)
            .cloned()
            .collect();
        if let Some(last) = fresh.last() {
            self.tell(&fresh);
            *delivered = last.seq;
        }
    }

    /// Reads back and delivers every change after `*delivered` up to `until` (all, if None).
    pub async fn catch_up(
        &self,
        reads: &Reads,
        delivered: &mut u64,
        until: Option<u64>,
    ) -> Result<(), StoreError> {
        loop {
            if until.is_some_and(|until| *delivered >= until) {
                return Ok(());
            }
            let mut events = reads.events_after(*delivered, CATCH_UP_BATCH).await?;
            if let Some(until) = until {
                events.retain(|event| event.seq <= until);
            }
            let Some(last) = events.last().map(|e| e.seq) else {
                return Ok(());
            };
            if events.first().map(|e| e.seq) != Some(*delivered + 1) {
                return Err(StoreError::Engine(format!(
                    "the activity log has a gap after {delivered}: the next entry is {:?}",
                    events.first().map(|e| e.seq)
                )));
            }
            self.tell(&events);
            *delivered = last;
        }
    }
}

/// Follows the changes of other nodes until the store closes.
pub(crate) async fn follow(reads: Arc<Reads>, feed: Arc<Feed>, url: String) {
    let (wake_tx, mut wake) = mpsc::channel::<()>(1);
    tokio::spawn(listen(url, wake_tx));
    let mut tick = tokio::time::interval(POLL_EVERY);
    loop {
        tokio::select! {
            woken = wake.recv() => if woken.is_none() { return },
            _ = tick.tick() => {}
        }
        let mut delivered = feed.delivered.lock().await;
        if let Err(err) = feed.catch_up(&reads, &mut delivered, None).await {
            tracing::debug!(error = %err, "catching up with other nodes failed; trying again");
        }
    }
}

/// Keeps one connection listening on [`CHANNEL`], reconnecting when it drops.
async fn listen(url: String, wake: mpsc::Sender<()>) {
    loop {
        match tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
            Ok((client, mut connection)) => {
                let (notes_tx, mut notes) = mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(Ok(message)) = messages.next().await {
                        if let tokio_postgres::AsyncMessage::Notification(_) = message
                            && notes_tx.send(()).is_err()
                        {
                            return;
                        }
                    }
                });
                if client
                    .batch_execute(&format!("LISTEN {CHANNEL}"))
                    .await
                    .is_ok()
                {
                    // Whatever was committed while not listening is caught up now.
                    let _ = wake.try_send(());
                    while notes.recv().await.is_some() {
                        if wake.is_closed() {
                            return;
                        }
                        let _ = wake.try_send(());
                    }
                }
                driver.abort();
            }
            Err(err) => {
                tracing::debug!(error = %err, "cannot listen for other nodes' changes; retrying");
            }
        }
        if wake.is_closed() {
            return;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}
