//! Mapping between script rows and the `Script` and `ScriptVersion` aggregates.

use crate::entities::{script, script_version};
use crate::errors::corrupt;
use domain::repository::RepoError;
use domain::script::{
    AlertsInput, LimitsInput, OptionsInput, RetryInput, Script, ScriptInput, ScriptRules,
    ScriptSpec, ScriptVersion,
};
use domain::{ScriptId, TenantId, UserId};
use sea_orm::ActiveValue::Set;
use serde_json::Value;

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The options column as stored.
#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct StoredOptions {
    missed_runs: Option<String>,
    retry: RetryInput,
    alerts: AlertsInput,
}

fn options_from(value: Option<&Value>) -> Result<OptionsInput, RepoError> {
    let stored: StoredOptions = match value {
        None | Some(Value::Null) => StoredOptions::default(),
        Some(value) => {
            serde_json::from_value(value.clone()).map_err(|e| corrupt("script options", e))?
        }
    };
    Ok(OptionsInput {
        missed_runs: stored.missed_runs,
        retry: stored.retry,
        alerts: stored.alerts,
    })
}

fn options_to(input: &ScriptInput) -> Value {
    let options = input.options();
    to_json(&StoredOptions {
        missed_runs: options.missed_runs,
        retry: options.retry,
        alerts: options.alerts,
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

pub(crate) fn spec_from_row(row: &script::Model) -> Result<ScriptSpec, RepoError> {
    let mut input = ScriptInput {
        name: row.name.clone(),
        description: row.description.clone(),
        source: row.source.clone(),
        script_type: row.script_type.clone(),
        status: Some(row.status.clone()),
        cron_expression: row.cron_expression.clone(),
        timezone: row.timezone.clone(),
        http_path: row.http_path.clone(),
        http_methods: strings(&row.http_methods),
        endpoint_auth: row.endpoint_auth.clone(),
        event_types: strings(&row.event_types),
        limits: LimitsInput {
            max_execution_time_ms: Some(row.max_execution_time_ms),
            max_memory_bytes: Some(row.max_memory_bytes),
            max_concurrent_runs: Some(row.max_concurrent_runs),
            max_api_calls_per_minute: Some(row.max_api_calls_per_minute),
            max_output_size_bytes: Some(row.max_output_size_bytes),
        },
        metadata: serde_json::from_value(row.metadata.clone())
            .map_err(|e| corrupt("script metadata", e))?,
        ..ScriptInput::default()
    };
    input.set_options(options_from(row.options.as_ref())?);
    ScriptRules::stored()
        .parse(&input)
        .map_err(|e| corrupt(&format!("script {}", row.id), e))
}

pub(crate) fn script_from_row(row: script::Model) -> Result<Script, RepoError> {
    let spec = spec_from_row(&row)?;
    Ok(Script {
        id: ScriptId(row.id),
        tenant_id: TenantId(row.tenant_id),
        spec,
        version: row.version,
        created_at: row.created_at,
        created_by: row.created_by.map(UserId),
        updated_at: row.updated_at,
        updated_by: row.updated_by.map(UserId),
        last_run_at: row.last_run_at,
        next_run_at: row.next_run_at,
    })
}

pub(crate) fn script_to_active(script: &Script) -> script::ActiveModel {
    let input = script.spec.to_input();
    let options = options_to(&input);
    let limits = &script.spec.limits;
    script::ActiveModel {
        id: Set(script.id.0),
        tenant_id: Set(script.tenant_id.0),
        name: Set(input.name),
        description: Set(input.description),
        source: Set(input.source),
        script_type: Set(input.script_type),
        status: Set(script.spec.status.as_str().to_owned()),
        cron_expression: Set(input.cron_expression),
        timezone: Set(input.timezone),
        http_path: Set(input.http_path),
        http_methods: Set(to_json(&input.http_methods)),
        endpoint_auth: Set(input.endpoint_auth),
        event_types: Set(to_json(&input.event_types)),
        max_execution_time_ms: Set(limits.max_execution_time_ms as i64),
        max_memory_bytes: Set(limits.max_memory_bytes as i64),
        max_concurrent_runs: Set(limits.max_concurrent_runs as i64),
        max_api_calls_per_minute: Set(limits.max_api_calls_per_minute as i64),
        max_output_size_bytes: Set(limits.max_output_size_bytes as i64),
        metadata: Set(to_json(&input.metadata)),
        options: Set(Some(options)),
        version: Set(script.version),
        created_at: Set(script.created_at),
        created_by: Set(script.created_by.map(|u| u.0)),
        updated_at: Set(script.updated_at),
        updated_by: Set(script.updated_by.map(|u| u.0)),
        last_run_at: Set(script.last_run_at),
        next_run_at: Set(script.next_run_at),
    }
}

pub(crate) fn version_to_active(version: &ScriptVersion) -> script_version::ActiveModel {
    let mut config = version.spec.to_input();
    let source = std::mem::take(&mut config.source);
    script_version::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        tenant_id: Set(version.tenant_id.0),
        script_id: Set(version.script_id.0),
        version: Set(version.version),
        source: Set(source),
        config: Set(to_json(&config)),
        created_at: Set(version.created_at),
        created_by: Set(version.created_by.map(|u| u.0)),
        change_summary: Set(version.change_summary.clone()),
    }
}

pub(crate) fn version_from_row(row: script_version::Model) -> Result<ScriptVersion, RepoError> {
    let mut input: ScriptInput = serde_json::from_value(row.config)
        .map_err(|e| corrupt("script version configuration", e))?;
    input.source = row.source;
    let spec = ScriptRules::stored().parse(&input).map_err(|e| {
        corrupt(
            &format!("version {} of script {}", row.version, row.script_id),
            e,
        )
    })?;
    Ok(ScriptVersion {
        script_id: ScriptId(row.script_id),
        tenant_id: TenantId(row.tenant_id),
        version: row.version,
        spec,
        created_at: row.created_at,
        created_by: row.created_by.map(UserId),
        change_summary: row.change_summary,
    })
}
