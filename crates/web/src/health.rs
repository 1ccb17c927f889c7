//! `/health/live` (the process answers and is not wedged) and `/health/ready` (its components
//! are well and it is not draining), answered from the state the components keep; and the 503
//! that routes starting new runs answer while the node drains.

use crate::AppState;
use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use serde_json::json;
use services::health::HealthComponent;
use std::sync::Arc;

/// The components each probe asks: `ready` for `/health/ready`, `live` for `/health/live`.
#[derive(Clone, Default)]
pub struct HealthChecks {
    pub ready: Vec<Arc<dyn HealthComponent>>,
    pub live: Vec<Arc<dyn HealthComponent>>,
}

/// The probe's answer: `checks` maps each component to `ok` or `unavailable`, `failing` names
/// the failing ones, `details` holds each one's figures and reason. 200 when all are well,
/// else 503.
fn answer(components: &[Arc<dyn HealthComponent>], failing_status: &str) -> HttpResponse {
    let mut checks = serde_json::Map::new();
    let mut details = serde_json::Map::new();
    let mut failing = Vec::new();
    for component in components {
        let state = component.state();
        let mut detail = state.detail;
        if let Some(reason) = &state.reason {
            detail.insert("reason".into(), json!(reason));
        }
        if !state.healthy {
            failing.push(component.name());
            tracing::warn!(component = component.name(), reason = ?state.reason, "health check failed");
        }
        let status = if state.healthy { "ok" } else { "unavailable" };
        checks.insert(component.name().to_owned(), json!(status));
        details.insert(
            component.name().to_owned(),
            serde_json::Value::Object(detail),
        );
    }
    let healthy = failing.is_empty();
    let body = json!({
        "status": if healthy { "ok" } else { failing_status },
        "checks": checks,
        "failing": failing,
        "details": details,
    });
    let mut response = if healthy {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// 200 while the process answers and its executor and background tasks are not wedged.
#[get("/health/live")]
async fn live(state: web::Data<AppState>) -> HttpResponse {
    answer(&state.health.live, "wedged")
}

/// How long a client refused by a draining node should wait, in seconds (another node, or
/// this one restarted, will take the request by then).
const DRAINING_RETRY_AFTER: &str = "5";

/// The answer to a request that would start a run while the node drains: 503 with
/// `Retry-After`; `None` when the node takes work.
pub fn refuse_while_draining(state: &AppState) -> Option<HttpResponse> {
    state.drain.is_draining().then(|| {
        HttpResponse::ServiceUnavailable()
            .insert_header((header::RETRY_AFTER, DRAINING_RETRY_AFTER))
            .json(json!({ "error": {
                "code": "DRAINING",
                "message": "the server is shutting down; try again shortly",
            }}))
    })
}

/// 200 when the node takes work: not draining, and the database, scheduler, executor and job
/// queue are well; 503 naming the failing ones otherwise.
#[get("/health/ready")]
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    if state.drain.is_draining() {
        return HttpResponse::ServiceUnavailable()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(
                json!({ "status": "draining", "checks": {}, "failing": ["drain"], "details": {} }),
            );
    }
    answer(&state.health.ready, "unavailable")
}

pub fn routes(config: &mut web::ServiceConfig) {
    config.service(live).service(ready);
}
