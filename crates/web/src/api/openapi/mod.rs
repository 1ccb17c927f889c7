//! The OpenAPI 3.1 document of the JSON API, served at `/api/v1/openapi.json`, and a
//! browsable page of it at `/api/v1/docs` (Swagger UI from its npm package, served by the
//! binary: no CDN). The operations are declared in `scripts.rs` and `runs.rs` beside their
//! shapes in `schemas.rs` and `event_schemas.rs`; the `openapi` integration test checks that every route the server
//! has is documented, every documented route answers, and real answers match the shapes.

mod event_schemas;
mod runs;
mod schemas;
mod scripts;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use rust_embed::RustEmbed;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

/// The installed Swagger UI (that of `assets/package.json`; a test keeps them in step).
pub const SWAGGER_UI_VERSION: &str = "5.32.0";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "IOTA Scripts API",
        description = "Scripts, their versions and schedules, runs, events and dead letters of \
                       one tenant. Every call carries a bearer token (`Authorization: Bearer …`) \
                       of a user of the tenant; bodies and answers are JSON in camelCase; \
                       errors are `{\"error\": {\"code\", \"message\", \"fields\"?}}`."
    ),
    paths(
        scripts::list_scripts,
        scripts::create_script,
        scripts::get_script,
        scripts::update_script,
        scripts::delete_script,
        scripts::list_versions,
        scripts::restore_version,
        scripts::preview_cron,
        scripts::script_schedule,
        runs::execute_script,
        runs::list_script_executions,
        runs::list_executions,
        runs::get_execution,
        runs::stream_execution,
        runs::cancel_execution,
        runs::publish_event,
        runs::list_dead_letters,
        runs::get_dead_letter,
        runs::retry_dead_letter,
        runs::discard_dead_letter,
        runs::redrive_dead_letters,
        runs::test_script,
        runs::test_new_script,
        openapi_document,
        health_live,
        health_ready,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "scripts", description = "Scripts and their versions"),
        (name = "schedules", description = "Cron previews and upcoming runs"),
        (name = "executions", description = "Runs: start, follow, cancel, history"),
        (name = "events", description = "Domain events and dead letters"),
        (name = "operations", description = "The document itself and the health probes"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "An API token of a user of the tenant (`iota-scripts token create`), or a \
                 signed-in session of the web pages",
            ))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
        // Every operation that needs a token also answers 401 without one, 403 when the
        // user's role does not allow it, and 503 or 507 when the database cannot serve it.
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                if operation.security.is_some() {
                    continue;
                }
                for (status, description) in [
                    ("401", "No token, or an unknown or expired one"),
                    ("403", "The user's role does not allow it"),
                    (
                        "503",
                        "The database does not answer (`STORAGE_UNAVAILABLE`, with `Retry-After`), or the node drains (`DRAINING`)",
                    ),
                    ("507", "The database's disk is full (`STORAGE_FULL`)"),
                ] {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error_response(description));
                }
            }
        }
    }
}

fn error_response(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/json", content)
            .build(),
    )
}

/// This document
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", security(()),
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json", body = Object)))]
async fn openapi_document() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .content_type("application/json")
        .body(document())
}

/// The document as JSON.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_owned())
}

/// Liveness: the process answers and is not wedged
#[utoipa::path(get, path = "/health/live", tag = "operations", security(()),
    responses(
        (status = 200, body = event_schemas::Health),
        (status = 503, description = "Wedged: the failing components are named", body = event_schemas::Health),
    ))]
#[allow(dead_code)]
fn health_live() {}

/// Readiness: the node takes work
///
/// Database, scheduler, executor and job queue, answered from the state they keep; 503 names
/// the failing ones (or `draining`).
#[utoipa::path(get, path = "/health/ready", tag = "operations", security(()),
    responses(
        (status = 200, body = event_schemas::Health),
        (status = 503, description = "Not ready: the failing components are named", body = event_schemas::Health),
    ))]
#[allow(dead_code)]
fn health_ready() {}

/// Swagger UI's files, from its npm package.
#[derive(RustEmbed)]
#[folder = "assets/node_modules/swagger-ui-dist/"]
#[include = "swagger-ui-bundle.js"]
#[include = "swagger-ui.css"]
struct SwaggerUi;

/// The page's own script: Swagger UI on the document, and no inline script.
const DOCS_SCRIPT: &str = r#"window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ url: '/api/v1/openapi.json', dom_id: '#api', deepLinking: true });
});
"#;

async fn docs_page() -> HttpResponse {
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "IOTA Scripts API" }
                link rel="stylesheet" href=(format!("/api/v1/docs/{SWAGGER_UI_VERSION}/swagger-ui.css"));
            }
            body {
                div #api {}
                script src=(format!("/api/v1/docs/{SWAGGER_UI_VERSION}/swagger-ui-bundle.js")) {}
                script src=(format!("/api/v1/docs/{SWAGGER_UI_VERSION}/docs.js")) {}
            }
        }
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page.into_string())
}

async fn docs_asset(path: web::Path<(String, String)>) -> HttpResponse {
    let (version, file) = path.into_inner();
    let body = match file.as_str() {
        _ if version != SWAGGER_UI_VERSION => None,
        "docs.js" => Some(DOCS_SCRIPT.as_bytes().to_vec()),
        _ => SwaggerUi::get(&file).map(|f| f.data.into_owned()),
    };
    let Some(body) = body else {
        return HttpResponse::NotFound().finish();
    };
    let content_type = if file.ends_with(".css") {
        "text/css; charset=utf-8"
    } else {
        "text/javascript; charset=utf-8"
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(body)
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/openapi.json").route(web::get().to(openapi_document)))
        .service(web::resource("/docs").route(web::get().to(docs_page)))
        .service(web::resource("/docs/{version}/{file}").route(web::get().to(docs_asset)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_swagger_ui_is_the_installed_one() {
        let manifest: serde_json::Value =
            serde_json::from_str(include_str!("../../../assets/package.json")).unwrap();
        assert_eq!(
            manifest["dependencies"]["swagger-ui-dist"],
            SWAGGER_UI_VERSION
        );
        assert!(SwaggerUi::get("swagger-ui-bundle.js").is_some());
        assert!(SwaggerUi::get("swagger-ui.css").is_some());
        assert!(SwaggerUi::get("index.html").is_none());
    }

    #[test]
    fn the_document_names_every_schema_it_refers_to() {
        let document: serde_json::Value = serde_json::from_str(&document()).unwrap();
        let schemas = &document["components"]["schemas"];
        let text = document.to_string();
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap();
            assert!(
                schemas.get(name).is_some(),
                "{name} is referred to, not defined"
            );
        }
        assert!(document["components"]["securitySchemes"]["bearer"].is_object());
    }
}
