//! What the engine is asked to run, and what it reports back.

use chrono::{DateTime, Utc};
use domain::execution::{LogEntry, Outcome};
use domain::script::{ResourceLimits, ScriptType};
use domain::{ExecutionId, ScriptId, TenantId, UserId};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The `script_version` of a job whose source is not a stored version (a test run of the
/// editor's text): its bytecode is neither taken from nor put in the cache.
pub const UNSAVED_VERSION: i32 = 0;

/// One execution to run.
#[derive(Clone, Debug)]
pub struct Job {
    pub execution_id: ExecutionId,
    pub tenant_id: TenantId,
    pub script_id: ScriptId,
    /// With `script_id`, the key of the bytecode cache: a version's source never changes.
    /// `UNSAVED_VERSION` for a source that is no stored version (a test run): never cached.
    pub script_version: i32,
    pub user_id: Option<UserId>,
    pub script_type: ScriptType,
    pub source: Arc<str>,
    pub limits: ResourceLimits,
    /// `context.input`.
    pub input: Value,
    /// The argument of the entry point: the input, the HTTP request or the event.
    pub argument: Value,
    /// `context.trigger`.
    pub trigger: Value,
    /// How deep in a chain of events this run is (0 when no event started it).
    pub event_depth: u32,
    /// Where the run's log lines go as they are logged, besides the report; `None` when no
    /// one follows them.
    pub live: Option<Arc<dyn LiveLogSink>>,
}

/// Receives the log lines of one run while it goes, in the order the script logged them. It is
/// called on the thread that reads the worker, so it must not block.
pub trait LiveLogSink: Send + Sync + std::fmt::Debug {
    fn line(&self, entry: LogEntry);
}

/// How an execution ended, with what it logged and the most memory its engine held at once.
#[derive(Clone, Debug)]
pub struct Report {
    pub outcome: Outcome,
    pub logs: Vec<LogEntry>,
    pub memory_bytes: u64,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// The SDK calls the script made, by `module.method`, refused ones included.
    pub sdk_calls: BTreeMap<String, u64>,
}
