//! Handlers of schedule routes: preview the next fire times of a cron expression in a zone,
//! and the upcoming runs of a saved scheduled script.

use super::auth::Authenticated;
use super::dto::UpcomingRunsView;
use super::errors::ApiError;
use super::query::{Query, integer};
use crate::AppState;
use actix_web::{HttpResponse, web};
use domain::{ScriptId, ValidationErrors};
use services::PreviewSchedule;

/// `GET /cron/preview?expression=…&timezone=…&count=…`
async fn preview(
    state: web::Data<AppState>,
    auth: Authenticated,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    let request = PreviewSchedule {
        expression: query.get("expression").cloned().unwrap_or_default(),
        timezone: query.get("timezone").cloned().unwrap_or_default(),
        count: integer(&query, "count", &mut errors),
    };
    errors.into_result()?;
    let runs = state.scripts.preview_schedule(&auth.0, &request)?;
    Ok(HttpResponse::Ok().json(UpcomingRunsView::from(&runs)))
}

/// `GET /scripts/{id}/schedule?count=…`
async fn schedule(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    let id: ScriptId = id
        .parse()
        .map_err(|_| ApiError::NotFound("script not found".into()))?;
    let mut errors = ValidationErrors::new();
    let count = integer(&query, "count", &mut errors);
    errors.into_result()?;
    let runs = state.scripts.schedule(&auth.0, id, count).await?;
    Ok(HttpResponse::Ok().json(UpcomingRunsView::from(&runs)))
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/cron/preview").route(web::get().to(preview)))
        .service(web::resource("/scripts/{id}/schedule").route(web::get().to(schedule)));
}
