//! Reading a tenant's execution history, and cancelling an execution: on this node when it
//! runs here, or recorded as cancelled when the node that ran it is gone.

use super::{ExecutionService, ExecutionServiceError};
use domain::execution::{Execution, ExecutionStatus, Outcome};
use domain::paging::{ExecutionFilter, HistoryCursor, Page, PageRequest, Slice};
use domain::repository::RepoError;
use domain::{Actor, ExecutionId, Permission, ScriptId};

impl ExecutionService {
    pub async fn get(
        &self,
        actor: &Actor,
        id: ExecutionId,
    ) -> Result<Execution, ExecutionServiceError> {
        actor.require(Permission::ScriptsRead)?;
        self.executions
            .get(actor.tenant_id, id)
            .await?
            .ok_or(ExecutionServiceError::NotFound)
    }

    pub async fn list(
        &self,
        actor: &Actor,
        script_id: ScriptId,
        status: Option<ExecutionStatus>,
        page: PageRequest,
    ) -> Result<Page<Execution>, ExecutionServiceError> {
        actor.require(Permission::ScriptsRead)?;
        self.scripts
            .get(actor.tenant_id, script_id)
            .await?
            .ok_or(ExecutionServiceError::ScriptNotFound)?;
        Ok(self
            .executions
            .list_for_script(actor.tenant_id, script_id, status, page)
            .await?)
    }

    /// The tenant's executions matching `filter`, newest first, `limit` at a time from
    /// `after` (a keyset page: the tenant is the actor's, never a filter's).
    pub async fn history(
        &self,
        actor: &Actor,
        filter: &ExecutionFilter,
        after: Option<HistoryCursor>,
        limit: u64,
    ) -> Result<Slice<Execution>, ExecutionServiceError> {
        actor.require(Permission::ScriptsRead)?;
        let mut items = self
            .executions
            .history(actor.tenant_id, filter, after, limit.saturating_add(1))
            .await?;
        let next = if items.len() as u64 > limit {
            items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            items.last().map(HistoryCursor::after)
        } else {
            None
        };
        Ok(Slice { items, next })
    }

    /// The latest run of each of `scripts` that has one, by script, in one read.
    pub async fn latest_runs(
        &self,
        actor: &Actor,
        scripts: &[ScriptId],
    ) -> Result<std::collections::HashMap<ScriptId, Execution>, ExecutionServiceError> {
        actor.require(Permission::ScriptsRead)?;
        let latest = self.executions.latest_of(actor.tenant_id, scripts).await?;
        Ok(latest.into_iter().map(|run| (run.script_id, run)).collect())
    }

    /// Stops a running execution. One that is recorded as running but is not running here
    /// (its process died) is marked cancelled.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id, execution = %id))]
    pub async fn cancel(
        &self,
        actor: &Actor,
        id: ExecutionId,
    ) -> Result<Execution, ExecutionServiceError> {
        actor.require(Permission::ScriptsExecute)?;
        let mut execution = self
            .executions
            .get(actor.tenant_id, id)
            .await?
            .ok_or(ExecutionServiceError::NotFound)?;
        if execution.status.is_terminal() {
            return Err(ExecutionServiceError::AlreadyFinished);
        }
        if !self.engine.cancel(id) {
            // Not running here: the process that ran it is gone. Record it as cancelled.
            if execution
                .finish(Outcome::Cancelled, self.clock.now())
                .is_err()
            {
                return Err(ExecutionServiceError::AlreadyFinished);
            }
            match self.executions.update(&execution).await {
                Ok(()) | Err(RepoError::Stale) => {}
                Err(other) => return Err(other.into()),
            }
        }
        Ok(execution)
    }
}
