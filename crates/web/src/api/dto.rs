//! The JSON shapes of the API (SPEC §8): request bodies and views of scripts and versions.

use super::json::FieldReader;
use chrono::{DateTime, Utc};
use domain::ValidationErrors;
use domain::paging::Page;
use domain::script::{
    AlertsInput, LimitsInput, ResourceLimits, RetryInput, Script, ScriptInput, ScriptSpec,
    ScriptVersion,
};
use serde::Serialize;
use serde_json::{Map, Value};
use services::UpcomingRuns;
use std::collections::BTreeMap;

/// The body of `POST /scripts` and `PUT /scripts/{id}`: the whole script, plus (on update)
/// a `changeSummary` for the version the change writes.
#[derive(Debug, Default)]
pub struct ScriptBody {
    pub input: ScriptInput,
    pub change_summary: Option<String>,
}

impl ScriptBody {
    /// Reads every field, collecting a message for each wrong type and unknown field.
    pub fn read(map: Map<String, Value>) -> (Self, ValidationErrors) {
        let mut errors = ValidationErrors::new();
        let mut reader = FieldReader::new(map, "", &mut errors);
        const TEXT: &str = "a string";
        const LIST: &str = "an array of strings";
        let mut input = ScriptInput {
            name: reader.take("name", TEXT).unwrap_or_default(),
            description: reader.take("description", TEXT).unwrap_or_default(),
            source: reader.take("source", TEXT).unwrap_or_default(),
            script_type: reader.take("type", TEXT).unwrap_or_default(),
            status: reader.take("status", TEXT),
            cron_expression: reader.take("cronExpression", TEXT),
            timezone: reader.take("timezone", TEXT),
            http_path: reader.take("httpPath", TEXT),
            http_methods: reader.take("httpMethods", LIST).unwrap_or_default(),
            endpoint_auth: reader.take("endpointAuth", TEXT),
            event_types: reader.take("eventTypes", LIST).unwrap_or_default(),
            metadata: reader
                .take("metadata", "an object of strings")
                .unwrap_or_default(),
            missed_runs: reader.take("missedRuns", TEXT),
            ..ScriptInput::default()
        };
        let change_summary = reader.take("changeSummary", TEXT);
        if let Some(limits) = reader.object("limits") {
            let mut nested = FieldReader::new(limits, "limits", reader.errors());
            const NUMBER: &str = "a whole number";
            input.limits = LimitsInput {
                max_execution_time_ms: nested.take("maxExecutionTimeMs", NUMBER),
                max_memory_bytes: nested.take("maxMemoryBytes", NUMBER),
                max_concurrent_runs: nested.take("maxConcurrentRuns", NUMBER),
                max_api_calls_per_minute: nested.take("maxApiCallsPerMinute", NUMBER),
                max_output_size_bytes: nested.take("maxOutputSizeBytes", NUMBER),
            };
            nested.finish();
        }
        const COUNT: &str = "a whole number";
        if let Some(retry) = reader.object("retry") {
            let mut nested = FieldReader::new(retry, "retry", reader.errors());
            input.retry = RetryInput {
                max_attempts: nested.take("maxAttempts", COUNT),
                base_delay_ms: nested.take("baseDelayMs", COUNT),
                max_delay_ms: nested.take("maxDelayMs", COUNT),
            };
            nested.finish();
        }
        if let Some(alerts) = reader.object("alerts") {
            let mut nested = FieldReader::new(alerts, "alerts", reader.errors());
            input.alerts = AlertsInput {
                emails: nested.take("emails", LIST).unwrap_or_default(),
                webhook_url: nested.take("webhookUrl", TEXT),
                after_failures: nested.take("afterFailures", COUNT),
                throttle_minutes: nested.take("throttleMinutes", COUNT),
            };
            nested.finish();
        }
        reader.finish();
        (
            Self {
                input,
                change_summary,
            },
            errors,
        )
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitsView {
    pub max_execution_time_ms: u64,
    pub max_memory_bytes: u64,
    pub max_concurrent_runs: u64,
    pub max_api_calls_per_minute: u64,
    pub max_output_size_bytes: u64,
}

impl From<&ResourceLimits> for LimitsView {
    fn from(limits: &ResourceLimits) -> Self {
        Self {
            max_execution_time_ms: limits.max_execution_time_ms,
            max_memory_bytes: limits.max_memory_bytes,
            max_concurrent_runs: limits.max_concurrent_runs,
            max_api_calls_per_minute: limits.max_api_calls_per_minute,
            max_output_size_bytes: limits.max_output_size_bytes,
        }
    }
}

/// The configuration part shared by scripts and versions.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecView {
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
    pub limits: LimitsView,
    pub metadata: BTreeMap<String, String>,
    /// Scheduled scripts only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missed_runs: Option<String>,
    pub retry: RetryInput,
    pub alerts: AlertsInput,
}

impl From<&ScriptSpec> for SpecView {
    fn from(spec: &ScriptSpec) -> Self {
        let input = spec.to_input();
        Self {
            name: input.name,
            description: input.description,
            source: input.source,
            script_type: input.script_type,
            status: spec.status.as_str().to_owned(),
            cron_expression: input.cron_expression,
            timezone: input.timezone,
            http_path: input.http_path,
            http_methods: input.http_methods,
            endpoint_auth: input.endpoint_auth,
            event_types: input.event_types,
            limits: LimitsView::from(&spec.limits),
            metadata: input.metadata,
            missed_runs: input.missed_runs,
            retry: input.retry,
            alerts: input.alerts,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptView {
    pub id: String,
    #[serde(flatten)]
    pub spec: SpecView,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub next_run_at: Option<DateTime<Utc>>,
}

impl From<&Script> for ScriptView {
    fn from(script: &Script) -> Self {
        Self {
            id: script.id.to_string(),
            spec: SpecView::from(&script.spec),
            version: script.version,
            created_at: script.created_at,
            updated_at: script.updated_at,
            created_by: script.created_by.map(|u| u.to_string()),
            updated_by: script.updated_by.map(|u| u.to_string()),
            last_run_at: script.last_run_at,
            next_run_at: script.next_run_at,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionView {
    pub version: i32,
    #[serde(flatten)]
    pub spec: SpecView,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub change_summary: String,
}

impl From<&ScriptVersion> for VersionView {
    fn from(version: &ScriptVersion) -> Self {
        Self {
            version: version.version,
            spec: SpecView::from(&version.spec),
            created_at: version.created_at,
            created_by: version.created_by.map(|u| u.to_string()),
            change_summary: version.change_summary.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageView<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub total_exact: bool,
    pub page: u64,
    pub limit: u64,
}

impl<T> PageView<T> {
    pub fn from_page<U>(page: &Page<U>, view: impl Fn(&U) -> T) -> Self {
        Self {
            items: page.items.iter().map(view).collect(),
            total: page.total,
            total_exact: page.total_exact,
            page: page.page,
            limit: page.limit,
        }
    }
}

/// An execution as the API shows it (SPEC §8).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionView {
    pub id: String,
    pub script_id: String,
    pub script_version: i32,
    pub status: String,
    pub trigger: domain::execution::Trigger,
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<domain::execution::ExecutionError>,
    pub logs: Vec<domain::execution::LogEntry>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub memory_bytes: Option<i64>,
    pub attempt: i32,
}

impl From<&domain::execution::Execution> for ExecutionView {
    fn from(execution: &domain::execution::Execution) -> Self {
        Self {
            id: execution.id.to_string(),
            script_id: execution.script_id.to_string(),
            script_version: execution.script_version,
            status: execution.status.as_str().to_owned(),
            trigger: execution.trigger.clone(),
            input: execution.input.clone(),
            output: execution.output.clone(),
            error: execution.error.clone(),
            logs: execution.logs.clone(),
            created_at: execution.created_at,
            started_at: execution.started_at,
            completed_at: execution.completed_at,
            duration_ms: execution.duration_ms,
            memory_bytes: execution.memory_bytes,
            attempt: execution.attempt,
        }
    }
}

/// One fire time of a schedule: the instant, its wall time and offset in the schedule's zone,
/// and whether a daylight-saving change moved it or lies before it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FireTimeView {
    pub at: DateTime<Utc>,
    /// ISO 8601 local date and time, without offset.
    pub local: String,
    pub offset: String,
    pub shifted: bool,
    pub offset_changed: bool,
}

/// The answer of a schedule preview and of a script's schedule.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpcomingRunsView {
    pub expression: String,
    pub timezone: String,
    pub next: Vec<FireTimeView>,
}

impl From<&UpcomingRuns> for UpcomingRunsView {
    fn from(runs: &UpcomingRuns) -> Self {
        let next = runs
            .next
            .iter()
            .map(|time| FireTimeView {
                at: time.at,
                local: time.local.format("%Y-%m-%dT%H:%M:%S").to_string(),
                offset: time.offset.to_string(),
                shifted: time.shifted,
                offset_changed: time.offset_changed,
            })
            .collect();
        Self {
            expression: runs.expression.clone(),
            timezone: runs.timezone.clone(),
            next,
        }
    }
}
