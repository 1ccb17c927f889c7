//! `POST /api/v1/scripts/{id}/test` (and `POST /api/v1/scripts/test` for a script not saved
//! yet, which leaves no record): a test run. The body is the whole script as `PUT` takes
//! it (the stored one when the body has no field but `input`) plus `input`; the script runs in
//! the sandbox with that input, recorded as an execution with trigger `test`, and no version is
//! written. Its fields are refused exactly as a save refuses them.

use super::auth::Authenticated;
use super::dto::{ExecutionView, LimitsView, ScriptBody};
use super::errors::ApiError;
use super::json;
use crate::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::ScriptId;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// What a test run answers: the execution, the limits it ran under and what it used of them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestRunView {
    pub execution: ExecutionView,
    pub limits: LimitsView,
    /// The SDK calls made, by `module.method`.
    pub sdk_calls: BTreeMap<String, u64>,
    pub sdk_calls_total: u64,
    /// The size of the output as JSON, in bytes.
    pub output_bytes: Option<u64>,
    /// Whether the run is in the history (not for a script that is not saved yet).
    pub recorded: bool,
}

impl From<&services::TestReport> for TestRunView {
    fn from(report: &services::TestReport) -> Self {
        Self {
            execution: ExecutionView::from(&report.execution),
            limits: LimitsView::from(&report.limits),
            sdk_calls: report.sdk_calls.clone(),
            sdk_calls_total: report.total_sdk_calls(),
            output_bytes: report
                .execution
                .output
                .as_ref()
                .map(|output| output.to_string().len() as u64),
            recorded: report.recorded,
        }
    }
}

/// The script of a test run's body, refused field by field as a save refuses it.
fn read_script(
    state: &AppState,
    fields: serde_json::Map<String, Value>,
) -> Result<domain::script::ScriptInput, ApiError> {
    let (body, mut errors) = ScriptBody::read(fields);
    if body.change_summary.is_some() {
        errors.add("changeSummary", "is not accepted by a test run");
    }
    if !errors.is_empty()
        && let Err(rule_errors) = state.scripts.rules().parse(&body.input)
    {
        for (field, message) in rule_errors.fields() {
            errors.add(field.clone(), message);
        }
    }
    errors.into_result()?;
    Ok(body.input)
}

/// `POST /api/v1/scripts/test`: a test run of a script not saved yet (the body: the script as
/// `POST /scripts` takes it, plus `input`); it leaves no record.
pub async fn test_new(
    state: web::Data<AppState>,
    auth: Authenticated,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if let Some(refusal) = crate::health::refuse_while_draining(&state) {
        return Ok(refusal);
    }
    let mut fields = json::object(&request, &body)?;
    let input = fields.remove("input").unwrap_or(Value::Null);
    let script = read_script(&state, fields)?;
    let report = state.scripts.test_unsaved(&auth.0, &script, input).await?;
    Ok(HttpResponse::Ok().json(TestRunView::from(&report)))
}

pub async fn test(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if let Some(refusal) = crate::health::refuse_while_draining(&state) {
        return Ok(refusal);
    }
    let id: ScriptId = id
        .parse()
        .map_err(|_| ApiError::NotFound("script not found".into()))?;
    let mut fields = json::object(&request, &body)?;
    let input = fields.remove("input").unwrap_or(Value::Null);
    let script = if fields.is_empty() {
        state.scripts.get(&auth.0, id).await?.spec.to_input()
    } else {
        read_script(&state, fields)?
    };
    let report = state.scripts.test_run(&auth.0, id, &script, input).await?;
    Ok(HttpResponse::Ok().json(TestRunView::from(&report)))
}
