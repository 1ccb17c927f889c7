//! A node's drain: once it starts (the process was asked to stop), the node takes no new
//! work — its loops stop between passes, its job workers stop taking jobs, and the web layer
//! refuses new runs — while the runs already going get a bounded time to finish.

use std::sync::Arc;
use tokio::sync::watch;

/// Shared by everything that takes work on this node; cloning shares the one state.
#[derive(Clone, Debug)]
pub struct Drain {
    state: Arc<watch::Sender<bool>>,
}

impl Default for Drain {
    fn default() -> Self {
        Self::new()
    }
}

impl Drain {
    pub fn new() -> Self {
        Self {
            state: Arc::new(watch::channel(false).0),
        }
    }

    /// Starts draining; every waiter of `started` wakes. Starting twice changes nothing.
    pub fn start(&self) {
        self.state.send_replace(true);
    }

    pub fn is_draining(&self) -> bool {
        *self.state.borrow()
    }

    /// Resolves once the drain has started (at once if it already has).
    pub async fn started(&self) {
        let mut receiver = self.state.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = receiver.wait_for(|draining| *draining).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn waiters_wake_when_the_drain_starts() {
        let drain = Drain::new();
        assert!(!drain.is_draining());
        let waiter = tokio::spawn({
            let drain = drain.clone();
            async move { drain.started().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drain.start();
        tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("the waiter woke")
            .expect("joined");
        assert!(drain.is_draining());
        // A late waiter returns at once.
        tokio::time::timeout(Duration::from_secs(10), drain.started())
            .await
            .expect("returned at once");
    }
}
