//! `Engine`: runs jobs in sandbox worker processes, within the concurrency limits, with a cache
//! of compiled bytecode; kills a worker whose run outlives its deadline or its cancellation.

use crate::budget::Budgets;
use crate::compile::{Compiled, handler_name};
use crate::config::EngineConfig;
use crate::errors::error;
use crate::host::{CallScope, HostPort};
use crate::isolate::timeout_error;
use crate::job::{Job, Report};
use crate::limiter::{LimitExceeded, Limiter, Permit};
use crate::protocol::{Layers, ProbeAttempt, RunOrder};
use crate::supervisor::{Relay, RunEnd, RunEntry, Supervisor, WorkerHandle, crashed};
use chrono::Utc;
use domain::execution::{ExecutionError, Outcome};
use domain::script::ScriptType;
use domain::{ExecutionId, ScriptId, TenantId};
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
    #[error("cannot start a sandbox worker: {0}")]
    Sandbox(String),
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

/// Removes an execution from the running table when its caller stops waiting.
struct Registration {
    running: RunningTable,
    id: ExecutionId,
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&self.running).remove(&self.id);
    }
}

/// Gives a worker slot back however the run ends, even if its caller stops waiting.
struct Placement {
    supervisor: Arc<Supervisor>,
    worker: Arc<WorkerHandle>,
    ran: bool,
}

impl Drop for Placement {
    fn drop(&mut self) {
        self.supervisor.release(&self.worker, self.ran);
    }
}

/// A run whose caller stopped waiting (its future was dropped): the run goes on in its worker,
/// so its slot, its worker place and its host resources stay held until its deadline plus the
/// grace, when the worker is killed if it still holds the run.
struct Abandoned {
    engine: Engine,
    run: u64,
    deadline: Instant,
    held: Option<(Permit, Placement, CallScope)>,
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
        finished_at: Utc::now(),
    }
}

impl Engine {
    /// Builds an engine and its supervisor; host calls run on `handle`'s runtime.
    pub fn new(
        config: EngineConfig,
        host: Arc<dyn HostPort>,
        handle: tokio::runtime::Handle,
    ) -> Self {
        let cache = Cache::builder()
            .weigher(|_: &(ScriptId, i32), compiled: &Arc<Compiled>| {
                u32::try_from(compiled.size()).unwrap_or(u32::MAX)
            })
            .max_capacity(config.bytecode_cache_bytes)
            .build();
        let relay = Relay {
            host: host.clone(),
            handle: handle.clone(),
            budgets: Arc::new(Budgets::new()),
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

    /// Compiles `source` in a worker of `tenant` to check it (syntax and imports), without
    /// running it. A compile that takes longer than the sandbox's compile time kills the worker.
    pub async fn check(
        &self,
        tenant: TenantId,
        source: &str,
        script_type: ScriptType,
    ) -> Result<(), ExecutionError> {
        let _permit = self
            .limiter
            .acquire(tenant, ScriptId::from(uuid::Uuid::nil()), usize::MAX)
            .map_err(|e| error("BUSY", format!("the source cannot be checked now: {e}")))?;
        let placement = self
            .place(tenant)
            .map_err(|e| error("INTERNAL", e.to_string()))?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let handler = handler_name(script_type).map(str::to_owned);
        let answer = placement.worker.compile(id, source.to_owned(), handler)?;
        let limit = self.config.sandbox.compile_time;
        match tokio::time::timeout(limit, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(crashed("the sandbox process ended during the check")),
            Err(_) => {
                placement.worker.kill(
                    "another request of this tenant took too long and its sandbox was stopped",
                );
                Err(error(
                    "COMPILE_TIMEOUT",
                    format!(
                        "the source took longer than {} ms to compile",
                        limit.as_millis()
                    ),
                ))
            }
        }
    }

    /// Asks a worker of `tenant` which locks it holds, and to try what they must refuse
    /// (opening a file or a socket, starting a program): the sandbox's self-check.
    pub async fn probe_sandbox(
        &self,
        tenant: TenantId,
    ) -> Result<(Layers, Vec<ProbeAttempt>), ExecutionError> {
        let placement = self
            .place(tenant)
            .map_err(|e| error("INTERNAL", e.to_string()))?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let answer = placement.worker.probe(id)?;
        match tokio::time::timeout(Duration::from_secs(10), answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(crashed("the sandbox did not answer its probe")),
            Err(_) => {
                placement
                    .worker
                    .kill("a probe of this tenant's sandbox was not answered");
                Err(crashed("the sandbox did not answer its probe"))
            }
        }
    }

    /// Starts a worker and asks it which locks it holds and whether the probe was refused:
    /// run at start-up, so that a server whose workers cannot start says so at once.
    pub async fn self_check(&self) -> Result<(Layers, Vec<ProbeAttempt>), ExecutionError> {
        let worker = self.supervisor.start_warm().map_err(|e| {
            error(
                "SANDBOX_UNAVAILABLE",
                format!("cannot start a sandbox worker: {e}"),
            )
        })?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let answer = worker.probe(id)?;
        match tokio::time::timeout(Duration::from_secs(10), answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) | Err(_) => {
                worker.kill("it did not answer its start-up check");
                Err(error(
                    "SANDBOX_UNAVAILABLE",
                    "a sandbox worker did not answer its start-up check",
                ))
            }
        }
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

    fn place(&self, tenant: TenantId) -> std::io::Result<Placement> {
        let worker = self.supervisor.place(tenant)?;
        Ok(Placement {
            supervisor: self.supervisor.clone(),
            worker,
            ran: false,
        })
    }

    /// Runs `job` to its end. Refused at once when a concurrency limit is reached. The run is
    /// supervised to its end even if the caller stops waiting (see [`Abandoned`]).
    pub async fn run(&self, job: Job) -> Result<Report, EngineError> {
        let max_per_script = usize::try_from(job.limits.max_concurrent_runs).unwrap_or(usize::MAX);
        let permit = self
            .limiter
            .acquire(job.tenant_id, job.script_id, max_per_script)?;
        let started_at = Utc::now();
        let time_limit = Duration::from_millis(job.limits.max_execution_time_ms);
        let deadline = Instant::now() + time_limit;
        let mut placement = self
            .place(job.tenant_id)
            .map_err(|e| EngineError::Sandbox(e.to_string()))?;
        placement.ran = true;
        let run = self.next_id.fetch_add(1, Ordering::Relaxed);
        let cached = self.cache.get(&(job.script_id, job.script_version));
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
        let entry = RunEntry::new(scope.clone(), job.limits.max_api_calls_per_minute, done);
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
                        if let Some(compiled) = compiled {
                            self.cache.insert((job.script_id, job.script_version), Arc::new(compiled));
                        }
                        return report;
                    }
                    Ok(RunEnd::Crashed(failure)) => return ended_now(Outcome::Failed(failure), started_at),
                    Err(_) => return ended_now(Outcome::Failed(crashed("the sandbox process is gone")), started_at),
                },
                () = &mut watchdog => break !cancelled.0.load(Ordering::Acquire),
                () = cancelled.1.notified() => {
                    let sooner = (Instant::now() + grace).min(deadline + grace);
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
