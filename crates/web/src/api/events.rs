//! Handlers of events and dead letters: publish an event, list and read dead letters, retry
//! one (optionally with an edited payload), discard one, redrive a script's.

use super::auth::Authenticated;
use super::errors::ApiError;
use super::json::{self, FieldReader};
use super::query::{Query, RangeEnd, integer, time};
use crate::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::jobs::{DeadLetter, DeadLetterFilter, DeadLetterStatus, LetterCursor};
use domain::{ScriptId, ValidationErrors};
use serde_json::{Value, json};
use services::events::EventError;
use uuid::Uuid;

impl From<EventError> for ApiError {
    fn from(error: EventError) -> Self {
        match error {
            EventError::Forbidden(forbidden) => ApiError::Forbidden(forbidden.to_string()),
            EventError::InvalidType(_) | EventError::Refused(_) => {
                let mut errors = ValidationErrors::new();
                let field = match &error {
                    EventError::InvalidType(_) => "type",
                    _ => "payload",
                };
                errors.add(field, error.to_string().trim_start_matches("type: "));
                errors.into()
            }
            EventError::NotFound => ApiError::NotFound("dead letter not found".into()),
            EventError::RateLimited => ApiError::TooManyRequests(error.to_string()),
            EventError::AlreadyHandled(_) => ApiError::Conflict(error.to_string()),
            EventError::Storage(_) | EventError::Queue(_) => ApiError::internal(error),
        }
    }
}

fn letter_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound("dead letter not found".into()))
}

fn view(letter: &DeadLetter) -> Value {
    let delivery = &letter.delivery;
    json!({
        "id": letter.id,
        "scriptId": delivery.script_id,
        "scriptVersion": letter.script_version,
        "eventId": delivery.event_id,
        "eventType": delivery.event_type,
        "payload": delivery.payload,
        "publishedAt": delivery.published_at,
        "error": letter.error,
        "attempts": letter.attempts,
        "lastExecutionId": letter.last_execution_id,
        "retryOf": delivery.retry_of,
        "status": letter.status,
        "createdAt": letter.created_at,
        "handledAt": letter.handled_at,
    })
}

async fn publish(
    state: web::Data<AppState>,
    auth: Authenticated,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    let mut reader = FieldReader::new(json::object(&request, &body)?, "", &mut errors);
    let event_type: Option<String> = reader.take("type", "a string");
    let payload: Option<Value> = reader.take("payload", "any JSON value");
    reader.finish();
    if event_type.is_none() && !errors.fields().contains_key("type") {
        errors.add("type", "is required");
    }
    errors.into_result()?;
    let event = state
        .events
        .publish(
            &auth.0,
            &event_type.unwrap_or_default(),
            payload.unwrap_or(Value::Null),
        )
        .await?;
    Ok(HttpResponse::Accepted().json(json!({
        "eventId": event.event_id,
        "type": event.event_type.as_str(),
        "timestamp": event.timestamp,
        "depth": event.depth,
    })))
}

async fn list(
    state: web::Data<AppState>,
    auth: Authenticated,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    let script_id = query
        .get("scriptId")
        .filter(|s| !s.is_empty())
        .and_then(|raw| {
            errors.check(
                "scriptId",
                raw.parse::<ScriptId>().map_err(|_| "is not a script id"),
            )
        });
    let status = query
        .get("status")
        .filter(|s| !s.is_empty())
        .and_then(|raw| {
            errors.check(
                "status",
                DeadLetterStatus::parse(raw).ok_or("is not one of pending, retried, discarded"),
            )
        });
    let limit = integer(&query, "limit", &mut errors).unwrap_or(50);
    if !(1..=500).contains(&limit) {
        errors.add("limit", "must be 1–500");
    }
    let filter = DeadLetterFilter {
        script_id,
        event_type: query.get("eventType").filter(|s| !s.is_empty()).cloned(),
        status,
        from: time(&query, "from", RangeEnd::From, &mut errors),
        to: time(&query, "to", RangeEnd::To, &mut errors),
        after: query
            .get("cursor")
            .filter(|s| !s.is_empty())
            .and_then(|raw| errors.check("cursor", LetterCursor::parse(raw))),
    };
    errors.into_result()?;
    let limit = limit.unsigned_abs();
    let mut letters = state
        .events
        .dead_letters(&auth.0, &filter, limit + 1)
        .await?;
    // One more than the page, read to know whether another page follows.
    let more = letters.len() as u64 > limit;
    letters.truncate(limit as usize);
    let next = letters
        .last()
        .filter(|_| more)
        .map(|last| LetterCursor::after(last).encode());
    let items: Vec<Value> = letters.iter().map(view).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "nextCursor": next })))
}

async fn get(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let letter = state.events.dead_letter(&auth.0, letter_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(view(&letter)))
}

async fn retry(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = letter_id(&id)?;
    let payload = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let mut errors = ValidationErrors::new();
        let mut reader = FieldReader::new(json::object(&request, &body)?, "", &mut errors);
        let payload: Option<Value> = reader.take("payload", "any JSON value");
        reader.finish();
        errors.into_result()?;
        payload
    };
    let letter = state.events.retry(&auth.0, id, payload).await?;
    Ok(HttpResponse::Accepted().json(json!({ "id": letter.id, "status": "retried" })))
}

async fn discard(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let letter = state.events.discard(&auth.0, letter_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(json!({ "id": letter.id, "status": "discarded" })))
}

async fn redrive(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let script: ScriptId = id
        .parse()
        .map_err(|_| ApiError::NotFound("script not found".into()))?;
    let retried = state.events.redrive(&auth.0, script).await?;
    Ok(HttpResponse::Accepted().json(json!({ "retried": retried })))
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/events").route(web::post().to(publish)))
        .service(web::resource("/dead-letters").route(web::get().to(list)))
        .service(web::resource("/dead-letters/{id}").route(web::get().to(get)))
        .service(web::resource("/dead-letters/{id}/retry").route(web::post().to(retry)))
        .service(web::resource("/dead-letters/{id}/discard").route(web::post().to(discard)))
        .service(
            web::resource("/scripts/{id}/dead-letters/redrive").route(web::post().to(redrive)),
        );
}
