//! `Engine`: runs jobs in sandbox worker processes, within the concurrency limits, with a cache
//! of compiled bytecode; kills a worker whose run outlives its deadline or its cancellation.

mod checks;
mod guards;

use crate::budget::Budgets;
use crate::clock::{Clock, SystemClock};
use crate::compile::{Compiled, handler_name};
use crate::config::EngineConfig;
use crate::host::{CallScope, HostPort};
use crate::isolate::timeout_error;
use crate::job::{Job, Report};
use crate::limiter::{LimitExceeded, Limiter, Permit};
use crate::protocol::RunOrder;
use crate::supervisor::{Relay, RunEnd, RunEntry, Supervisor, WorkerHandle, crashed};
use chrono::Utc;
use domain::execution::Outcome;
use domain::{ExecutionId, ScriptId, TenantId};
use guards::{Abandoned, Placement, Registration};
use moka::sync::Cache;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, oneshot};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Limit(#[from] LimitExceeded),
    #[error("cannot start a sandbox worker")]
    Sandbox(#[source] std::io::Error),
}

/// A run in progress, as `cancel` reaches it.
struct Running {
    worker: Arc<WorkerHandle>,
    run: u64,
    cancelled: Arc<(AtomicBool, Notify)>,
}

type RunningTable = Arc<Mutex<HashMap<ExecutionId, Running>>>;

fn lock(table: &RunningTable) -> MutexGuard<'_, HashMap<ExecutionId, Running>> {
    table.lock().unwrap_or_else(|p| p.into_inner())
}

/// A concurrency slot taken ahead of a run (see [`Engine::reserve`]); given back when dropped
/// unused, or when the run it was used for ends.
pub struct Reservation {
    permit: Permit,
    tenant: TenantId,
    script: ScriptId,
}

#[derive(Clone)]
pub struct Engine {
    config: Arc<EngineConfig>,
    cache: Cache<(ScriptId, i32), Arc<Compiled>>,
    limiter: Limiter,
    running: RunningTable,
    supervisor: Arc<Supervisor>,
    host: Arc<dyn HostPort>,
    handle: tokio::runtime::Handle,
    next_id: Arc<AtomicU64>,
}

fn context_json(job: &Job) -> String {
    serde_json::json!({
        "tenantId": job.tenant_id,
        "userId": job.user_id,
        "scriptId": job.script_id,
        "executionId": job.execution_id,
        "input": job.input,
        "trigger": job.trigger,
    })
    .to_string()
}

fn ended_now(outcome: Outcome, started_at: chrono::DateTime<Utc>) -> Report {
    Report {
        outcome,
        logs: Vec::new(),
        memory_bytes: 0,
        started_at,
        finished_at: crate::clock::utc(),
        sdk_calls: Default::default(),
    }
}

impl Engine {
    /// Builds an engine and its supervisor; host calls run on `handle`'s runtime.
    pub fn new(
        config: EngineConfig,
        host: Arc<dyn HostPort>,
        handle: tokio::runtime::Handle,
    ) -> Self {
        Self::with_clock(config, host, handle, Arc::new(SystemClock))
    }

    /// [`Engine::new`] with the clock its per-minute budgets follow.
    pub fn with_clock(
        config: EngineConfig,
        host: Arc<dyn HostPort>,
        handle: tokio::runtime::Handle,
        clock: Arc<dyn Clock>,
    ) -> Self {
        crate::worker::refuse_engine_in_worker();
        let cache = Cache::builder()
            .weigher(|_: &(ScriptId, i32), compiled: &Arc<Compiled>| {
                u32::try_from(compiled.size()).unwrap_or(u32::MAX)
            })
            .max_capacity(config.bytecode_cache_bytes)
            .build();
        let relay = Relay {
            host: host.clone(),
            handle: handle.clone(),
            budgets: Arc::new(Budgets::new(clock)),
            budget_config: config.budgets.clone(),
            layers_logged: AtomicBool::new(false),
        };
        Self {
            limiter: Limiter::new(
                config.max_concurrent_executions,
                config.max_concurrent_per_tenant,
            ),
            supervisor: Supervisor::new(&config, relay),
            config: Arc::new(config),
            cache,
            running: Arc::default(),
            host,
            handle,
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The process id of the worker running execution `id`, for tests that stop it from
    /// outside; `None` when it is not running here or runs in-process.
    pub fn worker_pid(&self, id: ExecutionId) -> Option<u32> {
        lock(&self.running).get(&id).and_then(|r| r.worker.pid())
    }

    /// Executions running now, in the whole process.
    pub fn running(&self) -> usize {
        self.limiter.running()
    }

    /// How the executor is, for the health probes: answered from memory, at once.
    pub fn health(&self) -> crate::ExecutorHealth {
        let (workers, since_tended, spawn_error) = self.supervisor.vitals();
        crate::ExecutorHealth {
            running: self.limiter.running(),
            capacity: self.config.max_concurrent_executions,
            workers,
            since_tended,
            spawn_error,
        }
    }

    /// Asks a running execution to stop; `false` if it is not running here. If it does not
    /// stop within the grace period, its worker is killed.
    pub fn cancel(&self, id: ExecutionId) -> bool {
        let running = lock(&self.running);
        match running.get(&id) {
            Some(run) => {
                run.cancelled.0.store(true, Ordering::Release);
                run.cancelled.1.notify_one();
                run.worker.cancel(run.run);
                true
            }
            None => false,
        }
    }

    /// Asks every execution running here to stop (as `cancel` does each); how many.
    pub fn cancel_all(&self) -> usize {
        let ids: Vec<ExecutionId> = lock(&self.running).keys().copied().collect();
        ids.into_iter().filter(|id| self.cancel(*id)).count()
    }

    fn place(&self, tenant: TenantId) -> std::io::Result<Placement> {
        let worker = self.supervisor.place(tenant)?;
        Ok(Placement {
            supervisor: self.supervisor.clone(),
            worker,
            ran: false,
        })
    }

    /// Takes a concurrency slot for a run of `script` (of `tenant`, allowed `max_per_script`
    /// runs at once), waiting up to `wait` for one to be given back; refused past that.
    pub async fn reserve(
        &self,
        tenant: TenantId,
        script: ScriptId,
        max_per_script: u64,
        wait: Duration,
    ) -> Result<Reservation, LimitExceeded> {
        let max_per_script = usize::try_from(max_per_script).unwrap_or(usize::MAX);
        let permit = self
            .limiter
            .acquire_within(tenant, script, max_per_script, wait)
            .await?;
        Ok(Reservation {
            permit,
            tenant,
            script,
        })
    }

    /// Runs `job` to its end. Refused at once when a concurrency limit is reached. The run is
    /// supervised to its end even if the caller stops waiting (see [`Abandoned`]).
    pub async fn run(&self, job: Job) -> Result<Report, EngineError> {
        let max_per_script = usize::try_from(job.limits.max_concurrent_runs).unwrap_or(usize::MAX);
        let permit = self
            .limiter
            .acquire(job.tenant_id, job.script_id, max_per_script)?;
        self.run_with(job, permit).await
    }

    /// Runs `job` in the slot `reservation` holds (taken for the same tenant and script).
    pub async fn run_reserved(
        &self,
        job: Job,
        reservation: Reservation,
    ) -> Result<Report, EngineError> {
        if (reservation.tenant, reservation.script) != (job.tenant_id, job.script_id) {
            drop(reservation);
            return self.run(job).await;
        }
        self.run_with(job, reservation.permit).await
    }

    async fn run_with(&self, job: Job, permit: Permit) -> Result<Report, EngineError> {
        let started_at = crate::clock::utc();
        let time_limit = Duration::from_millis(job.limits.max_execution_time_ms);
        let deadline = crate::clock::now() + time_limit;
        let mut placement = self.place(job.tenant_id).map_err(EngineError::Sandbox)?;
        placement.ran = true;
        let run = self.next_id.fetch_add(1, Ordering::Relaxed);
        let cached = (job.script_version != crate::UNSAVED_VERSION)
            .then(|| self.cache.get(&(job.script_id, job.script_version)))
            .flatten();
        let order = RunOrder {
            run,
            entry: cached.as_ref().map(|c| c.flags()),
            source: cached.is_none().then(|| job.source.to_string()),
            handler: handler_name(job.script_type).map(str::to_owned),
            time_limit_ms: job.limits.max_execution_time_ms,
            memory_bytes: job.limits.max_memory_bytes,
            max_output_bytes: job.limits.max_output_size_bytes,
            context: context_json(&job),
            argument: job.argument.clone(),
            services: self.host.services(),
            live_logs: job.live.is_some(),
        };
        let scope = CallScope {
            tenant_id: job.tenant_id,
            script_id: job.script_id,
            execution_id: job.execution_id,
            user_id: job.user_id,
            deadline,
            event_depth: job.event_depth,
        };
        let (done, ended) = oneshot::channel();
        let mut entry = RunEntry::new(scope.clone(), job.limits.max_api_calls_per_minute, done);
        entry.live = job.live.clone();
        let blob: &[u8] = cached.as_ref().map_or(&[], |c| &c.bytecode);
        let worker = placement.worker.clone();
        let cancelled = Arc::new((AtomicBool::new(false), Notify::new()));
        lock(&self.running).insert(
            job.execution_id,
            Running {
                worker: worker.clone(),
                run,
                cancelled: cancelled.clone(),
            },
        );
        let _registration = Registration {
            running: self.running.clone(),
            id: job.execution_id,
        };
        let mut abandoned = Abandoned {
            engine: self.clone(),
            run,
            deadline,
            held: Some((permit, placement, scope.clone())),
        };
        let report = match worker.start_run(order, blob, entry) {
            Err(failure) => ended_now(Outcome::Failed(failure), started_at),
            Ok(()) => {
                self.wait(
                    &job,
                    &worker,
                    run,
                    (deadline, &cancelled),
                    ended,
                    started_at,
                )
                .await
            }
        };
        abandoned.held = None;
        let host = self.host.clone();
        self.handle.spawn(async move { host.release(scope).await });
        Ok(report)
    }

    /// Waits for run `run` to end; past its deadline (or its cancellation) plus the grace, kills
    /// its worker.
    async fn wait(
        &self,
        job: &Job,
        worker: &Arc<WorkerHandle>,
        run: u64,
        (deadline, cancelled): (Instant, &Arc<(AtomicBool, Notify)>),
        mut ended: oneshot::Receiver<RunEnd>,
        started_at: chrono::DateTime<Utc>,
    ) -> Report {
        let grace = self.config.watchdog_grace;
        let watchdog = tokio::time::sleep_until((deadline + grace).into());
        tokio::pin!(watchdog);
        let overran = loop {
            tokio::select! {
                end = &mut ended => match end {
                    Ok(RunEnd::Done(report, compiled)) => {
                        if let Some(compiled) = compiled.filter(|_| job.script_version != crate::UNSAVED_VERSION) {
                            self.cache.insert((job.script_id, job.script_version), Arc::new(compiled));
                        }
                        return report;
                    }
                    Ok(RunEnd::Crashed(failure)) => return ended_now(Outcome::Failed(failure), started_at),
                    Err(_) => return ended_now(Outcome::Failed(crashed("the sandbox process is gone")), started_at),
                },
                () = &mut watchdog => break !cancelled.0.load(Ordering::Acquire),
                () = cancelled.1.notified() => {
                    let sooner = (crate::clock::now() + grace).min(deadline + grace);
                    watchdog.as_mut().reset(sooner.into());
                }
            }
        };
        // The run did not stop: it is inside a native operation the engine cannot interrupt,
        // or its worker stopped answering. Kill the worker, so that no CPU is burnt after the
        // answer; other runs it held (of this tenant only) fail with SANDBOX_CRASHED.
        worker.forget(run);
        worker.kill("another run of this tenant did not stop in time and its sandbox was stopped");
        tracing::warn!(execution = %job.execution_id, worker = worker.id, "execution did not stop in time; its sandbox worker was killed");
        if overran {
            let mut failure = timeout_error(job.limits.max_execution_time_ms);
            failure
                .message
                .push_str(" (it was stopped inside a long native operation)");
            ended_now(Outcome::TimedOut(failure), started_at)
        } else {
            ended_now(Outcome::Cancelled, started_at)
        }
    }
}
