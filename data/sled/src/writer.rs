//! The write path: one writer thread applies writes in order into a staging overlay and commits
//! each batch of them in one sled transaction, then hands the batch to a flusher thread, which
//! makes everything committed since its last flush durable with one `flush` (group commit),
//! tells the commit listener, and only then acknowledges. While the flusher waits for the disk,
//! the writer goes on with the next batch.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;

use sled::Transactional;
use tack_protocol::Event;
use tokio::sync::{mpsc, oneshot};

use crate::BackupInfo;
use crate::StoreHealth;
use crate::backup;
use crate::durable_mark::DurableMark;
use crate::health::{DiskReserve, HealthState};
use crate::staging::Tx;
use crate::trees::Trees;
use crate::write_tx::{Counters, SledWriteTx};
use crate::{CommitListener, StoreError, Ticket, Write, WriteError, plan};

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

/// What keeps writes honest: the disk reserve checked before each batch, the store's health,
/// and the mark of the last durable sequence written after each flush.
pub(crate) struct Guards {
    pub reserve: DiskReserve,
    pub health: HealthState,
    pub mark: Option<DurableMark>,
}

impl Writer {
    pub fn start(
        db: sled::Db,
        trees: Arc<Trees>,
        counters: Counters,
        group_commit: bool,
        guards: Guards,
    ) -> std::io::Result<Writer> {
        let Guards {
            reserve,
            health,
            mark,
        } = guards;
        let mark = Arc::new(mark);
        let (commands, rx) = mpsc::unbounded_channel();
        let listener: Arc<RwLock<Option<CommitListener>>> = Arc::new(RwLock::new(None));
        let durable_seq = Arc::new(AtomicU64::new(counters.last_seq));
        let (flush_tx, flush_rx) = std::sync::mpsc::channel::<Vec<Applied>>();
        let done = Done {
            listener: listener.clone(),
            durable_seq: durable_seq.clone(),
            health: health.clone(),
            mark,
        };
        let flusher = {
            let (db, done) = (db.clone(), done.clone());
            std::thread::Builder::new()
                .name("tack-flusher".into())
                .spawn(move || flusher_loop(db, flush_rx, done))?
        };
        let writer = {
            std::thread::Builder::new()
                .name("tack-writer".into())
                .spawn(move || {
                    let sink = if group_commit {
                        Sink::Group(flush_tx)
                    } else {
                        drop(flush_tx);
                        Sink::PerWrite {
                            db: db.clone(),
                            done: done.clone(),
                        }
                    };
                    let gate = Gate {
                        reserve,
                        health: done.health.clone(),
                    };
                    writer_loop(trees, counters, rx, sink, gate)
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
        let (tx, ticket) = Ticket::pending();
        if self
            .commands
            .send(Command::Write(Box::new(write), tx))
            .is_err()
        {
            return Ticket::refused(WriteError::ShuttingDown);
        }
        ticket
    }

    pub fn backup(&self, path: PathBuf) -> Ticket<BackupInfo> {
        let (tx, ticket) = Ticket::pending();
        if self.commands.send(Command::Backup(path, tx)).is_err() {
            return Ticket::refused(WriteError::ShuttingDown);
        }
        ticket
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
        done: Done,
    },
}

/// What a flushed batch goes through before it is acknowledged.
#[derive(Clone)]
struct Done {
    listener: Arc<RwLock<Option<CommitListener>>>,
    durable_seq: Arc<AtomicU64>,
    health: HealthState,
    mark: Arc<Option<DurableMark>>,
}

/// Decides, before a batch, whether the store may take writes at all.
struct Gate {
    reserve: DiskReserve,
    health: HealthState,
}

impl Gate {
    /// Why writes are refused now, if they are.
    fn closed(&self) -> Option<WriteError> {
        if let StoreHealth::Failed(reason) = self.health.get() {
            return Some(WriteError::Unavailable(reason));
        }
        let short = self.reserve.short();
        self.health.set_low_disk(short.clone());
        short.map(WriteError::Unavailable)
    }
}

fn writer_loop(
    trees: Arc<Trees>,
    mut counters: Counters,
    mut rx: mpsc::UnboundedReceiver<Command>,
    sink: Sink,
    gate: Gate,
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
        // Refused up front, before anything is staged: a refused write is never visible.
        let closed = gate.closed();
        let mut batch = Batch::new(&trees, counters);
        for command in commands {
            match (command, &closed) {
                (Command::Write(_, ack), Some(refusal)) => drop(ack.send(Err(refusal.clone()))),
                (Command::Backup(_, ack), Some(refusal)) => drop(ack.send(Err(refusal.clone()))),
                (Command::Write(write, ack), None) => batch.apply(*write, ack),
                (Command::Backup(path, ack), None) => {
                    // Commit what is staged, then snapshot between two writes on the only thread
                    // that writes: the backup is consistent.
                    counters = batch.commit(&sink, &gate.health);
                    let result = backup::write_backup(&trees, &path).map_err(WriteError::from);
                    let _ = ack.send(result);
                    batch = Batch::new(&trees, counters);
                }
                (Command::Shutdown, _) => stopping = true,
            }
        }
        counters = batch.commit(&sink, &gate.health);
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

/// The writes applied since the last commit: staged changes, and who is waiting for them.
struct Batch<'a> {
    tx: Tx<'a>,
    trees: &'a Trees,
    before: Counters,
    counters: Counters,
    applied: Vec<Applied>,
}

impl<'a> Batch<'a> {
    fn new(trees: &'a Trees, counters: Counters) -> Self {
        Batch {
            tx: Tx::new(trees),
            trees,
            before: counters,
            counters,
            applied: Vec::new(),
        }
    }

    fn apply(&mut self, write: Write, ack: Ack<Vec<Event>>) {
        let mut counters = self.counters;
        let result = plan::apply(&mut SledWriteTx::new(&self.tx, &mut counters), &write)
            .and_then(|events| counters.save(&self.tx).map(|()| events));
        match result {
            Ok(events) => {
                self.tx.keep_write();
                self.counters = counters;
                self.applied.push(Applied { events, ack });
            }
            Err(err) => {
                self.tx.drop_write();
                let _ = ack.send(Err(err));
            }
        }
    }

    /// Writes everything staged in one transaction and hands the writes to the sink, which
    /// acknowledges them once they are durable. Returns the counters now in force.
    fn commit(self, sink: &Sink, health: &HealthState) -> Counters {
        let Batch {
            tx,
            trees,
            before,
            counters,
            applied,
        } = self;
        if applied.is_empty() {
            return before;
        }
        let changes = tx.into_changes();
        let result = trees.all.as_slice().transaction(|view| {
            for (tree, key, value) in &changes {
                match value {
                    Some(value) => view[*tree].insert(key.as_slice(), value.as_slice())?,
                    None => view[*tree].remove(key.as_slice())?,
                };
            }
            Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
        });
        if let Err(err) = result {
            tracing::error!(error = ?err, writes = applied.len(), "store commit failed");
            health.fail(format!("the store could not commit a change: {err:?}"));
            for write in applied {
                let _ = write.ack.send(Err(StoreError::Engine(format!(
                    "the store could not save the change: {err:?}"
                ))
                .into()));
            }
            return before;
        }
        match sink {
            Sink::Group(flusher) => {
                if let Err(std::sync::mpsc::SendError(applied)) = flusher.send(applied) {
                    for write in applied {
                        let _ = write.ack.send(Err(WriteError::ShuttingDown));
                    }
                }
            }
            Sink::PerWrite { db, done } => {
                let flushed = flush(db, &done.health);
                finish(vec![applied], &flushed, done);
            }
        }
        counters
    }
}

fn flusher_loop(db: sled::Db, batches: std::sync::mpsc::Receiver<Vec<Applied>>, done: Done) {
    while let Ok(first) = batches.recv() {
        let mut pending = vec![first];
        while let Ok(more) = batches.try_recv() {
            pending.push(more);
        }
        let flushed = flush(&db, &done.health);
        finish(pending, &flushed, &done);
    }
}

/// One flush, watched: the watchdog fails the store if it does not return, and an error fails
/// it at once (sled keeps an I/O error for good).
fn flush(db: &sled::Db, health: &HealthState) -> Result<(), String> {
    health.flush_started();
    let flushed = db.flush().map(|_| ()).map_err(|e| e.to_string());
    health.flush_ended();
    if let Err(err) = &flushed {
        health.fail(format!(
            "the disk refused a write ({err}); restart tack once the disk is fixed"
        ));
    }
    flushed
}

fn finish(batches: Vec<Vec<Applied>>, flushed: &Result<(), String>, done: &Done) {
    if let Err(err) = flushed {
        tracing::error!(error = %err, "flush failed; writes not acknowledged");
        for applied in batches.into_iter().flatten() {
            let _ = applied.ack.send(Err(StoreError::Engine(format!(
                "the disk did not accept the write: {err}"
            ))
            .into()));
        }
        return;
    }
    let newest = batches
        .iter()
        .flatten()
        .filter_map(|a| a.events.last().map(|e| e.seq))
        .max();
    if let (Some(newest), Some(mark)) = (newest, done.mark.as_ref())
        && let Err(err) = mark.write(newest)
    {
        tracing::warn!(error = %err, "cannot record the last durable sequence beside the store");
    }
    let listener = done.listener.read().unwrap_or_else(PoisonError::into_inner);
    for applied in batches.into_iter().flatten() {
        if let Some(last) = applied.events.last() {
            done.durable_seq.fetch_max(last.seq, Ordering::AcqRel);
        }
        if let Some(listener) = listener.as_ref() {
            listener(&applied.events);
        }
        let _ = applied.ack.send(Ok(applied.events));
    }
}
