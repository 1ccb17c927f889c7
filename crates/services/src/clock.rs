//! The time source of the services, injected so that time-dependent rules can be tested.

use chrono::{DateTime, Utc};
use std::time::Instant;

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Now on the monotonic clock, for durations and expiries (a test clock moves both).
    fn instant(&self) -> Instant {
        Instant::now()
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
