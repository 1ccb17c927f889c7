//! Runs a stopping node interrupts: past the drain's grace, every run still going here is
//! stopped. Its record says `INTERRUPTED` (failed), or, for a queued run, goes back to
//! `pending` so that its job, queued again, runs it anew on any node; an event delivery whose
//! run was interrupted is queued again at the same attempt by its handler.

use super::{ExecutionService, ExecutionServiceError, plain_error};
use domain::execution::{Execution, ExecutionStatus, Outcome};
use std::sync::atomic::Ordering;

/// The error code of a run its node interrupted while stopping.
pub const INTERRUPTED: &str = "INTERRUPTED";

/// Whether `execution` ended because its node stopped before it finished.
pub fn was_interrupted(execution: &Execution) -> bool {
    execution.status == ExecutionStatus::Pending
        || execution
            .error
            .as_ref()
            .is_some_and(|error| error.code == INTERRUPTED)
}

impl ExecutionService {
    /// Executions running in this process now.
    pub fn running_here(&self) -> usize {
        self.engine.running()
    }

    /// Stops every run of this process because the node is going away; how many were asked.
    /// From now on a run that ends cancelled is recorded as interrupted.
    pub fn interrupt_all(&self) -> usize {
        self.interrupting.store(true, Ordering::Release);
        self.engine.cancel_all()
    }

    /// The outcome to record: a cancellation while the node interrupts its runs is an
    /// interruption.
    pub(super) fn interrupted(&self, outcome: Outcome) -> Outcome {
        if matches!(outcome, Outcome::Cancelled) && self.interrupting.load(Ordering::Acquire) {
            let message = "the server stopped before the run finished; it runs again";
            return Outcome::Failed(plain_error(INTERRUPTED, message.into()));
        }
        outcome
    }

    /// A queued run that was interrupted goes back to `pending`, as if it had not started.
    pub(super) async fn back_to_pending(
        &self,
        execution: Execution,
    ) -> Result<Execution, ExecutionServiceError> {
        let pending = as_pending(execution);
        self.executions.update(&pending).await?;
        tracing::info!(execution = %pending.id, "interrupted queued run is pending again");
        Ok(pending)
    }
}

/// `execution` as if it had not started: `pending`, without times, outcome or logs.
pub(super) fn as_pending(execution: Execution) -> Execution {
    Execution {
        status: ExecutionStatus::Pending,
        started_at: None,
        completed_at: None,
        duration_ms: None,
        memory_bytes: None,
        output: None,
        error: None,
        logs: Vec::new(),
        ..execution
    }
}
