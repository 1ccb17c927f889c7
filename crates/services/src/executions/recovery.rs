//! What the execution service does for the node rather than for a caller: failing the runs
//! that nodes whose lease expired left unfinished, and passing on cancellations stored by
//! other nodes to the runs going on here.

use super::{ExecutionService, ExecutionServiceError, plain_error};

impl ExecutionService {
    /// Passes cancellations stored since `since` (by any node) on to this node's runs.
    pub async fn follow_cancels(
        &self,
        node: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), ExecutionServiceError> {
        for id in self.executions.cancelled_on(node, since).await? {
            if self.engine.cancel(id) {
                tracing::info!(execution = %id, "run cancelled from another node");
            }
        }
        Ok(())
    }

    /// Fails the unfinished runs of nodes whose lease was not renewed since `live_since`.
    pub async fn recover_abandoned(
        &self,
        live_since: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, ExecutionServiceError> {
        let message = "the server stopped while the execution was running";
        let error = plain_error("ABANDONED", message.into());
        let count = self
            .executions
            .fail_orphaned(&error, self.clock.now(), live_since)
            .await?;
        if count > 0 {
            tracing::warn!(
                count,
                "marked executions left unfinished by a previous run as failed"
            );
        }
        Ok(count)
    }
}
