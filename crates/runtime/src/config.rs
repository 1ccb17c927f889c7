//! The operator's settings of the engine and of its sandbox worker processes.

use std::path::PathBuf;
use std::time::Duration;

/// How sandbox workers are started.
#[derive(Clone, Debug)]
pub enum WorkerMode {
    /// Separate, locked-down processes: `program args…`. The program must call
    /// [`crate::run_worker_if_requested`] first thing in `main` (the product's binary does), or
    /// be a dedicated worker binary that calls [`crate::worker_main`].
    Process { program: PathBuf, args: Vec<String> },
    /// Workers as threads inside this process, with no lock and no way to stop a stuck script:
    /// **not isolated**, for tests and benchmarks only.
    InProcessUnisolated,
}

impl WorkerMode {
    /// This very binary, started with the hidden worker argument.
    pub fn current_exe() -> Self {
        Self::Process {
            program: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe")),
            args: vec![crate::worker::WORKER_ARG.to_owned()],
        }
    }
}

/// The settings of the sandbox worker processes.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    pub mode: WorkerMode,
    /// Most executions one worker holds at once (all of one tenant); runs that only wait are
    /// parked there with no thread.
    pub runs_per_worker: usize,
    /// Executions after which a worker is retired and replaced.
    pub recycle_after_runs: u64,
    /// Workers started ahead of demand, not yet given to a tenant.
    pub warm_workers: usize,
    /// How long a tenant's idle worker is kept for its next run.
    pub idle_timeout: Duration,
    /// The data-segment cap of a worker (`RLIMIT_DATA`), in bytes.
    pub worker_memory_bytes: u64,
    /// How long compiling a source to check it may take before its worker is killed.
    pub compile_time: Duration,
    /// How much nicer than the server workers run (0–19): scripts yield the CPU to the server's own work
    /// (the scheduler, requests, recording runs) when both want it.
    pub worker_nice: i32,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            mode: WorkerMode::current_exe(),
            runs_per_worker: 64,
            recycle_after_runs: 1_000,
            warm_workers: 2,
            idle_timeout: Duration::from_secs(60),
            worker_memory_bytes: 2 * 1024 * 1024 * 1024,
            compile_time: Duration::from_secs(5),
            worker_nice: 5,
        }
    }
}

#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Most executions running at once in the whole process.
    pub max_concurrent_executions: usize,
    /// Most executions of one tenant running at once.
    pub max_concurrent_per_tenant: usize,
    /// The JavaScript stack limit of an execution.
    pub max_stack_bytes: usize,
    /// Most log entries one execution may write before it is stopped.
    pub max_log_entries: usize,
    /// Most bytes of log messages and metadata one execution may write.
    pub max_log_bytes: usize,
    /// Whether `eval` and `new Function` work in scripts.
    pub allow_eval: bool,
    /// How long past its deadline (or its cancellation) an execution is given to stop before
    /// its worker process is killed.
    pub watchdog_grace: Duration,
    /// Bytes of compiled bytecode kept in the cache.
    pub bytecode_cache_bytes: u64,
    /// Threads a worker keeps idle for reuse after an execution ends.
    pub idle_threads: usize,
    /// Per-minute SDK call budgets per script.
    pub budgets: crate::budget::BudgetConfig,
    /// The worker processes.
    pub sandbox: SandboxConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_concurrent_executions: 1024,
            max_concurrent_per_tenant: 16,
            max_stack_bytes: 512 * 1024,
            max_log_entries: 1_000,
            max_log_bytes: 1024 * 1024,
            allow_eval: false,
            watchdog_grace: Duration::from_millis(500),
            bytecode_cache_bytes: 64 * 1024 * 1024,
            idle_threads: 16,
            budgets: crate::budget::BudgetConfig::default(),
            sandbox: SandboxConfig::default(),
        }
    }
}
