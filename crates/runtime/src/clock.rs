//! The runtime's time source. The executor's deadlines, timers and report timestamps follow the
//! real clocks, read here and nowhere else in the crate; what decides over longer spans — the
//! per-minute SDK budgets — takes an injected [`Clock`], so that it can be tested without
//! waiting.

use chrono::{DateTime, Utc};
use std::time::Instant;

/// A monotonic time source.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Now, on the monotonic clock: for deadlines and timers.
pub(crate) fn now() -> Instant {
    Instant::now()
}

/// Now, as a timestamp: for reports and log lines.
pub(crate) fn utc() -> DateTime<Utc> {
    Utc::now()
}

/// The CPU time the calling thread has used since it started: a run's computing, apart from
/// its waiting.
pub(crate) fn thread_cpu() -> std::time::Duration {
    let spec = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    std::time::Duration::new(
        u64::try_from(spec.tv_sec).unwrap_or(0),
        u32::try_from(spec.tv_nsec).unwrap_or(0),
    )
}
