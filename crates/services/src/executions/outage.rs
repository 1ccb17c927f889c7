//! A run that ended while the database was unreachable: its outcome is known, only storing it
//! is left. The caller gets its answer at once, and the record is written in the background
//! as soon as the database answers again (retried with a growing pause, for up to ten
//! minutes). If the process stops first, the run stays `running` in storage and is failed as
//! `ABANDONED` once this node's lease expires, as for any run of a dead node.

use super::ExecutionService;
use domain::execution::Execution;
use domain::repository::{ExecutionRepository, RepoError};
use std::sync::Arc;
use std::time::Duration;

/// The first pause before storing again, and the longest.
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const LONGEST_PAUSE: Duration = Duration::from_secs(5);
/// Attempts before giving up: about ten minutes at the longest pause.
const ATTEMPTS: u32 = 125;

impl ExecutionService {
    /// Stores `execution`'s final record once the database is back, in the background: an
    /// update of its record, or its first write when it was never stored (`in_storage`).
    /// The run stays held (`hold`) until then.
    pub(super) fn store_when_back(
        &self,
        execution: Execution,
        in_storage: bool,
        hold: Option<super::lost::Hold>,
    ) {
        tracing::warn!(execution = %execution.id, "the database is unavailable: the execution's record is stored once it is back");
        store_in_background(
            self.executions.clone(),
            execution,
            in_storage,
            hold,
            FIRST_PAUSE,
        );
    }
}

/// Stores `execution`'s final record in a task of its own, after `first_pause` and again
/// after growing pauses while the store fails, for up to about ten minutes.
pub(super) fn store_in_background(
    executions: Arc<dyn ExecutionRepository>,
    execution: Execution,
    in_storage: bool,
    hold: Option<super::lost::Hold>,
    first_pause: Duration,
) {
    tokio::spawn(async move {
        let _hold = hold;
        let mut pause = first_pause;
        for _ in 0..ATTEMPTS {
            tokio::time::sleep(pause).await;
            pause = pause.max(FIRST_PAUSE);
            let stored = if in_storage {
                executions.update(&execution).await
            } else {
                match executions.insert(&execution).await {
                    // A first write that failed for want of the database may have been
                    // stored all the same: then the record is there to update.
                    Err(refused) if !matches!(refused, RepoError::Unavailable(_)) => {
                        match executions.update(&execution).await {
                            Err(RepoError::Stale) => Err(refused),
                            other => other,
                        }
                    }
                    other => other,
                }
            };
            match stored {
                Ok(()) => {
                    tracing::info!(execution = %execution.id, "the execution's record was stored in the background");
                    return;
                }
                Err(RepoError::Stale) => {
                    tracing::warn!(execution = %execution.id, "execution was finalised elsewhere");
                    return;
                }
                // Out of reach, or any other failure of the store while it recovers:
                // try again later.
                Err(error) => {
                    tracing::debug!(execution = %execution.id, %error, "the execution's record is not stored yet");
                    pause = (pause * 2).min(LONGEST_PAUSE);
                }
            }
        }
        tracing::error!(execution = %execution.id, "the database did not come back: the execution's record is lost");
    });
}
