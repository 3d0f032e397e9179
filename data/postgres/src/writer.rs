//! The write path: one writer thread per node takes the queued writes in batches. A batch is
//! one transaction: it first locks the counter rows, which every node's writer takes, so the
//! transactions of all nodes commit one after the other and sequence numbers are gap-free in
//! commit order; then the planner applies each write over the staged changes; then the changes
//! and counters are written, pipelined, and COMMIT makes them durable. Only then is the commit
//! listener told and each write acknowledged.

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use deadpool_postgres::Pool;
use tack_data::plan::{self, RecordKey};
use tack_data::record_form::meta;
use tack_data::{StoreError, Ticket, Write, WriteError};
use tack_protocol::Event;
use tokio::runtime::Handle;
use tokio::sync::{MutexGuard, mpsc, oneshot};

use crate::connection::Connection;
use crate::follow::{CHANNEL, Feed};
use crate::health::Health;
use crate::reads::Reads;
use crate::tables::{self, Param, n, u};
use crate::write_tx::{Counters, PgWriteTx, Staged};

type Ack = oneshot::Sender<Result<Vec<Event>, WriteError>>;

enum Command {
    Write(Box<Write>, Ack),
    Shutdown,
}

/// Most writes in one transaction.
const MAX_BATCH: usize = 256;

pub(crate) struct Writer {
    commands: mpsc::UnboundedSender<Command>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// What the writer works with besides its queue.
pub(crate) struct WriterParts {
    pub pool: Pool,
    pub runtime: Handle,
    pub health: Health,
    pub reads: Arc<Reads>,
    pub feed: Arc<Feed>,
}

impl Writer {
    pub fn start(parts: WriterParts) -> std::io::Result<Writer> {
        let (commands, rx) = mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name("tack-pg-writer".into())
            .spawn(move || WriterLoop { parts }.run(rx))?;
        Ok(Writer {
            commands,
            thread: Mutex::new(Some(thread)),
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

    /// Waits until every queued write is committed and acknowledged, then stops the thread.
    pub fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown);
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

struct WriterLoop {
    parts: WriterParts,
}

/// A committed batch's writes, and the feed, held until they are delivered.
type Committed<'a> = (Vec<Applied>, MutexGuard<'a, u64>);

struct Applied {
    events: Vec<Event>,
    ack: Ack,
}

impl WriterLoop {
    fn run(self, mut rx: mpsc::UnboundedReceiver<Command>) {
        let mut stopping = false;
        while !stopping {
            let Some(first) = rx.blocking_recv() else {
                break;
            };
            let mut writes = Vec::new();
            let mut next = Some(first);
            while let Some(command) = next.take() {
                match command {
                    Command::Write(write, ack) => writes.push((*write, ack)),
                    Command::Shutdown => {
                        stopping = true;
                        break;
                    }
                }
                if writes.len() < MAX_BATCH {
                    next = rx.try_recv().ok();
                }
            }
            if !writes.is_empty() {
                self.batch(writes);
            }
        }
        rx.close();
        while let Ok(command) = rx.try_recv() {
            if let Command::Write(_, ack) = command {
                let _ = ack.send(Err(WriteError::ShuttingDown));
            }
        }
    }

    /// Applies and commits one batch; every write in it is answered.
    fn batch(&self, writes: Vec<(Write, Ack)>) {
        let WriterParts {
            pool,
            runtime,
            health,
            ..
        } = &self.parts;
        let client = match runtime.block_on(pool.get()) {
            Ok(client) => client,
            Err(err) => {
                let reason = crate::unreachable(&err.to_string());
                health.lost(&reason);
                for (_, ack) in writes {
                    let _ = ack.send(Err(WriteError::Unavailable(reason.clone())));
                }
                return;
            }
        };
        let db = Connection::new(&client, runtime);
        match self.commit(&db, writes) {
            Ok((applied, mut delivered)) => {
                health.reached();
                self.acknowledge(applied, &mut delivered);
            }
            Err((err, acks)) => {
                if !db.failed() || db.simple("ROLLBACK").is_ok() {
                    tracing::warn!(error = %err, writes = acks.len(), "a batch of writes was not committed");
                } else {
                    tracing::warn!(error = %err, writes = acks.len(), "a batch of writes was lost with its connection");
                }
                let reason = err.to_string();
                if matches!(err, StoreError::Unavailable(_)) {
                    health.lost(&reason);
                }
                for ack in acks {
                    let _ = ack.send(Err(WriteError::Unavailable(reason.clone())));
                }
            }
        }
    }

    /// The whole transaction. On failure nothing of it is committed and the acks are handed back.
    /// Committed, it hands back the feed lock too, taken before COMMIT.
    fn commit(
        &self,
        db: &Connection<'_>,
        writes: Vec<(Write, Ack)>,
    ) -> Result<Committed<'_>, (StoreError, Vec<Ack>)> {
        let mut applied = Vec::new();
        let mut pending_acks = Vec::new();
        let fail = |err: StoreError, applied: Vec<Applied>, rest: Vec<Ack>| {
            let mut acks: Vec<Ack> = applied.into_iter().map(|a| a.ack).collect();
            acks.extend(rest);
            Err((err, acks))
        };
        let before = match lock_counters(db) {
            Ok(counters) => counters,
            Err(err) => return fail(err, applied, writes.into_iter().map(|(_, a)| a).collect()),
        };
        let mut counters = before;
        let mut staged = Staged::default();
        let mut writes = writes.into_iter();
        for (write, ack) in writes.by_ref() {
            let mut attempt = counters;
            let result = plan::apply(
                &mut PgWriteTx {
                    db,
                    staged: &mut staged,
                    counters: &mut attempt,
                },
                &write,
            );
            if db.failed() {
                // The transaction is aborted: every write of the batch fails with it.
                pending_acks.push(ack);
                let err = match result {
                    Err(WriteError::Store(err)) => {
                        StoreError::Unavailable(format!("the database failed a write: {err}"))
                    }
                    _ => StoreError::Unavailable("the database failed a write".into()),
                };
                pending_acks.extend(writes.map(|(_, a)| a));
                return fail(err, applied, pending_acks);
            }
            match result {
                Ok(events) => {
                    staged.keep_write();
                    counters = attempt;
                    applied.push(Applied { events, ack });
                }
                Err(err) => {
                    staged.drop_write();
                    let _ = ack.send(Err(err));
                }
            }
        }
        if applied.is_empty() {
            return match db.simple("ROLLBACK") {
                Ok(()) => Ok((applied, self.parts.feed.lock_blocking())),
                Err(err) => fail(err, applied, Vec::new()),
            };
        }
        let mut statements = statements(staged, &before, &counters);
        // Delivered with the commit: a wake-up for the other nodes.
        statements.push((
            "SELECT pg_notify($1, $2)",
            vec![
                Param::Text(CHANNEL.to_owned()),
                Param::Text(counters.0[meta::COUNTERS.len() - 1].to_string()),
            ],
        ));
        let delivered = self.parts.feed.lock_blocking();
        if let Err(err) = db.execute_all_and_commit(&statements) {
            return fail(err, applied, Vec::new());
        }
        Ok((applied, delivered))
    }

    /// Tells the listener, in sequence order, then answers each write. What other nodes
    /// committed before this batch is read back first; if that fails, the follower delivers
    /// both later, and the writes are answered anyway: they are committed.
    fn acknowledge(&self, applied: Vec<Applied>, delivered: &mut u64) {
        let WriterParts {
            runtime,
            reads,
            feed,
            ..
        } = &self.parts;
        let mut in_order = true;
        for write in applied {
            if let Some(first) = write.events.first().map(|e| e.seq)
                && in_order
            {
                if first > *delivered + 1
                    && let Err(err) =
                        runtime.block_on(feed.catch_up(reads, delivered, Some(first - 1)))
                {
                    tracing::warn!(error = %err, "cannot read other nodes' changes before this node's");
                    in_order = false;
                }
                if in_order {
                    feed.deliver(delivered, &write.events);
                }
            }
            let _ = write.ack.send(Ok(write.events));
        }
    }
}

/// Begins the transaction, locks the counter rows for the rest of it, and reads them.
fn lock_counters(db: &Connection<'_>) -> Result<Counters, StoreError> {
    let names: Vec<String> = meta::COUNTERS
        .iter()
        .map(|c| String::from_utf8_lossy(meta::counter_key(*c)).into_owned())
        .collect();
    // Every node's writer locks the same rows in the same order.
    let rows = db.begin_with(
        "SELECT key, value FROM tack_meta WHERE key LIKE 'next_id/%' OR key = 'last_seq' \
         ORDER BY key FOR UPDATE",
        &[],
    )?;
    let mut counters = Counters(meta::COUNTERS.map(meta::counter_start));
    for row in rows {
        let key: String = row.try_get(0).map_err(|e| crate::db_error(&e))?;
        let value: i64 = row.try_get(1).map_err(|e| crate::db_error(&e))?;
        if let Some(at) = names.iter().position(|name| *name == key) {
            counters.0[at] = u(value);
        }
    }
    Ok(counters)
}

/// The statements that write the batch: each staged record or deletion, and the counters
/// that moved.
fn statements(
    staged: Staged,
    before: &Counters,
    after: &Counters,
) -> Vec<(&'static str, Vec<Param>)> {
    let mut out = Vec::new();
    for (key, change) in staged.into_changes() {
        out.push(change_statement(&key, change));
    }
    for (at, counter) in meta::COUNTERS.iter().enumerate() {
        if before.0[at] != after.0[at] {
            let name = String::from_utf8_lossy(meta::counter_key(*counter)).into_owned();
            out.push((
                "INSERT INTO tack_meta (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                vec![Param::Text(name), Param::Id(n(after.0[at]))],
            ));
        }
    }
    out
}

fn change_statement(
    key: &RecordKey,
    change: Option<tack_data::plan::Record>,
) -> (&'static str, Vec<Param>) {
    let table = tables::table(key);
    match change {
        Some(record) => (table.sql().put.as_str(), tables::row_params(&record)),
        None => (table.sql().delete.as_str(), tables::key_params(key)),
    }
}
