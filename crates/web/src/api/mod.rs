//! The JSON API (`/api/v1`): bearer tokens, camelCase bodies, errors as
//! `{"error": {"code", "message", "fields"?}}`.

mod auth;
mod cron;
pub(crate) mod dto;
pub(crate) mod errors;
mod events;
mod execution_stream;
mod executions;
pub(crate) mod history;
mod json;
pub mod openapi;
pub(crate) mod query;
mod scripts;
mod trial;

pub use auth::Authenticated;
pub use errors::ApiError;

use actix_web::web;

pub fn routes(config: &mut web::ServiceConfig) {
    scripts::routes(config);
    executions::routes(config);
    cron::routes(config);
    events::routes(config);
    openapi::routes(config);
    config.default_service(web::route().to(not_found));
}

async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such API route".into()))
}
