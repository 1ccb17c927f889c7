//! `Engine`: runs jobs on execution threads, within the concurrency limits, with a cache of
//! compiled bytecode and a watchdog for executions stuck inside a native operation.

use crate::budget::Budgets;
use crate::compile::{Compiled, compile};
use crate::config::EngineConfig;
use crate::host::HostPort;
use crate::isolate::{self, Completion, Control, timeout_error};
use crate::job::{Job, Report};
use crate::limiter::{LimitExceeded, Limiter};
use crate::pool::ThreadPool;
use chrono::Utc;
use domain::execution::{ExecutionError, Outcome};
use domain::{ExecutionId, ScriptId};
use moka::sync::Cache;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Limit(#[from] LimitExceeded),
    #[error("cannot start an execution thread: {0}")]
    Thread(String),
}

type Running = Arc<Mutex<HashMap<ExecutionId, Arc<Control>>>>;

#[derive(Clone)]
pub struct Engine {
    config: Arc<EngineConfig>,
    cache: Cache<(ScriptId, i32), Arc<Compiled>>,
    pool: ThreadPool,
    limiter: Limiter,
    running: Running,
    around: Arc<isolate::Surroundings>,
}

/// Removes an execution from the running table when its caller stops waiting.
struct Registration {
    running: Running,
    id: ExecutionId,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

impl Engine {
    /// Builds an engine; host calls run on `handle`'s runtime.
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
        Self {
            pool: ThreadPool::new(config.idle_threads),
            limiter: Limiter::new(
                config.max_concurrent_executions,
                config.max_concurrent_per_tenant,
            ),
            config: Arc::new(config),
            cache,
            running: Arc::default(),
            around: Arc::new(isolate::Surroundings {
                host,
                handle,
                budgets: Arc::new(Budgets::new()),
            }),
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Compiles `source` to check it (syntax and imports), without running it.
    pub fn check(
        &self,
        source: &str,
        script_type: domain::script::ScriptType,
    ) -> Result<(), ExecutionError> {
        compile(source, script_type).map(|_| ())
    }

    /// Executions running now, in the whole process.
    pub fn running(&self) -> usize {
        self.limiter.running()
    }

    /// Asks a running execution to stop; `false` if it is not running here.
    pub fn cancel(&self, id: ExecutionId) -> bool {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        match running.get(&id) {
            Some(control) => {
                control.cancel();
                true
            }
            None => false,
        }
    }

    /// Runs `job` to its end. Refused at once when a concurrency limit is reached.
    pub async fn run(&self, job: Job) -> Result<Report, EngineError> {
        let max_per_script = usize::try_from(job.limits.max_concurrent_runs).unwrap_or(usize::MAX);
        let permit = self
            .limiter
            .acquire(job.tenant_id, job.script_id, max_per_script)?;
        let time_limit = Duration::from_millis(job.limits.max_execution_time_ms);
        let (wake, inbox) = crossbeam_channel::unbounded::<Completion>();
        let control = Arc::new(Control::new(Instant::now() + time_limit, wake));
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(job.execution_id, control.clone());
        let _registration = Registration {
            running: self.running.clone(),
            id: job.execution_id,
        };

        let (sender, receiver) = tokio::sync::oneshot::channel();
        let engine = self.clone();
        let thread_control = control.clone();
        let started_at = Utc::now();
        let task_job = job.clone();
        self.pool
            .spawn(Box::new(move || {
                let scope = isolate::scope_of(&task_job, thread_control.deadline);
                let report = match engine.compiled(&task_job) {
                    Ok(compiled) => isolate::run(
                        &task_job,
                        &compiled,
                        &engine.config,
                        thread_control,
                        inbox,
                        &engine.around,
                    ),
                    Err(failure) => Report {
                        outcome: Outcome::Failed(failure),
                        logs: Vec::new(),
                        memory_bytes: 0,
                        started_at,
                        finished_at: Utc::now(),
                    },
                };
                // Let the host release what the execution held, then give the permit back.
                let host = engine.around.host.clone();
                engine
                    .around
                    .handle
                    .spawn(async move { host.release(scope).await });
                drop(permit);
                let _ = sender.send(report);
            }))
            .map_err(|e| EngineError::Thread(e.to_string()))?;

        let watchdog =
            tokio::time::Instant::from_std(control.deadline + self.config.watchdog_grace);
        match tokio::time::timeout_at(watchdog, receiver).await {
            Ok(Ok(report)) => Ok(report),
            Ok(Err(_)) => Ok(Report {
                outcome: Outcome::Failed(crate::errors::error(
                    "INTERNAL",
                    "the execution thread ended without a result",
                )),
                logs: Vec::new(),
                memory_bytes: 0,
                started_at,
                finished_at: Utc::now(),
            }),
            Err(_) => {
                // Stuck in a native operation the interrupt handler cannot reach: report the
                // timeout now; the thread stops at the operation's end and frees its permit.
                control.cancel();
                tracing::warn!(execution = %job.execution_id, "execution stuck past its deadline; abandoned to its thread");
                let mut failure = timeout_error(job.limits.max_execution_time_ms);
                failure
                    .message
                    .push_str(" (it was stopped inside a long native operation)");
                Ok(Report {
                    outcome: Outcome::TimedOut(failure),
                    logs: Vec::new(),
                    memory_bytes: 0,
                    started_at,
                    finished_at: Utc::now(),
                })
            }
        }
    }

    /// The bytecode of the job's script version, compiled on first use.
    fn compiled(&self, job: &Job) -> Result<Arc<Compiled>, ExecutionError> {
        let key = (job.script_id, job.script_version);
        if let Some(compiled) = self.cache.get(&key) {
            return Ok(compiled);
        }
        let compiled = Arc::new(compile(&job.source, job.script_type)?);
        self.cache.insert(key, compiled.clone());
        Ok(compiled)
    }
}
