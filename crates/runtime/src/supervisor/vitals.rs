//! The supervisor's vital signs, kept as it works and read by the health probes: when its
//! janitor last went round (a wedged pool stops it) and whether starting a worker fails.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub(crate) struct Vitals {
    born: Instant,
    /// Milliseconds after `born` of the janitor's last round, plus one; zero means never.
    tended: AtomicU64,
    /// The error of the last attempt to start a worker, if it failed.
    spawn_error: Mutex<Option<String>>,
}

/// How the executor of this process is, as the health probes report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutorHealth {
    /// Executions running now, and how many may run at once in this process.
    pub running: usize,
    pub capacity: usize,
    /// Sandbox worker processes alive.
    pub workers: usize,
    /// Since the supervisor last tended its pool (every half second when it is well); the
    /// time since start if it never did.
    pub since_tended: Duration,
    /// Why the last attempt to start a sandbox worker failed, if it did.
    pub spawn_error: Option<String>,
}

impl Default for Vitals {
    fn default() -> Self {
        Self {
            born: crate::clock::now(),
            tended: AtomicU64::new(0),
            spawn_error: Mutex::new(None),
        }
    }
}

impl Vitals {
    fn stamp(&self) -> u64 {
        let elapsed = crate::clock::now().saturating_duration_since(self.born);
        u64::try_from(elapsed.as_millis())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }

    pub(crate) fn tended(&self) {
        self.tended.store(self.stamp(), Ordering::Release);
    }

    pub(crate) fn since_tended(&self) -> Duration {
        let tended = self.tended.load(Ordering::Acquire).max(1);
        Duration::from_millis(self.stamp().saturating_sub(tended))
    }

    pub(crate) fn spawned<T>(&self, result: &std::io::Result<T>) {
        let mut error = self.spawn_error.lock().unwrap_or_else(|p| p.into_inner());
        *error = result.as_ref().err().map(ToString::to_string);
    }

    pub(crate) fn spawn_error(&self) -> Option<String> {
        self.spawn_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
