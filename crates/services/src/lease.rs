//! This node's lease: a heartbeat in the shared database every `heartbeat`; with it, the
//! runs of nodes whose lease expired (they died) are failed as `ABANDONED` — never those of a
//! live node — the starts this node stored without knowing are settled, and a cancellation
//! stored by another node reaches a run going on here.

use crate::clock::Clock;
use crate::executions::ExecutionService;
use domain::repository::{NodeRepository, RepoError};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

pub struct NodeLease {
    node: String,
    nodes: Arc<dyn NodeRepository>,
    executions: Arc<ExecutionService>,
    clock: Arc<dyn Clock>,
    heartbeat: Duration,
}

impl NodeLease {
    pub fn new(
        node: String,
        nodes: Arc<dyn NodeRepository>,
        executions: Arc<ExecutionService>,
        clock: Arc<dyn Clock>,
        heartbeat: Duration,
    ) -> Self {
        Self {
            node,
            nodes,
            executions,
            clock,
            heartbeat,
        }
    }

    /// How long a lease lasts without a heartbeat: three beats.
    pub fn lease(&self) -> Duration {
        self.heartbeat.saturating_mul(3)
    }

    /// Renews the lease, fails the runs of expired nodes, and passes on cancellations.
    pub async fn beat(&self) -> Result<u64, RepoError> {
        let now = self.clock.now();
        self.nodes.heartbeat(&self.node, now).await?;
        let lease = chrono::Duration::from_std(self.lease()).unwrap_or(chrono::Duration::MAX);
        let live_since = now.checked_sub_signed(lease).unwrap_or(now);
        let abandoned = self
            .executions
            .recover_abandoned(live_since)
            .await
            .map_err(|e| RepoError::Storage(e.to_string()))?;
        // Starts of this node's own that it stored without knowing (`executions/lost.rs`).
        let lost = self
            .executions
            .settle_lost()
            .await
            .map_err(|e| RepoError::Storage(e.to_string()))?;
        self.nodes.forget_expired(live_since).await?;
        self.executions
            .follow_cancels(&self.node, live_since)
            .await
            .map_err(|e| RepoError::Storage(e.to_string()))?;
        Ok(abandoned + lost)
    }

    /// Beats until the task is aborted.
    pub fn spawn(self: Arc<Self>) -> JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                match self.beat().await {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(
                        executions = n,
                        "runs of a node that stopped were failed as abandoned"
                    ),
                    Err(error) => tracing::warn!(%error, "the node lease could not be renewed"),
                }
                tokio::time::sleep(self.heartbeat.min(Duration::from_secs(1))).await;
            }
        })
    }

    /// Ends the lease (a clean stop): this node's unfinished runs are then anyone's to fail.
    pub async fn leave(&self) {
        if let Err(error) = self.nodes.leave(&self.node).await {
            tracing::warn!(%error, "the node lease could not be ended");
        }
    }
}
