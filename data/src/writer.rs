//! The write path: one writer thread applies writes in order, each in its own transaction, and
//! hands them to a flusher thread, which makes every write applied since its last flush durable
//! with one `flush` (group commit), tells the commit listener, and only then acknowledges.
//! While the flusher waits for the disk, the writer goes on applying the next writes.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;

use sled::transaction::{TransactionError, Transactional};
use tack_protocol::Event;
use tokio::sync::{mpsc, oneshot};

use crate::apply::{Counters, Prepared, Tx, apply};
use crate::backup::{self, BackupInfo};
use crate::trees::{T, Trees};
use crate::{Op, Write, WriteError, keys};

/// Sees every committed event, in commit order, before the write is acknowledged.
pub type CommitListener = Box<dyn Fn(&[Event]) + Send + Sync>;

/// Resolves when the store has finished with a submitted command.
pub struct Ticket<T>(oneshot::Receiver<Result<T, WriteError>>);

impl<T> Ticket<T> {
    pub async fn wait(self) -> Result<T, WriteError> {
        self.0.await.unwrap_or(Err(WriteError::ShuttingDown))
    }

    pub fn refused(err: WriteError) -> Self {
        let (tx, rx) = oneshot::channel();
        let _ = tx.send(Err(err));
        Ticket(rx)
    }
}

type Ack<T> = oneshot::Sender<Result<T, WriteError>>;

pub(crate) enum Command {
    Write(Box<Write>, Ack<Vec<Event>>),
    Backup(PathBuf, Ack<BackupInfo>),
    Shutdown,
}

struct Applied {
    events: Vec<Event>,
    ack: Ack<Vec<Event>>,
}

/// Most writes the writer applies before handing a batch to the flusher.
const MAX_BATCH: usize = 512;

pub(crate) struct Writer {
    commands: mpsc::UnboundedSender<Command>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    pub listener: Arc<RwLock<Option<CommitListener>>>,
    /// The newest sequence number that is durable and acknowledged.
    pub durable_seq: Arc<AtomicU64>,
}

impl Writer {
    pub fn start(
        db: sled::Db,
        trees: Arc<Trees>,
        counters: Counters,
        group_commit: bool,
    ) -> std::io::Result<Writer> {
        let (commands, rx) = mpsc::unbounded_channel();
        let listener: Arc<RwLock<Option<CommitListener>>> = Arc::new(RwLock::new(None));
        let durable_seq = Arc::new(AtomicU64::new(counters.last_seq));
        let (flush_tx, flush_rx) = std::sync::mpsc::channel::<Vec<Applied>>();
        let flusher = {
            let (db, listener, durable_seq) = (db.clone(), listener.clone(), durable_seq.clone());
            std::thread::Builder::new()
                .name("tack-flusher".into())
                .spawn(move || flusher_loop(db, flush_rx, listener, durable_seq))?
        };
        let writer = {
            let (listener, durable_seq) = (listener.clone(), durable_seq.clone());
            std::thread::Builder::new()
                .name("tack-writer".into())
                .spawn(move || {
                    let sink = if group_commit {
                        Sink::Group(flush_tx)
                    } else {
                        drop(flush_tx);
                        Sink::PerWrite {
                            db: db.clone(),
                            listener,
                            durable_seq,
                        }
                    };
                    writer_loop(db, trees, counters, rx, sink)
                })?
        };
        Ok(Writer {
            commands,
            threads: Mutex::new(vec![writer, flusher]),
            listener,
            durable_seq,
        })
    }

    pub fn submit(&self, write: Write) -> Ticket<Vec<Event>> {
        let (tx, rx) = oneshot::channel();
        if self
            .commands
            .send(Command::Write(Box::new(write), tx))
            .is_err()
        {
            return Ticket::refused(WriteError::ShuttingDown);
        }
        Ticket(rx)
    }

    pub fn backup(&self, path: PathBuf) -> Ticket<BackupInfo> {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Backup(path, tx)).is_err() {
            return Ticket::refused(WriteError::ShuttingDown);
        }
        Ticket(rx)
    }

    /// Waits until every queued write is durable and acknowledged, then stops both threads.
    pub fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown);
        let threads: Vec<_> = self
            .threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .collect();
        for thread in threads {
            let _ = thread.join();
        }
    }
}

enum Sink {
    Group(std::sync::mpsc::Sender<Vec<Applied>>),
    /// The baseline the benchmarks compare against: one flush per write, nothing shared.
    PerWrite {
        db: sled::Db,
        listener: Arc<RwLock<Option<CommitListener>>>,
        durable_seq: Arc<AtomicU64>,
    },
}

fn writer_loop(
    db: sled::Db,
    trees: Arc<Trees>,
    mut counters: Counters,
    mut rx: mpsc::UnboundedReceiver<Command>,
    sink: Sink,
) {
    let max_batch = if matches!(sink, Sink::Group(_)) {
        MAX_BATCH
    } else {
        1
    };
    let mut stopping = false;
    while !stopping {
        let Some(first) = rx.blocking_recv() else {
            break;
        };
        let mut commands = vec![first];
        while commands.len() < max_batch {
            match rx.try_recv() {
                Ok(command) => commands.push(command),
                Err(_) => break,
            }
        }
        let mut batch = Vec::with_capacity(commands.len());
        for command in commands {
            match command {
                Command::Write(write, ack) => match commit_one(&trees, &write, &mut counters) {
                    Ok(events) => batch.push(Applied { events, ack }),
                    Err(err) => {
                        let _ = ack.send(Err(err));
                    }
                },
                Command::Backup(path, ack) => {
                    // Runs between writes on the only thread that writes: a consistent snapshot.
                    let result = backup::write_backup(&db, &trees, &path)
                        .map_err(|e| WriteError::Store(e.to_string()));
                    let _ = ack.send(result);
                }
                Command::Shutdown => stopping = true,
            }
        }
        if batch.is_empty() {
            continue;
        }
        match &sink {
            Sink::Group(flusher) => {
                if let Err(std::sync::mpsc::SendError(batch)) = flusher.send(batch) {
                    for applied in batch {
                        let _ = applied.ack.send(Err(WriteError::ShuttingDown));
                    }
                }
            }
            Sink::PerWrite {
                db,
                listener,
                durable_seq,
            } => {
                let flushed = db.flush().map(|_| ()).map_err(|e| e.to_string());
                finish(batch, &flushed, listener, durable_seq);
            }
        }
    }
    // Refuse what is still queued rather than leave callers waiting.
    rx.close();
    while let Ok(command) = rx.try_recv() {
        match command {
            Command::Write(_, ack) => drop(ack.send(Err(WriteError::ShuttingDown))),
            Command::Backup(_, ack) => drop(ack.send(Err(WriteError::ShuttingDown))),
            Command::Shutdown => {}
        }
    }
}

fn commit_one(
    trees: &Trees,
    write: &Write,
    counters: &mut Counters,
) -> Result<Vec<Event>, WriteError> {
    let prepared = prepare(trees, write)?;
    let start = *counters;
    let result = trees.all.as_slice().transaction(|view| {
        let mut attempt = start;
        let events = apply(&Tx::new(view), write, &prepared, &mut attempt)?;
        Ok((events, attempt))
    });
    match result {
        Ok((events, after)) => {
            *counters = after;
            Ok(events)
        }
        Err(TransactionError::Abort(err)) => Err(err),
        Err(TransactionError::Storage(err)) => {
            tracing::error!(error = %err, "store write failed");
            Err(WriteError::Store(err.to_string()))
        }
    }
}

/// Lookups that need iteration, done before the transaction. The writer is the only thread
/// that writes, so nothing changes between these reads and the transaction.
fn prepare(trees: &Trees, write: &Write) -> Result<Prepared, WriteError> {
    let store_err = |e: sled::Error| WriteError::Store(e.to_string());
    let mut prepared = Prepared::default();
    match &write.op {
        Op::CreateIssue(issue) | Op::UpdateIssue { issue, .. } if issue.rank.is_empty() => {
            let column = keys::board_column(issue.project, issue.state);
            let last = trees
                .get(T::IdxBoard)
                .scan_prefix(column)
                .next_back()
                .transpose()
                .map_err(store_err)?;
            let last_rank = last.and_then(|(key, _)| {
                let end = key.len().checked_sub(9)?;
                std::str::from_utf8(key.get(12..end)?)
                    .ok()
                    .map(str::to_owned)
            });
            prepared.append_rank = Some(tack_protocol::rank::after(last_rank.as_deref()));
        }
        Op::DeleteIssue { id } => {
            for entry in trees.get(T::CommentsByIssue).scan_prefix(keys::id(*id)) {
                let (key, _) = entry.map_err(store_err)?;
                if let Some(comment) = keys::trailing_id(&key) {
                    prepared.comment_ids.push(comment);
                }
            }
        }
        _ => {}
    }
    Ok(prepared)
}

fn flusher_loop(
    db: sled::Db,
    batches: std::sync::mpsc::Receiver<Vec<Applied>>,
    listener: Arc<RwLock<Option<CommitListener>>>,
    durable_seq: Arc<AtomicU64>,
) {
    while let Ok(first) = batches.recv() {
        let mut pending = vec![first];
        while let Ok(more) = batches.try_recv() {
            pending.push(more);
        }
        let flushed = db.flush().map(|_| ()).map_err(|e| e.to_string());
        for batch in pending {
            finish(batch, &flushed, &listener, &durable_seq);
        }
    }
}

fn finish(
    batch: Vec<Applied>,
    flushed: &Result<(), String>,
    listener: &RwLock<Option<CommitListener>>,
    durable_seq: &AtomicU64,
) {
    if let Err(err) = flushed {
        tracing::error!(error = %err, "flush failed; writes not acknowledged");
        for applied in batch {
            let _ = applied.ack.send(Err(WriteError::Store(format!(
                "the disk did not accept the write: {err}"
            ))));
        }
        return;
    }
    let listener = listener.read().unwrap_or_else(PoisonError::into_inner);
    for applied in batch {
        if let Some(last) = applied.events.last() {
            durable_seq.fetch_max(last.seq, Ordering::AcqRel);
        }
        if let Some(listener) = listener.as_ref() {
            listener(&applied.events);
        }
        let _ = applied.ack.send(Ok(applied.events));
    }
}
