//! `ExecutionService`: runs scripts in the engine and records every run: its version, trigger,
//! input, output or error, logs, duration and memory. No execution stays `running` after the
//! process that ran it is gone.

mod carry;
mod checks;
mod detached;
mod follow;
mod history;
mod interrupt;
mod lost;
mod outage;
mod queued;
mod recorder;
mod recovery;
mod request;
mod trial;

pub use checks::source_position;
pub use detached::DETACHED;
pub use follow::{FeedEvent, Follow};
pub use interrupt::{INTERRUPTED, was_interrupted};
pub use request::RunRequest;
pub use trial::TestReport;

use crate::clock::Clock;
use crate::live::LiveLogs;
use domain::actor::Forbidden;
use domain::execution::{Execution, ExecutionError, NewExecution};
use domain::repository::{ExecutionRepository, RepoError, ScriptRepository};
use domain::script::Script;
use domain::{Actor, ExecutionId, Permission, ScriptId};
use runtime::{Engine, EngineError, LimitExceeded, Reservation};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ExecutionServiceError {
    #[error("script not found")]
    ScriptNotFound,
    #[error("execution not found")]
    NotFound,
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// Refused by a concurrency limit (process, tenant or script).
    #[error(transparent)]
    Busy(LimitExceeded),
    #[error("the execution has already finished")]
    AlreadyFinished,
    /// A queued run that another node (or task) started first.
    #[error("the execution was started elsewhere")]
    AlreadyStarted,
    #[error("storage failure")]
    Storage(#[source] RepoError),
    #[error("the engine cannot run the script")]
    Engine(#[source] EngineError),
}

impl From<RepoError> for ExecutionServiceError {
    fn from(error: RepoError) -> Self {
        ExecutionServiceError::Storage(error)
    }
}

/// An error of the platform rather than of the script: no position, no stack.
fn plain_error(code: &str, message: String) -> ExecutionError {
    ExecutionError {
        code: code.into(),
        message,
        line: None,
        column: None,
        stack: None,
    }
}

/// Tells an execution's live followers that it ended, when dropped.
struct Finished(Arc<LiveLogs>, ExecutionId);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.finished(self.1);
    }
}

/// How long a run started directly (the execute API, an event delivery, host code) waits for
/// a concurrency slot before it is refused as busy.
const DIRECT_SLOT_WAIT: Duration = Duration::from_millis(500);

/// An execution about to start, and whether its record exists (a queued run) or not yet.
struct Start {
    execution: Execution,
    stored: bool,
    /// `false` for a run that leaves no record (a test run of a script not saved yet).
    record: bool,
}

pub struct ExecutionService {
    scripts: Arc<dyn ScriptRepository>,
    executions: Arc<dyn ExecutionRepository>,
    engine: Engine,
    clock: Arc<dyn Clock>,
    /// Where runs' lines go as they are logged; `None` shows none live.
    live: Option<Arc<LiveLogs>>,
    /// Set when the node stops its runs to go away (`interrupt_all`).
    interrupting: std::sync::atomic::AtomicBool,
    /// Writes the records of runs stored only at their end, together.
    recorder: recorder::Recorder,
    /// The runs carried out here, and starts stored unknowingly (`lost.rs`).
    lost: lost::Lost,
}

impl ExecutionService {
    pub fn new(
        scripts: Arc<dyn ScriptRepository>,
        executions: Arc<dyn ExecutionRepository>,
        engine: Engine,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            scripts,
            recorder: recorder::Recorder::new(executions.clone()),
            executions,
            engine,
            clock,
            live: None,
            interrupting: Default::default(),
            lost: Default::default(),
        }
    }

    /// Shows the lines of runs (but those of HTTP endpoints, the hot path) live through `live`.
    pub fn with_live_logs(mut self, live: Arc<LiveLogs>) -> Self {
        self.live = Some(live);
        self
    }

    /// Runs a script now and waits for the end; the execution is recorded whatever happens.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id, script = %script_id))]
    pub async fn run(
        &self,
        actor: &Actor,
        script_id: ScriptId,
        request: RunRequest,
    ) -> Result<Execution, ExecutionServiceError> {
        actor.require(Permission::ScriptsExecute)?;
        let script = self
            .scripts
            .get(actor.tenant_id, script_id)
            .await?
            .ok_or(ExecutionServiceError::ScriptNotFound)?;
        self.run_script(actor.user_id, &script, request, None, true)
            .await
            .map(|ran| ran.execution)
    }

    /// Runs a script that a trigger fired (no one asked for it: there is no actor to check),
    /// and waits for the end; the execution is recorded whatever happens.
    #[tracing::instrument(skip_all, fields(tenant = %script.tenant_id, script = %script.id))]
    pub async fn run_unattended(
        &self,
        script: &Script,
        request: RunRequest,
    ) -> Result<Execution, ExecutionServiceError> {
        self.run_script(None, script, request, None, true)
            .await
            .map(|ran| ran.execution)
    }

    /// Takes a concurrency slot for a run of `script`, waiting up to `wait` for one; a refusal
    /// stores nothing. (No slot now is not yet a refusal: a queued run waits its turn, an
    /// endpoint request waits in its tenant's queue; the caller counts the refusals it makes.)
    pub async fn reserve(
        &self,
        script: &Script,
        wait: Duration,
    ) -> Result<Reservation, ExecutionServiceError> {
        let max_runs = script.spec.limits.max_concurrent_runs;
        self.engine
            .reserve(script.tenant_id, script.id, max_runs, wait)
            .await
            .map_err(ExecutionServiceError::Busy)
    }

    /// As `run_unattended`, in a slot taken with `reserve`; the user is the trigger's.
    #[tracing::instrument(skip_all, fields(tenant = %script.tenant_id, script = %script.id))]
    pub async fn run_reserved(
        &self,
        script: &Script,
        request: RunRequest,
        reservation: Reservation,
    ) -> Result<Execution, ExecutionServiceError> {
        let user = request.trigger.details.user_id;
        self.run_script(user, script, request, Some(reservation), true)
            .await
            .map(|ran| ran.execution)
    }

    /// Whether a run of the script is going on or waiting to start, on any node.
    pub async fn is_running(
        &self,
        tenant: domain::TenantId,
        script: ScriptId,
    ) -> Result<bool, ExecutionServiceError> {
        Ok(self.executions.has_unfinished(tenant, script).await?)
    }

    /// Runs going on in this process, and the most it runs at once.
    pub fn executor_load(&self) -> (usize, usize) {
        let capacity = self.engine.config().max_concurrent_executions;
        (self.engine.running(), capacity)
    }

    /// Which of the scripts (a scheduler's batch, of any tenants) have a run going on or
    /// waiting to start, on any node.
    pub async fn running_among(
        &self,
        scripts: &[(domain::TenantId, ScriptId)],
    ) -> Result<std::collections::HashSet<ScriptId>, ExecutionServiceError> {
        Ok(self.executions.unfinished_among(scripts).await?)
    }

    async fn run_script(
        &self,
        user: Option<domain::UserId>,
        script: &Script,
        request: RunRequest,
        reservation: Option<Reservation>,
        record: bool,
    ) -> Result<carry::Ran, ExecutionServiceError> {
        let now = self.clock.now();
        let new = NewExecution {
            tenant_id: script.tenant_id,
            script_id: script.id,
            script_version: script.version,
            trigger: request.trigger.clone(),
            input: request.input.clone(),
            attempt: request.attempt,
        };
        // A slot first: a run refused for capacity stores nothing (the caller is told Busy).
        let reservation = match reservation {
            Some(reservation) => reservation,
            None => self
                .reserve(script, DIRECT_SLOT_WAIT)
                .await
                .inspect_err(crate::metrics::refused_run)?,
        };
        let execution = Execution::pending(new, now);
        let start = Start {
            execution,
            stored: false,
            record,
        };
        self.carry_out(start, user, script, request, Some(reservation))
            .await
    }
}
