//! The in-memory transport: an in-process client (one per SSH session) speaks the very same
//! frames as a remote one, through a pipe instead of a socket.

use tokio::io::DuplexStream;

/// Bytes buffered in each direction before the writer waits for the reader.
const PIPE_CAPACITY: usize = 256 * 1024;

/// Returns `(client_end, server_end)`.
pub fn in_memory_pair() -> (DuplexStream, DuplexStream) {
    tokio::io::duplex(PIPE_CAPACITY)
}
