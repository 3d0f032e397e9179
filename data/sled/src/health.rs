//! Whether the store can take writes: the disk's free space against a reserve, and a watchdog
//! on flushes. A store below its reserve refuses writes up front (reads go on) and takes them
//! again by itself once space returns; a flush that fails or never finishes marks the store
//! failed, and a failed store serves nothing more — the process is to be restarted.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tack_data::StoreHealth;

/// Free space on the store's volume, checked before each batch of writes.
pub(crate) struct DiskReserve {
    path: PathBuf,
    /// Writes are refused while the volume has less than this free.
    reserve: u64,
}

impl DiskReserve {
    /// `wanted` bytes, but never more than a tenth of the volume (a small test volume, say).
    pub fn new(path: PathBuf, wanted: u64) -> DiskReserve {
        let total = fs4::total_space(&path).unwrap_or(u64::MAX);
        DiskReserve {
            path,
            reserve: wanted.min(total / 10),
        }
    }

    /// Why writes must wait, if they must.
    pub fn short(&self) -> Option<String> {
        let free = fs4::available_space(&self.path).ok()?;
        (free < self.reserve).then(|| {
            format!(
                "disk full: {} MiB free on the volume of {}, need {} MiB; free some space and writes resume by themselves",
                free / (1024 * 1024),
                self.path.display(),
                self.reserve.div_ceil(1024 * 1024)
            )
        })
    }
}

/// The store's health, shared by the writer, the flusher and the watchdog.
#[derive(Clone)]
pub(crate) struct HealthState {
    inner: Arc<Mutex<Inner>>,
    /// Whether all is well, read without the lock on every read and every batch.
    healthy: Arc<std::sync::atomic::AtomicBool>,
    /// When the flush in progress started (ms since `epoch`), 0 when none runs.
    flushing_since: Arc<AtomicU64>,
    epoch: Instant,
}

struct Inner {
    low_disk: Option<String>,
    failed: Option<String>,
}

impl HealthState {
    pub fn new() -> HealthState {
        HealthState {
            inner: Arc::new(Mutex::new(Inner {
                low_disk: None,
                failed: None,
            })),
            healthy: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            flushing_since: Arc::new(AtomicU64::new(0)),
            epoch: Instant::now(),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn get(&self) -> StoreHealth {
        if self.healthy.load(Ordering::Acquire) {
            return StoreHealth::Ok;
        }
        let inner = self.inner();
        match (&inner.failed, &inner.low_disk) {
            (Some(reason), _) => StoreHealth::Failed(reason.clone()),
            (None, Some(reason)) => StoreHealth::ReadOnly(reason.clone()),
            (None, None) => StoreHealth::Ok,
        }
    }

    pub fn set_low_disk(&self, reason: Option<String>) {
        let mut inner = self.inner();
        if inner.low_disk != reason {
            match &reason {
                Some(reason) => tracing::warn!(%reason, "store writes refused"),
                None => tracing::info!("disk space is back; store writes resume"),
            }
            inner.low_disk = reason;
            self.healthy.store(
                inner.low_disk.is_none() && inner.failed.is_none(),
                Ordering::Release,
            );
        }
    }

    pub fn fail(&self, reason: String) {
        let mut inner = self.inner();
        if inner.failed.is_none() {
            tracing::error!(%reason, "the store failed");
            inner.failed = Some(reason);
            self.healthy.store(false, Ordering::Release);
        }
    }

    pub fn flush_started(&self) {
        let now = self.epoch.elapsed().as_millis() as u64;
        self.flushing_since.store(now.max(1), Ordering::Release);
    }

    pub fn flush_ended(&self) {
        self.flushing_since.store(0, Ordering::Release);
    }

    /// How long the flush in progress has run.
    fn flushing_for(&self) -> Option<Duration> {
        match self.flushing_since.load(Ordering::Acquire) {
            0 => None,
            since => Some(Duration::from_millis(
                (self.epoch.elapsed().as_millis() as u64).saturating_sub(since),
            )),
        }
    }

    /// Watches flushes until the store closes: one that runs past `limit` fails the store.
    pub fn start_watchdog(&self, limit: Duration, closed: Arc<std::sync::atomic::AtomicBool>) {
        let health = self.clone();
        let spawned = std::thread::Builder::new()
            .name("tack-flush-watchdog".into())
            .spawn(move || {
                while !closed.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(250));
                    if let Some(running) = health.flushing_for()
                        && running > limit
                    {
                        health.fail(format!(
                            "a flush to disk has not finished in {} s: the disk is full or failing; restart tack once it is fixed",
                            running.as_secs()
                        ));
                    }
                }
            });
        if let Err(err) = spawned {
            tracing::error!(error = %err, "cannot start the flush watchdog");
        }
    }
}
