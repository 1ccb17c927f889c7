//! The product's Prometheus metrics: every name, its labels and where it is recorded, in one
//! place (the alert rules in `docs/prometheus-rules.yml` are checked against `NAMES`). Labels
//! stay bounded: tenant ids, trigger kinds, the platform's error codes (a code a script
//! chose counts as `SCRIPT_ERROR`), limit names and HTTP statuses; never execution ids or
//! paths. Recording goes through the `metrics` facade: without an installed recorder (unit
//! tests, host code that wants none) it costs nothing.

use domain::execution::{Execution, ExecutionStatus};
use runtime::LimitExceeded;
use std::time::Duration;

pub const EXECUTIONS: &str = "script_executions_total";
pub const EXECUTIONS_SUCCESS: &str = "script_executions_success_total";
pub const EXECUTIONS_FAILED: &str = "script_executions_failed_total";
pub const EXECUTION_DURATION: &str = "script_execution_duration_seconds";
pub const EXECUTOR_ACTIVE: &str = "script_executor_active";
pub const EXECUTOR_IDLE: &str = "script_executor_idle";
pub const EXECUTOR_CAPACITY: &str = "script_executor_capacity";
pub const API_CALLS: &str = "script_api_calls_total";
pub const SSRF_ATTEMPTS: &str = "script_ssrf_attempts_total";
pub const REFUSALS: &str = "script_refusals_total";
pub const JOB_QUEUE_DEPTH: &str = "script_job_queue_depth";
pub const DEAD_LETTERS: &str = "script_dead_letters_pending";
pub const CRON_LATENESS: &str = "script_cron_lateness_seconds";
pub const ENDPOINT_REQUESTS: &str = "script_endpoint_requests_total";
pub const PRUNED: &str = "script_history_pruned_total";

/// Every metric the product exports.
pub const NAMES: &[&str] = &[
    EXECUTIONS,
    EXECUTIONS_SUCCESS,
    EXECUTIONS_FAILED,
    EXECUTION_DURATION,
    EXECUTOR_ACTIVE,
    EXECUTOR_IDLE,
    EXECUTOR_CAPACITY,
    API_CALLS,
    SSRF_ATTEMPTS,
    REFUSALS,
    JOB_QUEUE_DEPTH,
    DEAD_LETTERS,
    CRON_LATENESS,
    ENDPOINT_REQUESTS,
    PRUNED,
];

/// The buckets of the execution duration, in seconds (the seed's).
pub const DURATION_BUCKETS: &[f64] = &[0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0];
/// The buckets of cron lateness, in seconds.
pub const LATENESS_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Error codes of the platform itself, kept as `error_type`; any other is `SCRIPT_ERROR`.
const PLATFORM_CODES: &[&str] = &[
    "ABANDONED",
    "CHAIN_TOO_DEEP",
    "COMPILE_TIMEOUT",
    "CONCURRENCY_LIMIT",
    "DETACHED",
    "IMPORT_FORBIDDEN",
    "INPUT_TOO_LARGE",
    "INTERNAL",
    "INTERRUPTED",
    "LOG_LIMIT",
    "MEMORY_LIMIT",
    "NEVER_SETTLED",
    "NO_ENTRY_POINT",
    "OUTPUT_LIMIT",
    "OUTPUT_NOT_JSON",
    "RECORD_UNSTORABLE",
    "RUNTIME_ERROR",
    "SANDBOX_CRASHED",
    "SANDBOX_UNAVAILABLE",
    "SCRIPT_NOT_FOUND",
    "STACK_OVERFLOW",
    "SYNTAX_ERROR",
    "TIMEOUT",
    "TIMER_LIMIT",
    "UNCAUGHT_VALUE",
];

/// The `error_type` label of an error code: bounded whatever scripts throw.
pub fn error_type(code: &str) -> String {
    if PLATFORM_CODES.contains(&code) || runtime::HostErrorCode::known(code).is_some() {
        code.to_owned()
    } else {
        "SCRIPT_ERROR".to_owned()
    }
}

/// A finished execution: counted by outcome, its duration observed.
pub fn execution_finished(execution: &Execution) {
    let tenant = execution.tenant_id.to_string();
    let trigger = execution.trigger.kind.as_str();
    let labels = [
        ("tenant_id", tenant.clone()),
        ("trigger_type", trigger.to_owned()),
    ];
    metrics::counter!(EXECUTIONS, &labels).increment(1);
    match execution.status {
        ExecutionStatus::Completed => metrics::counter!(EXECUTIONS_SUCCESS, &labels).increment(1),
        ExecutionStatus::Failed | ExecutionStatus::Timeout => {
            let code = execution
                .error
                .as_ref()
                .map_or_else(|| "INTERNAL".to_owned(), |e| error_type(&e.code));
            metrics::counter!(
                EXECUTIONS_FAILED,
                "tenant_id" => tenant,
                "trigger_type" => trigger,
                "error_type" => code
            )
            .increment(1);
        }
        _ => {}
    }
    if let Some(ms) = execution.duration_ms {
        metrics::histogram!(EXECUTION_DURATION, &labels).record(ms.max(0) as f64 / 1000.0);
    }
}

/// A run refused by a limit (nothing stored): `limit` names which.
pub fn refused(limit: &'static str) {
    metrics::counter!(REFUSALS, "limit" => limit).increment(1);
}

/// Counts a run refused for want of a slot (its caller is told it is busy).
pub fn refused_run(error: &crate::ExecutionServiceError) {
    if let crate::ExecutionServiceError::Busy(limit) = error {
        refused(limit_name(limit));
    }
}

/// The name of a concurrency limit, as a refusal's label.
pub fn limit_name(limit: &LimitExceeded) -> &'static str {
    match limit {
        LimitExceeded::Process { .. } => "process_concurrency",
        LimitExceeded::Tenant { .. } => "tenant_concurrency",
        LimitExceeded::Script { .. } => "script_concurrency",
    }
}

/// A call a script made to the SDK (`api_type`: http, db, cache, events or services).
pub fn api_call(tenant: &str, api_type: &'static str) {
    metrics::counter!(API_CALLS, "tenant_id" => tenant.to_owned(), "api_type" => api_type)
        .increment(1);
}

/// An `sdk.http` request refused by the address policy.
pub fn ssrf_attempt(tenant: &str) {
    metrics::counter!(SSRF_ATTEMPTS, "tenant_id" => tenant.to_owned()).increment(1);
}

/// A cron tick fired this long after its instant.
pub fn cron_fired(lateness: Duration) {
    metrics::histogram!(CRON_LATENESS).record(lateness.as_secs_f64());
}

/// A request to a script HTTP endpoint answered with `status`.
pub fn endpoint_response(status: u16) {
    metrics::counter!(ENDPOINT_REQUESTS, "status" => status.to_string()).increment(1);
}

/// History pruned past retention.
pub fn pruned(executions: u64, ticks: u64) {
    metrics::counter!(PRUNED, "kind" => "executions").increment(executions);
    metrics::counter!(PRUNED, "kind" => "cron_ticks").increment(ticks);
}

/// The executor's load now: runs going on out of the process's capacity.
pub fn executor(active: usize, capacity: usize) {
    metrics::gauge!(EXECUTOR_ACTIVE).set(active as f64);
    metrics::gauge!(EXECUTOR_CAPACITY).set(capacity as f64);
    metrics::gauge!(EXECUTOR_IDLE).set(capacity.saturating_sub(active) as f64);
}

/// Jobs waiting in the durable queue, and dead letters nobody handled yet.
pub fn backlog(jobs: u64, dead_letters: u64) {
    metrics::gauge!(JOB_QUEUE_DEPTH).set(jobs as f64);
    metrics::gauge!(DEAD_LETTERS).set(dead_letters as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_of_the_alert_rules_exists() {
        let rules = include_str!("../../../docs/prometheus-rules.yml");
        let mut used = 0;
        for line in rules
            .lines()
            .filter(|l| l.trim_start().starts_with("expr:"))
        {
            for word in line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if !word.starts_with("script_") {
                    continue;
                }
                let name = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| word.strip_suffix(suffix))
                    .filter(|base| NAMES.contains(base))
                    .unwrap_or(word);
                assert!(
                    NAMES.contains(&name),
                    "the rules use {word}, which no one exports"
                );
                used += 1;
            }
        }
        assert!(used >= 8, "the rules file lost its rules");
    }

    #[test]
    fn error_types_are_the_platforms_codes_or_script_error() {
        assert_eq!(error_type("TIMEOUT"), "TIMEOUT");
        assert_eq!(error_type("SSRF_BLOCKED"), "SSRF_BLOCKED");
        assert_eq!(error_type("MY_OWN_CODE_42"), "SCRIPT_ERROR");
        assert_eq!(error_type(""), "SCRIPT_ERROR");
    }
}
