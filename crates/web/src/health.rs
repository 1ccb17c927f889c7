//! `/health/live` (the process answers) and `/health/ready` (its dependencies answer).

use crate::AppState;
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

#[get("/health/ready")]
async fn ready(state: web::Data<AppState>) -> HttpResponse {
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
