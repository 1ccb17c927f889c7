//! The operator's settings of the engine.

use std::time::Duration;

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
    /// How long past its deadline an execution stuck in a native operation is given before
    /// its caller is told it timed out (its thread finishes on its own afterwards).
    pub watchdog_grace: Duration,
    /// Bytes of compiled bytecode kept in the cache.
    pub bytecode_cache_bytes: u64,
    /// Threads kept idle for reuse after an execution ends.
    pub idle_threads: usize,
    /// Per-minute SDK call budgets per script.
    pub budgets: crate::budget::BudgetConfig,
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
            idle_threads: 64,
            budgets: crate::budget::BudgetConfig::default(),
        }
    }
}
