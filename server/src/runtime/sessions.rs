//! Every live SSH session and protocol connection, for the console's Sessions view: who, from
//! where, since when, bytes each way, and a way to end it.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use tack_protocol::{SessionInfo, SessionKind, Timestamp};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::sync::CancellationToken;

#[derive(Default)]
pub struct SessionRegistry {
    next_id: AtomicU64,
    live: Mutex<HashMap<u64, Arc<SessionEntry>>>,
}

pub struct SessionEntry {
    pub id: u64,
    kind: SessionKind,
    peer: String,
    since: Timestamp,
    who: Mutex<String>,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    kicked: CancellationToken,
}

impl SessionEntry {
    pub fn set_who(&self, who: impl Into<String>) {
        *self.who.lock().unwrap_or_else(PoisonError::into_inner) = who.into();
    }

    /// Resolves when an admin ends this session.
    pub fn kicked(&self) -> &CancellationToken {
        &self.kicked
    }

    fn info(&self) -> SessionInfo {
        SessionInfo {
            id: self.id,
            kind: self.kind,
            who: self
                .who
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            peer: self.peer.clone(),
            since: self.since,
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
        }
    }
}

/// Removes its session from the registry when the connection ends, however it ends.
pub struct SessionGuard {
    registry: Arc<SessionRegistry>,
    pub entry: Arc<SessionEntry>,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.registry
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.entry.id);
    }
}

impl SessionRegistry {
    pub fn open(self: &Arc<Self>, kind: SessionKind, peer: String, who: &str) -> SessionGuard {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let entry = Arc::new(SessionEntry {
            id,
            kind,
            peer,
            since: crate::service::now_ms(),
            who: Mutex::new(who.to_string()),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            kicked: CancellationToken::new(),
        });
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, entry.clone());
        SessionGuard {
            registry: self.clone(),
            entry,
        }
    }

    pub fn list(&self) -> Vec<SessionInfo> {
        let mut all: Vec<SessionInfo> = self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|e| e.info())
            .collect();
        all.sort_by_key(|s| s.id);
        all
    }

    pub fn count(&self, kind: SessionKind) -> usize {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|e| e.kind == kind)
            .count()
    }

    /// Ends a session; false when there is no such session.
    pub fn kick(&self, id: u64) -> bool {
        match self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            Some(entry) => {
                entry.kicked.cancel();
                true
            }
            None => false,
        }
    }
}

/// A byte stream that counts what crosses it into its session's entry.
pub struct Counted<S> {
    inner: S,
    entry: Option<Arc<SessionEntry>>,
}

impl<S> Counted<S> {
    /// Counts into `entry`; with none, passes bytes through uncounted.
    pub fn new(inner: S, entry: Option<Arc<SessionEntry>>) -> Self {
        Counted { inner, entry }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len().saturating_sub(before);
        if let Some(entry) = &self.entry {
            entry.bytes_in.fetch_add(read as u64, Ordering::Relaxed);
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let (Poll::Ready(Ok(n)), Some(entry)) = (&poll, &self.entry) {
            entry.bytes_out.fetch_add(*n as u64, Ordering::Relaxed);
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_session_is_listed_counted_kicked_and_gone_when_dropped() {
        let registry = Arc::new(SessionRegistry::default());
        let guard = registry.open(SessionKind::Protocol, "127.0.0.1:5".into(), "(handshake)");
        guard.entry.set_who("@alice");
        let (a, mut b) = tokio::io::duplex(64);
        let mut counted = Counted::new(a, Some(guard.entry.clone()));
        counted.write_all(b"hello").await.unwrap();
        b.write_all(b"hi").await.unwrap();
        let mut buf = [0u8; 2];
        counted.read_exact(&mut buf).await.unwrap();
        let listed = registry.list();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].who, "@alice");
        assert_eq!((listed[0].bytes_in, listed[0].bytes_out), (2, 5));
        assert!(registry.kick(listed[0].id));
        assert!(guard.entry.kicked().is_cancelled());
        assert!(!registry.kick(999));
        drop(guard);
        assert!(registry.list().is_empty());
    }
}
