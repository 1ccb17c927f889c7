//! Starts this node may have stored without knowing it. A write of a run's start (a queued run
//! moved to `running`, or a new run's first record) can reach the database and commit, and
//! still fail here, because the connection broke before the answer came back. The run never
//! started, but its record says `running` on this node, and as the node lives, no lease expiry
//! fails it. So every run this node carries out is *held* from before its start is stored
//! until its final record is; a start whose write failed that way is *noted*; and:
//! - a queued run's job, tried again, that finds its execution `running` here, noted and not
//!   held, puts it back to `pending` and runs it;
//! - past [`LOST_GRACE`], each noted run still `running` on this node and not held is failed
//!   as `ABANDONED` (the node lease's beat calls [`ExecutionService::settle_lost`]).

use super::{ExecutionService, ExecutionServiceError, plain_error};
use chrono::{DateTime, Utc};
use domain::execution::Execution;
use domain::repository::RepoError;
use domain::{ExecutionId, TenantId};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How long a noted start is left to its job's next attempt before it is failed.
const LOST_GRACE: Duration = Duration::from_secs(30);

/// The runs this node carries out, and the starts it may have stored unknowingly.
#[derive(Default)]
pub(super) struct Lost {
    held: Arc<Mutex<HashSet<ExecutionId>>>,
    noted: Mutex<HashMap<ExecutionId, (TenantId, DateTime<Utc>)>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// A run this node carries out; it lets go when dropped (once the final record is stored, or
/// storing it was given up).
pub(super) struct Hold {
    held: Arc<Mutex<HashSet<ExecutionId>>>,
    id: ExecutionId,
}

impl Drop for Hold {
    fn drop(&mut self) {
        lock(&self.held).remove(&self.id);
    }
}

impl ExecutionService {
    /// Holds execution `id` for a run carried out here; `None` when it is held already.
    pub(super) fn hold(&self, id: ExecutionId) -> Option<Hold> {
        let held = &self.lost.held;
        lock(held).insert(id).then(|| Hold {
            held: held.clone(),
            id,
        })
    }

    /// Notes `execution`'s start as possibly stored when writing it failed with `error` for
    /// want of the database (the write may have committed all the same).
    pub(super) fn note_unsure_start(&self, execution: &Execution, error: &RepoError) {
        if matches!(error, RepoError::Unavailable(_)) {
            let entry = (execution.tenant_id, self.clock.now());
            lock(&self.lost.noted).insert(execution.id, entry);
        }
    }

    /// For a queued run found `running`: when that is a start this node noted and does not
    /// hold, it goes back to `pending` in storage and `execution` with it; whether it did.
    pub(super) async fn reclaim_lost(
        &self,
        execution: &mut Execution,
    ) -> Result<bool, ExecutionServiceError> {
        if !lock(&self.lost.noted).contains_key(&execution.id) {
            return Ok(false);
        }
        let Some(_hold) = self.hold(execution.id) else {
            return Ok(false);
        };
        let requeued = self
            .executions
            .requeue_lost(execution.tenant_id, execution.id)
            .await?;
        lock(&self.lost.noted).remove(&execution.id);
        if requeued {
            tracing::warn!(execution = %execution.id, "a start lost in a database outage is run again");
            *execution = super::interrupt::as_pending(execution.clone());
        }
        Ok(requeued)
    }

    /// Fails the noted starts older than [`LOST_GRACE`] that are still `running` on this node
    /// and not held; how many. Those the database cannot be asked about yet stay noted.
    pub async fn settle_lost(&self) -> Result<u64, ExecutionServiceError> {
        let now = self.clock.now();
        let grace = chrono::Duration::from_std(LOST_GRACE).unwrap_or(chrono::Duration::zero());
        let due: Vec<(ExecutionId, TenantId)> = lock(&self.lost.noted)
            .iter()
            .filter(|(_, (_, noted))| *noted + grace <= now)
            .map(|(id, (tenant, _))| (*id, *tenant))
            .collect();
        let message = "the server lost track of this run's start while its database was out of \
                       reach; it did not run";
        let error = plain_error("ABANDONED", message.into());
        let mut failed = 0;
        for (id, tenant) in due {
            let Some(_hold) = self.hold(id) else {
                continue;
            };
            if self.executions.fail_lost(tenant, id, &error, now).await? {
                tracing::warn!(execution = %id, "a start lost in a database outage was failed");
                failed += 1;
            }
            lock(&self.lost.noted).remove(&id);
        }
        Ok(failed)
    }
}
