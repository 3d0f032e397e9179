//! The search indexer: a task that follows the activity log and writes what changed into the
//! full-text index (`search_index`). The index commits the sequence it has caught up to, so
//! after a crash (or a deleted index) this catches up by itself; `tack doctor --reindex` throws
//! the index away for a rebuild.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tack_protocol::IssueId;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::search_index::{IndexDoc, SearchIndex};

use crate::service::Service;

/// Activity entries read per catch-up step.
const CATCH_UP_CHUNK: usize = 2000;

/// Re-reads the issues in `ids` and writes them (or their absence) to the index.
async fn reindex(
    service: &Service,
    index: &Arc<SearchIndex>,
    ids: BTreeSet<IssueId>,
    watermark: u64,
) -> Result<(), String> {
    let store = service.store();
    let mut docs = Vec::new();
    let mut deleted = Vec::new();
    for id in ids {
        match store.issue(id).await.map_err(|e| e.to_string())? {
            Some(issue) => {
                let comments = store
                    .comments_of(id)
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|c| c.body)
                    .collect::<Vec<_>>()
                    .join("\n");
                docs.push(IndexDoc {
                    id,
                    project: issue.project,
                    title: issue.title,
                    description: issue.description,
                    comments,
                });
            }
            None => deleted.push(id),
        }
    }
    // Writing the index is disk and CPU work: off the async runtime.
    let index = index.clone();
    tokio::task::spawn_blocking(move || {
        index
            .apply(docs, &deleted, watermark)
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Reads the log from `from` to its end, indexing what changed; the new watermark.
async fn catch_up(
    service: &Service,
    index: &Arc<SearchIndex>,
    mut from: u64,
) -> Result<u64, String> {
    loop {
        let chunk = service
            .store()
            .activity_after(from, CATCH_UP_CHUNK)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = chunk.last().map(|a| a.seq) else {
            return Ok(from);
        };
        let ids: BTreeSet<IssueId> = chunk.iter().filter_map(|a| a.issue).collect();
        reindex(service, index, ids, last).await?;
        from = last;
    }
}

/// Keeps the index in step with the store until `stop`.
pub async fn run_indexer(service: Arc<Service>, index: Arc<SearchIndex>, stop: CancellationToken) {
    loop {
        // Subscribe before catching up, so nothing committed in between is missed.
        let mut bus = service.subscribe_bus();
        let started = index.watermark();
        let mut watermark = match catch_up(&service, &index, started).await {
            Ok(watermark) => watermark,
            Err(err) => {
                tracing::error!(error = %err, "search index catch-up failed; retrying");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        if watermark > started {
            tracing::info!(
                from = started,
                to = watermark,
                documents = index.documents(),
                "search index caught up"
            );
        }
        loop {
            let first = tokio::select! {
                _ = stop.cancelled() => return,
                event = bus.recv() => event,
            };
            let mut dirty = BTreeSet::new();
            let mut last = watermark;
            let mut lagged = false;
            let mut take = |event: &tack_protocol::Event, dirty: &mut BTreeSet<IssueId>| {
                if event.seq > watermark {
                    if let Some(issue) = event.activity.issue {
                        dirty.insert(issue);
                    }
                    last = last.max(event.seq);
                }
            };
            match first {
                Ok(event) => take(&event, &mut dirty),
                Err(RecvError::Lagged(_)) => lagged = true,
                Err(RecvError::Closed) => return,
            }
            // Everything already waiting goes into the same commit.
            loop {
                match bus.try_recv() {
                    Ok(event) => take(&event, &mut dirty),
                    Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => lagged = true,
                    Err(_) => break,
                }
            }
            if lagged {
                break;
            }
            if dirty.is_empty() {
                continue;
            }
            match reindex(&service, &index, dirty, last).await {
                Ok(()) => watermark = last,
                Err(err) => {
                    tracing::error!(error = %err, "search indexing failed; catching up again");
                    break;
                }
            }
        }
    }
}
