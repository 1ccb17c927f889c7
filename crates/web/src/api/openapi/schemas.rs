//! The JSON shapes of the API as the OpenAPI document describes them. The handlers read bodies
//! field by field (to report every bad field at once) and render views of domain types, so
//! these are the documented mirror of both; the `openapi` test checks real answers against
//! them, so a field added to a view and not here fails the build's tests.

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// An error answer: `fields` maps each bad field (dotted path) to its message on 400.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// `VALIDATION_FAILED`, `MALFORMED_JSON`, `PAYLOAD_TOO_LARGE`, `UNSUPPORTED_MEDIA_TYPE`,
    /// `UNAUTHORIZED`, `FORBIDDEN`, `NOT_FOUND`, `CONFLICT`, `RATE_LIMIT`, `DRAINING`,
    /// `STORAGE_UNAVAILABLE` (503 with `Retry-After`: the database does not answer),
    /// `STORAGE_FULL` (507) or `INTERNAL` (which never says more).
    pub code: String,
    pub message: String,
    pub fields: Option<BTreeMap<String, String>>,
    /// Where in the source a compile error is, when the source does not compile.
    pub source: Option<SourcePosition>,
}

/// A line and column of a script's source (1-based).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SourcePosition {
    pub line: u32,
    pub column: u32,
}

/// Resource limits of a script; each one it leaves unset is the operator's default.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Limits {
    pub max_execution_time_ms: u64,
    pub max_memory_bytes: u64,
    pub max_concurrent_runs: u64,
    pub max_api_calls_per_minute: u64,
    pub max_output_size_bytes: u64,
}

/// Limits a script asks for, each within the operator's bounds; unset ones take the default.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct LimitsRequest {
    pub max_execution_time_ms: Option<u64>,
    pub max_memory_bytes: Option<u64>,
    pub max_concurrent_runs: Option<u64>,
    pub max_api_calls_per_minute: Option<u64>,
    pub max_output_size_bytes: Option<u64>,
}

/// Retries of event deliveries (event scripts).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Retry {
    pub max_attempts: Option<i64>,
    pub base_delay_ms: Option<i64>,
    pub max_delay_ms: Option<i64>,
}

/// Where failures of the script are reported.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Alerts {
    pub emails: Vec<String>,
    pub webhook_url: Option<String>,
    pub after_failures: Option<i64>,
    pub throttle_minutes: Option<i64>,
}

/// The body of `POST /scripts` and `PUT /scripts/{id}`: the whole script. Unknown fields and
/// wrong types are refused (400) with a message for each field.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ScriptRequest {
    pub name: String,
    pub description: Option<String>,
    /// ES module source; the default export is the handler.
    pub source: String,
    /// `scheduled`, `http`, `event`, `oneoff` or `embedded`.
    #[serde(rename = "type")]
    pub script_type: String,
    /// `draft`, `active` (the default), `paused`, `disabled` or `archived`; only `active`
    /// scripts fire on cron, HTTP and events.
    pub status: Option<String>,
    /// Scheduled scripts: a cron expression (5 or 6 fields).
    pub cron_expression: Option<String>,
    /// Scheduled scripts: an IANA zone (default UTC).
    pub timezone: Option<String>,
    /// HTTP scripts: the path under `/api/scripts` (and `/hooks/{tenantSlug}`).
    pub http_path: Option<String>,
    pub http_methods: Option<Vec<String>>,
    /// HTTP scripts: `authenticated` (a bearer token of the tenant) or `public` (also served
    /// at `/hooks/{tenantSlug}/…`).
    pub endpoint_auth: Option<String>,
    /// Event scripts: the event types they receive.
    pub event_types: Option<Vec<String>>,
    pub metadata: Option<BTreeMap<String, String>>,
    /// Scheduled scripts: `runOnce` (the default) or `skip`, for ticks missed while no node
    /// ran.
    pub missed_runs: Option<String>,
    pub limits: Option<LimitsRequest>,
    pub retry: Option<Retry>,
    pub alerts: Option<Alerts>,
    /// Updates only: the summary of the version the change writes.
    pub change_summary: Option<String>,
}

/// A script as the API shows it.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Script {
    pub id: String,
    pub name: String,
    pub description: String,
    pub source: String,
    #[serde(rename = "type")]
    pub script_type: String,
    pub status: String,
    pub cron_expression: Option<String>,
    pub timezone: Option<String>,
    pub http_path: Option<String>,
    pub http_methods: Vec<String>,
    pub endpoint_auth: Option<String>,
    pub event_types: Vec<String>,
    pub limits: Limits,
    pub metadata: BTreeMap<String, String>,
    pub missed_runs: Option<String>,
    pub retry: Retry,
    pub alerts: Alerts,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub next_run_at: Option<DateTime<Utc>>,
}

/// A saved version of a script: its whole configuration then.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Version {
    pub version: i32,
    pub name: String,
    pub description: String,
    pub source: String,
    #[serde(rename = "type")]
    pub script_type: String,
    pub status: String,
    pub cron_expression: Option<String>,
    pub timezone: Option<String>,
    pub http_path: Option<String>,
    pub http_methods: Vec<String>,
    pub endpoint_auth: Option<String>,
    pub event_types: Vec<String>,
    pub limits: Limits,
    pub metadata: BTreeMap<String, String>,
    pub missed_runs: Option<String>,
    pub retry: Retry,
    pub alerts: Alerts,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub change_summary: String,
}

/// What started a run.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Trigger {
    /// `manual`, `api`, `cron`, `http`, `event`, `embedded` or `retry`.
    #[serde(rename = "type")]
    pub kind: String,
    pub cron_time: Option<DateTime<Utc>>,
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    pub http_method: Option<String>,
    pub http_path: Option<String>,
    pub user_id: Option<String>,
}

/// Why a run failed: a stable code, a message, and where in the source.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ExecutionError {
    pub code: String,
    pub message: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub stack: Option<String>,
}

/// One line a script logged.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LogEntry {
    /// `debug`, `info`, `warn` or `error`.
    pub level: String,
    pub message: String,
    pub metadata: Value,
    pub ts: DateTime<Utc>,
}

/// One run of a script.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Execution {
    pub id: String,
    pub script_id: String,
    pub script_version: i32,
    /// `pending`, `running`, `completed`, `failed`, `timeout` or `cancelled`.
    pub status: String,
    pub trigger: Trigger,
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<ExecutionError>,
    pub logs: Vec<LogEntry>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub memory_bytes: Option<i64>,
    pub attempt: i32,
}

/// A numbered page. `total` counts the whole list exactly up to 10,000; past it, `total` is
/// 10,000 and `totalExact` is false (ask the next page while a page comes back full).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    pub total: u64,
    pub total_exact: bool,
    pub page: u64,
    pub limit: u64,
}

/// A keyset page of the tenant's history; `nextCursor` asks for the next one.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct HistoryPage {
    pub items: Vec<Execution>,
    pub limit: u64,
    pub next_cursor: Option<String>,
}

/// The body of `POST /scripts/{id}/execute` (may be empty).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ExecuteRequest {
    /// The script's input (any JSON).
    pub input: Option<Value>,
    /// `sync` (default: answer when it ends) or `async` (202 at once; the run is durable).
    pub mode: Option<String>,
}

/// One fire time of a schedule, in its zone.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct FireTime {
    pub at: DateTime<Utc>,
    /// Local date and time in the schedule's zone, without offset.
    pub local: String,
    pub offset: String,
    /// A daylight-saving change moved this time.
    pub shifted: bool,
    /// The offset differs from the one before.
    pub offset_changed: bool,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UpcomingRuns {
    pub expression: String,
    pub timezone: String,
    pub next: Vec<FireTime>,
}

/// The body of a test run: the script as `POST /scripts` (or `PUT /scripts/{id}`) takes it,
/// plus `input`. For a saved script, a body with only `input` tests the stored script.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct TestRequest {
    /// The input of the run (any JSON).
    pub input: Option<Value>,
    pub name: Option<String>,
    pub source: Option<String>,
    #[serde(rename = "type")]
    pub script_type: Option<String>,
    pub limits: Option<LimitsRequest>,
}

/// What a test run answers: the run, the limits it ran under and what it used of them.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct TestRun {
    pub execution: Execution,
    pub limits: Limits,
    /// The SDK calls made, by `module.method`.
    pub sdk_calls: BTreeMap<String, u64>,
    pub sdk_calls_total: u64,
    /// The size of the output as JSON, in bytes.
    pub output_bytes: Option<u64>,
    /// Whether the run is in the history (not for a script not saved yet).
    pub recorded: bool,
}
