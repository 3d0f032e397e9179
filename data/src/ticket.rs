//! The write queue's answers: a ticket per submitted write that resolves once the write is
//! durable or refused, and the listener that sees every committed event first.

use tack_protocol::Event;
use tokio::sync::oneshot;

use crate::WriteError;

/// Sees every committed event, in commit order, before the write is acknowledged.
pub type CommitListener = Box<dyn Fn(&[Event]) + Send + Sync>;

/// Resolves when the store has finished with a submitted command.
pub struct Ticket<T>(oneshot::Receiver<Result<T, WriteError>>);

impl<T> Ticket<T> {
    pub async fn wait(self) -> Result<T, WriteError> {
        self.0.await.unwrap_or(Err(WriteError::ShuttingDown))
    }

    /// A ticket and the sender that resolves it.
    pub fn pending() -> (oneshot::Sender<Result<T, WriteError>>, Self) {
        let (tx, rx) = oneshot::channel();
        (tx, Ticket(rx))
    }

    pub fn refused(err: WriteError) -> Self {
        let (tx, rx) = oneshot::channel();
        let _ = tx.send(Err(err));
        Ticket(rx)
    }
}
