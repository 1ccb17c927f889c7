//! Handlers of `/api/v1/scripts`: parse, call one `ScriptService` function, render JSON.

use super::auth::Authenticated;
use super::dto::{PageView, ScriptBody, ScriptView, VersionView};
use super::errors::ApiError;
use super::json;
use super::query::{Query, page_request};
use crate::AppState;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::paging::ScriptFilter;
use domain::{ScriptId, ValidationErrors};
use services::UpdateScript;

/// Refuses a body that could not be read cleanly (wrong types, unknown fields), before any
/// service is called, adding what the script rules say of the rest so that every field's
/// problem is reported at once. The body's own errors come first: they explain a "required".
fn refuse_unreadable(
    state: &AppState,
    body: &ScriptBody,
    mut errors: ValidationErrors,
) -> Result<(), ApiError> {
    if errors.is_empty() {
        return Ok(());
    }
    if let Err(rule_errors) = state.scripts.rules().parse(&body.input) {
        for (field, message) in rule_errors.fields() {
            errors.add(field.clone(), message);
        }
    }
    Err(errors.into())
}

fn script_id(raw: &str) -> Result<ScriptId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound("script not found".into()))
}

async fn list(
    state: web::Data<AppState>,
    auth: Authenticated,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    let page = page_request(&query, &mut errors);
    let present = |key: &str| query.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let filter = ScriptFilter {
        script_type: present("type").and_then(|raw| errors.check("type", raw.parse())),
        status: present("status").and_then(|raw| errors.check("status", raw.parse())),
        search: present("search").map(str::to_owned),
    };
    errors.into_result()?;
    let scripts = state.scripts.list(&auth.0, &filter, page).await?;
    Ok(HttpResponse::Ok().json(PageView::from_page(&scripts, |s| ScriptView::from(s))))
}

async fn create(
    state: web::Data<AppState>,
    auth: Authenticated,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (body, mut errors) = ScriptBody::read(json::object(&request, &body)?);
    if body.change_summary.is_some() {
        errors.add("changeSummary", "is only accepted when updating");
    }
    refuse_unreadable(&state, &body, errors)?;
    let script = state.scripts.create(&auth.0, &body.input).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/scripts/{}", script.id)))
        .json(ScriptView::from(&script)))
}

async fn get(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let script = state.scripts.get(&auth.0, script_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(ScriptView::from(&script)))
}

async fn update(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = script_id(&id)?;
    let (body, errors) = ScriptBody::read(json::object(&request, &body)?);
    refuse_unreadable(&state, &body, errors)?;
    let command = UpdateScript {
        input: body.input,
        change_summary: body.change_summary,
    };
    let script = state.scripts.update(&auth.0, id, &command).await?;
    Ok(HttpResponse::Ok().json(ScriptView::from(&script)))
}

async fn delete(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.scripts.delete(&auth.0, script_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn versions(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    let page = page_request(&query, &mut errors);
    errors.into_result()?;
    let versions = state
        .scripts
        .versions(&auth.0, script_id(&id)?, page)
        .await?;
    Ok(HttpResponse::Ok().json(PageView::from_page(&versions, |v| VersionView::from(v))))
}

async fn restore(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, version) = path.into_inner();
    let id = script_id(&id)?;
    let version: i32 = version
        .parse()
        .map_err(|_| ApiError::NotFound(format!("version {version} not found")))?;
    let script = state.scripts.restore(&auth.0, id, version).await?;
    Ok(HttpResponse::Ok().json(ScriptView::from(&script)))
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/scripts")
                .route(web::get().to(list))
                .route(web::post().to(create)),
        )
        .service(web::resource("/scripts/test").route(web::post().to(super::trial::test_new)))
        .service(
            web::resource("/scripts/{id}")
                .route(web::get().to(get))
                .route(web::put().to(update))
                .route(web::delete().to(delete)),
        )
        .service(web::resource("/scripts/{id}/versions").route(web::get().to(versions)))
        .service(web::resource("/scripts/{id}/test").route(web::post().to(super::trial::test)))
        .service(
            web::resource("/scripts/{id}/versions/{version}/restore")
                .route(web::post().to(restore)),
        );
}
