//! `/health/live` (the process answers) and `/health/ready` (its dependencies answer, and it
//! is not draining); and the 503 that routes starting new runs answer while the node drains.

use crate::AppState;
use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use async_trait::async_trait;
use serde_json::json;
use std::sync::Arc;

/// One dependency that readiness depends on, such as the database.
#[async_trait]
pub trait HealthCheck: Send + Sync {
    fn name(&self) -> &'static str;
    async fn check(&self) -> Result<(), String>;
}

#[derive(Clone, Default)]
pub struct HealthChecks(pub Vec<Arc<dyn HealthCheck>>);

#[get("/health/live")]
async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
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

#[get("/health/ready")]
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    if state.drain.is_draining() {
        return HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "draining", "checks": {} }));
    }
    let mut checks = serde_json::Map::new();
    let mut healthy = true;
    for check in &state.health.0 {
        let status = match check.check().await {
            Ok(()) => "ok".to_owned(),
            Err(error) => {
                healthy = false;
                tracing::warn!(check = check.name(), %error, "readiness check failed");
                "unavailable".to_owned()
            }
        };
        checks.insert(check.name().to_owned(), json!(status));
    }
    let body = json!({ "status": if healthy { "ok" } else { "unavailable" }, "checks": checks });
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

pub fn routes(config: &mut web::ServiceConfig) {
    config.service(live).service(ready);
}
