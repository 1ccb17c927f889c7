//! A run whose caller stopped waiting: its future dropped before the final record was stored
//! (an HTTP client that disconnected; actix drops the handler). The run goes on in its worker
//! until its deadline (the engine keeps its slot), but its outcome is lost with the future, so
//! its record is finished here, in the background, as failed with `DETACHED` — never left
//! `running` on a node that lives.

use super::lost::Hold;
use super::outage::store_in_background;
use super::{ExecutionService, plain_error};
use crate::clock::Clock;
use domain::execution::{Execution, Outcome};
use domain::repository::ExecutionRepository;
use std::sync::Arc;
use std::time::Duration;

/// The error code of a run whose caller stopped waiting before it ended.
pub const DETACHED: &str = "DETACHED";

/// Armed while a run's record is not final; finishes it if dropped armed.
pub(super) struct Unrecorded {
    executions: Arc<dyn ExecutionRepository>,
    clock: Arc<dyn Clock>,
    armed: Option<(Execution, Hold)>,
    /// Whether the run's record exists (else it is written, not updated).
    pub(super) in_storage: bool,
}

impl ExecutionService {
    /// Guards started `execution`'s record until [`Unrecorded::disarm`] (or gives `hold` back
    /// if it leaves no record).
    pub(super) fn unrecorded(
        &self,
        execution: &Execution,
        hold: Hold,
        record: bool,
        in_storage: bool,
    ) -> Unrecorded {
        Unrecorded {
            executions: self.executions.clone(),
            clock: self.clock.clone(),
            armed: record.then(|| (execution.clone(), hold)),
            in_storage,
        }
    }
}

impl Unrecorded {
    /// The run ended as `execution`: that is the record stored if the caller stops waiting now.
    pub(super) fn ended(&mut self, execution: &Execution) {
        if let Some((snapshot, _)) = &mut self.armed {
            *snapshot = execution.clone();
        }
    }

    /// The record is being made final by the run itself: the hold, to keep until it is.
    pub(super) fn disarm(&mut self) -> Option<Hold> {
        self.armed.take().map(|(_, hold)| hold)
    }
}

impl Drop for Unrecorded {
    fn drop(&mut self) {
        let Some((mut execution, hold)) = self.armed.take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        if !execution.status.is_terminal() {
            let message = "the caller stopped waiting before the run ended (the client went \
                           away); the run went on in its sandbox but its outcome was not recorded";
            let error = plain_error(DETACHED, message.into());
            let _ = execution.finish(Outcome::Failed(error), self.clock.now());
            tracing::warn!(execution = %execution.id, "a run's caller stopped waiting; its record is finished as detached");
        }
        crate::metrics::execution_finished(&execution);
        store_in_background(
            self.executions.clone(),
            execution,
            self.in_storage,
            Some(hold),
            Duration::ZERO,
        );
    }
}
