//! The HTTP face of IOTA Scripts: the JSON API under `/api/v1`, script HTTP endpoints, health
//! probes, and the web pages (`ui/`). The only crate that knows HTTP.

pub mod api;
pub mod endpoints;
pub mod health;
pub mod metrics;
pub mod ui;

// Every string of the pages, in English, Russian and Uzbek (`locales/app.yml`).
rust_i18n::i18n!("locales", fallback = "en");

use actix_web::web;
use services::{AccountService, EndpointService, ExecutionService, ScriptService};
use std::sync::Arc;

pub use health::HealthChecks;

/// What every handler may reach: the services, and the checks behind `/health/ready`.
#[derive(Clone)]
pub struct AppState {
    pub scripts: Arc<ScriptService>,
    pub executions: Arc<ExecutionService>,
    pub accounts: Arc<AccountService>,
    pub events: Arc<services::events::EventService>,
    /// The durable job queue (asynchronous runs).
    pub queue: Arc<dyn domain::jobs::JobQueue>,
    /// Script HTTP endpoints (`/api/scripts/…`, `/hooks/…`).
    pub endpoints: Arc<EndpointService>,
    pub health: HealthChecks,
    /// This node's drain: once started, readiness fails and new runs are refused with 503.
    pub drain: services::Drain,
    /// The largest JSON body accepted; larger requests get 413 before parsing.
    pub max_body_bytes: usize,
    /// `/metrics` (404 when the operator turned metrics off).
    pub metrics: Option<metrics::MetricsExport>,
}

/// Registers every route of the product on an actix `App`.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config: &mut web::ServiceConfig| {
        let max_body_bytes = state.max_body_bytes;
        config
            .app_data(web::Data::new(state))
            .app_data(web::PayloadConfig::new(max_body_bytes))
            .configure(health::routes)
            .configure(metrics::routes)
            .configure(endpoints::routes)
            .service(web::scope("/api/v1").configure(api::routes))
            .configure(ui::routes)
            .default_service(ui::default_service());
    }
}
