//! Guards that give back what a run holds however it ends: its entry in the running table,
//! its place on a worker, and — when its caller stops waiting — its slot only once its worker
//! is done with it or killed.

use super::{Engine, RunningTable, lock};
use crate::host::CallScope;
use crate::limiter::Permit;
use crate::supervisor::{Supervisor, WorkerHandle};
use domain::ExecutionId;
use std::sync::Arc;
use std::time::Instant;

/// Removes an execution from the running table when its caller stops waiting.
pub(super) struct Registration {
    pub(super) running: RunningTable,
    pub(super) id: ExecutionId,
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&self.running).remove(&self.id);
    }
}

/// Gives a worker slot back however the run ends, even if its caller stops waiting.
pub(super) struct Placement {
    pub(super) supervisor: Arc<Supervisor>,
    pub(super) worker: Arc<WorkerHandle>,
    pub(super) ran: bool,
}

impl Drop for Placement {
    fn drop(&mut self) {
        self.supervisor.release(&self.worker, self.ran);
    }
}

/// A run whose caller stopped waiting (its future was dropped): the run goes on in its worker,
/// so its slot, its worker place and its host resources stay held until its deadline plus the
/// grace, when the worker is killed if it still holds the run.
pub(super) struct Abandoned {
    pub(super) engine: Engine,
    pub(super) run: u64,
    pub(super) deadline: Instant,
    pub(super) held: Option<(Permit, Placement, CallScope)>,
}

impl Drop for Abandoned {
    fn drop(&mut self) {
        let Some((permit, placement, scope)) = self.held.take() else {
            return;
        };
        let (run, until) = (self.run, self.deadline + self.engine.config.watchdog_grace);
        let host = self.engine.host.clone();
        self.engine.handle.spawn(async move {
            tokio::time::sleep_until(until.into()).await;
            if placement.worker.holds(run) {
                placement.worker.forget(run);
                placement
                    .worker
                    .kill("a run of this tenant did not stop in time and its sandbox was stopped");
            }
            drop((permit, placement));
            host.release(scope).await;
        });
    }
}
