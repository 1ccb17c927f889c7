//! Asynchronous runs: the execution is stored `pending` and a durable job is queued; any
//! node's worker starts it when a concurrency slot is free (it stays `pending` meanwhile, and
//! a cancellation before then is final).

use super::{ExecutionService, ExecutionServiceError, RunRequest, Start};
use domain::execution::{Execution, ExecutionStatus, NewExecution, Outcome};
use domain::jobs::{Job, JobQueue, QueuedRun};
use domain::repository::RepoError;
use domain::{Actor, ExecutionId, Permission, ScriptId, TenantId};
use std::time::Duration;

/// How long a queued run waits for a slot before it gives the worker back and is queued again.
const SLOT_WAIT: Duration = Duration::from_secs(1);

impl ExecutionService {
    /// Stores a pending execution of the script and queues its run; the execution.
    pub async fn enqueue(
        &self,
        actor: &Actor,
        script_id: ScriptId,
        request: RunRequest,
        queue: &dyn JobQueue,
    ) -> Result<Execution, ExecutionServiceError> {
        actor.require(Permission::ScriptsExecute)?;
        let script = self
            .scripts
            .get(actor.tenant_id, script_id)
            .await?
            .ok_or(ExecutionServiceError::ScriptNotFound)?;
        self.enqueue_unattended(&script, request, queue).await
    }

    /// As `enqueue`, for a run a trigger started (a cron tick): no actor to check.
    pub async fn enqueue_unattended(
        &self,
        script: &domain::script::Script,
        request: RunRequest,
        queue: &dyn JobQueue,
    ) -> Result<Execution, ExecutionServiceError> {
        let mut execution = self.pending_run(script, request);
        self.executions.insert(&execution).await?;
        let job = Job::Run(QueuedRun {
            execution_id: execution.id,
            tenant_id: execution.tenant_id,
        });
        if let Err(error) = queue.push(job, Duration::ZERO).await {
            tracing::error!(%error, "a run could not be queued");
            let error = super::plain_error("INTERNAL", "the run could not be queued".into());
            let _ = execution.finish(Outcome::Failed(error), self.clock.now());
            match self.executions.update(&execution).await {
                Ok(()) => {}
                // The database went away between the insert and the push: the run is
                // refused, and its stored `pending` record is failed once the database is
                // back, so that no run waits for a job that does not exist.
                Err(unavailable @ RepoError::Unavailable(_)) => {
                    self.store_when_back(execution, true, None);
                    return Err(unavailable.into());
                }
                Err(other) => return Err(other.into()),
            }
        }
        Ok(execution)
    }

    /// The `pending` execution of a run of `script` about to be queued (not stored yet: the
    /// scheduler stores a batch of them with their ticks).
    pub fn pending_run(&self, script: &domain::script::Script, request: RunRequest) -> Execution {
        let new = NewExecution {
            tenant_id: script.tenant_id,
            script_id: script.id,
            script_version: script.version,
            trigger: request.trigger,
            input: request.input,
            attempt: request.attempt,
        };
        Execution::pending(new, self.clock.now())
    }

    /// Runs a queued execution of `script` in a slot taken with `reserve`, unless it is no
    /// longer pending in storage (then `None`).
    pub async fn run_queued_reserved(
        &self,
        script: &domain::script::Script,
        execution: Execution,
        reservation: runtime::Reservation,
    ) -> Result<Option<Execution>, ExecutionServiceError> {
        let request = RunRequest {
            trigger: execution.trigger.clone(),
            input: execution.input.clone(),
            argument: None,
            attempt: execution.attempt,
            event_depth: 0,
        };
        let user = request.trigger.details.user_id;
        let start = Start {
            execution,
            stored: true,
            record: true,
        };
        match self
            .carry_out(start, user, script, request, Some(reservation))
            .await
        {
            Ok(ran) => Ok(Some(ran.execution)),
            Err(ExecutionServiceError::AlreadyStarted) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Runs a queued execution, unless it is no longer pending (cancelled, or run already by a
    /// redelivered job). `Busy` when no slot came free: it stays pending, to be queued again.
    pub async fn run_queued(
        &self,
        tenant: TenantId,
        id: ExecutionId,
    ) -> Result<Option<Execution>, ExecutionServiceError> {
        self.run_queued_within(tenant, id, SLOT_WAIT).await
    }

    /// As `run_queued`, waiting at most `wait` for a slot (zero: only if one is free now).
    pub async fn run_queued_within(
        &self,
        tenant: TenantId,
        id: ExecutionId,
        wait: Duration,
    ) -> Result<Option<Execution>, ExecutionServiceError> {
        let Some(mut execution) = self.executions.get(tenant, id).await? else {
            return Ok(None);
        };
        if execution.status == ExecutionStatus::Running {
            self.reclaim_lost(&mut execution).await?;
        }
        if execution.status != ExecutionStatus::Pending {
            return Ok(None);
        }
        let Some(script) = self.scripts.get(tenant, execution.script_id).await? else {
            let error = super::plain_error("SCRIPT_NOT_FOUND", "the script was deleted".into());
            let _ = execution.finish(Outcome::Failed(error), self.clock.now());
            self.executions.update(&execution).await?;
            return Ok(Some(execution));
        };
        let reservation = self.reserve(&script, wait).await?;
        self.run_queued_reserved(&script, execution, reservation)
            .await
    }
}
