//! The server's live state that requests may read but the store does not hold: sessions,
//! metrics, the workers' view of jobs, and the backup settings.

pub mod callers;
pub mod jobs_state;
pub mod metrics;
pub mod sessions;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use callers::LiveCallers;
pub use jobs_state::{BreakerPolicy, JobsState};
use metrics::Metrics;
use sessions::SessionRegistry;

#[derive(Debug, Clone, Default)]
pub struct BackupSettings {
    pub dir: PathBuf,
    pub schedule: Option<String>,
    pub retention: u32,
}

pub struct Runtime {
    pub sessions: Arc<SessionRegistry>,
    /// Protocol connections by identity, so revocations end them.
    pub callers: Arc<LiveCallers>,
    pub metrics: Metrics,
    pub jobs: JobsState,
    pub backup: BackupSettings,
    pub started: Instant,
    /// Whether webhooks may target private addresses (checked when one is created).
    pub allow_private_webhooks: bool,
    /// With `[security] require_totp_for_admins`, an API token never carries server-admin
    /// rights: a token cannot answer a two-factor prompt.
    pub require_totp_for_admins: bool,
    /// The full-text index, once the server has opened it.
    pub search: std::sync::OnceLock<Arc<crate::search_index::SearchIndex>>,
    store_open: AtomicBool,
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new(BackupSettings::default(), false)
    }
}

impl Runtime {
    pub fn new(backup: BackupSettings, allow_private_webhooks: bool) -> Runtime {
        Runtime {
            sessions: Arc::new(SessionRegistry::default()),
            callers: Arc::new(LiveCallers::default()),
            metrics: Metrics::default(),
            jobs: JobsState::default(),
            backup,
            started: Instant::now(),
            allow_private_webhooks,
            require_totp_for_admins: false,
            search: std::sync::OnceLock::new(),
            store_open: AtomicBool::new(true),
        }
    }

    /// Applies `[security] require_totp_for_admins` to API tokens too.
    pub fn with_totp_for_admins(mut self, required: bool) -> Self {
        self.require_totp_for_admins = required;
        self
    }

    pub fn store_open(&self) -> bool {
        self.store_open.load(Ordering::Acquire)
    }

    pub fn set_store_open(&self, open: bool) {
        self.store_open.store(open, Ordering::Release);
    }
}
