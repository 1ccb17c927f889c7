//! `GET /metrics`: the Prometheus exposition of the product's metrics (see
//! `services::metrics`), with the executor's gauges read at the scrape. When the operator
//! set a token, a scrape must carry it as a bearer token.

use crate::AppState;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use std::sync::Arc;

/// How `/metrics` renders, and the token a scrape must carry (if any).
#[derive(Clone)]
pub struct MetricsExport {
    pub render: Arc<dyn Fn() -> String + Send + Sync>,
    pub token: Option<String>,
}

/// Whether the request carries `token` as its bearer token (compared in constant time).
fn carries(request: &HttpRequest, token: &str) -> bool {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

#[get("/metrics")]
async fn metrics(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(export) = &state.metrics else {
        return HttpResponse::NotFound().finish();
    };
    if let Some(token) = &export.token
        && !carries(&request, token)
    {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .finish();
    }
    let (active, capacity) = state.executions.executor_load();
    services::metrics::executor(active, capacity);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body((export.render)())
}

pub fn routes(config: &mut web::ServiceConfig) {
    config.service(metrics);
}
