//! Handlers of execution routes: run a script now, read one, list a script's executions or
//! the tenant's whole history (filtered, by keyset), cancel one
//! (following one as it runs is in `execution_stream.rs`).

use super::auth::Authenticated;
use super::dto::{ExecutionView, PageView};
use super::errors::ApiError;
use super::history::history_query;
use super::json::{self, FieldReader};
use super::query::{Query, page_request};
use crate::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::execution::ExecutionStatus;
use domain::{ExecutionId, ScriptId, ValidationErrors};
use serde_json::Value;
use services::RunRequest;

fn execution_id(raw: &str) -> Result<ExecutionId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound("execution not found".into()))
}

fn script_id(raw: &str) -> Result<ScriptId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound("script not found".into()))
}

/// The status an execution's outcome answers with: the seed's 500 for a failed script and
/// 504 for a timeout, with the execution itself as the body either way.
fn status_of(status: ExecutionStatus) -> StatusCode {
    match status {
        ExecutionStatus::Failed => StatusCode::INTERNAL_SERVER_ERROR,
        ExecutionStatus::Timeout => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::OK,
    }
}

async fn execute(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if let Some(refusal) = crate::health::refuse_while_draining(&state) {
        return Ok(refusal);
    }
    let id = script_id(&id)?;
    let mut errors = ValidationErrors::new();
    let (input, mode) = if body.iter().all(u8::is_ascii_whitespace) {
        (Value::Null, None)
    } else {
        let mut reader = FieldReader::new(json::object(&request, &body)?, "", &mut errors);
        let input: Option<Value> = reader.take("input", "any JSON value");
        let mode: Option<String> = reader.take("mode", "a string");
        reader.finish();
        (input.unwrap_or(Value::Null), mode)
    };
    match mode.as_deref() {
        None | Some("sync") => {}
        Some("async") => {}
        Some(other) => errors.add("mode", format!("\"{other}\" is not one of sync, async")),
    }
    errors.into_result()?;
    if mode.as_deref() == Some("async") {
        let request = RunRequest::api(&auth.0, input);
        let execution = state
            .executions
            .enqueue(&auth.0, id, request, state.queue.as_ref())
            .await?;
        let location = format!("/api/v1/executions/{}", execution.id);
        return Ok(HttpResponse::Accepted()
            .insert_header((actix_web::http::header::LOCATION, location))
            .json(ExecutionView::from(&execution)));
    }
    let execution = state
        .executions
        .run(&auth.0, id, RunRequest::api(&auth.0, input))
        .await?;
    Ok(HttpResponse::build(status_of(execution.status)).json(ExecutionView::from(&execution)))
}

async fn get(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let execution = state.executions.get(&auth.0, execution_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(ExecutionView::from(&execution)))
}

async fn list(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    let id = script_id(&id)?;
    let mut errors = ValidationErrors::new();
    let page = page_request(&query, &mut errors);
    let status = query
        .get("status")
        .filter(|s| !s.is_empty())
        .and_then(|raw| errors.check("status", raw.parse::<ExecutionStatus>()));
    errors.into_result()?;
    let executions = state.executions.list(&auth.0, id, status, page).await?;
    Ok(HttpResponse::Ok().json(PageView::from_page(&executions, |e| ExecutionView::from(e))))
}

/// `GET /api/v1/executions`: the tenant's history, newest first, filtered, a keyset page at a
/// time (`nextCursor` gives the next one).
async fn history(
    state: web::Data<AppState>,
    auth: Authenticated,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    let wanted = history_query(&query, &mut errors);
    errors.into_result()?;
    let slice = state
        .executions
        .history(&auth.0, &wanted.filter, wanted.after, wanted.limit)
        .await?;
    let items: Vec<ExecutionView> = slice.items.iter().map(ExecutionView::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": items,
        "limit": wanted.limit,
        "nextCursor": slice.next.map(|cursor| cursor.encode()),
    })))
}

async fn cancel(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let execution = state.executions.cancel(&auth.0, execution_id(&id)?).await?;
    Ok(HttpResponse::Accepted().json(ExecutionView::from(&execution)))
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/scripts/{id}/execute").route(web::post().to(execute)))
        .service(web::resource("/scripts/{id}/executions").route(web::get().to(list)))
        .service(web::resource("/executions").route(web::get().to(history)))
        .service(web::resource("/executions/{id}").route(web::get().to(get)))
        .service(
            web::resource("/executions/{id}/stream")
                .route(web::get().to(super::execution_stream::stream)),
        )
        .service(web::resource("/executions/{id}/cancel").route(web::post().to(cancel)));
}
