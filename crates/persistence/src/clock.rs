//! The persistence crate's one clock read: the monotonic now that a statement's deadline (set
//! from the bounds the caller gives) is measured against.

use std::time::Instant;

/// Now, on the monotonic clock.
pub(crate) fn now() -> Instant {
    Instant::now()
}
