//! Script HTTP endpoints: `ANY /api/scripts/{path}` for holders of an API token of the tenant
//! (with `scripts.execute`), and `ANY /hooks/{tenantSlug}/{path}` with no credentials, for
//! public endpoints only. Refusals before a run (401, 403, 404, 405, 413, 429) store nothing;
//! `reply.rs` turns what a run produced into the response.

mod body;
mod reply;

use crate::AppState;
use crate::api::{ApiError, Authenticated};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use domain::TenantId;
use serde_json::json;
use services::endpoints::{Access, EndpointError, IncomingRequest};

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/api/scripts/{path:.*}").route(web::route().to(member)))
        .service(web::resource("/hooks/{slug}/{path:.*}").route(web::route().to(public)));
}

async fn member(
    request: HttpRequest,
    Authenticated(actor): Authenticated,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let response = serve(
        &state,
        actor.tenant_id,
        Access::Member(&actor),
        &request,
        payload,
    )
    .await;
    services::metrics::endpoint_response(response.status().as_u16());
    response
}

async fn public(
    request: HttpRequest,
    slug: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let response = match state.endpoints.tenant_of_slug(&slug.0).await {
        Ok(Some(tenant)) => serve(&state, tenant, Access::Public, &request, payload).await,
        Ok(None) => refusal(EndpointError::NotFound),
        Err(error) => refusal(error),
    };
    services::metrics::endpoint_response(response.status().as_u16());
    response
}

/// The path after the prefix, with its leading `/`.
fn endpoint_path(request: &HttpRequest) -> String {
    format!("/{}", request.match_info().get("path").unwrap_or(""))
}

async fn serve(
    state: &AppState,
    tenant: TenantId,
    access: Access<'_>,
    request: &HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    if let Some(refusal) = crate::health::refuse_while_draining(state) {
        return refusal;
    }
    let endpoints = &state.endpoints;
    let path = endpoint_path(request);
    let method = request.method().as_str().to_ascii_uppercase();
    let route = match endpoints.route(tenant, access, &method, &path).await {
        Ok(route) => route,
        Err(error) => return refusal(error),
    };
    let max_body_bytes = endpoints.config().max_body_bytes;
    if body::declared_length(request).is_some_and(|length| length > max_body_bytes) {
        return too_large(max_body_bytes);
    }
    if let Err(error) = endpoints.admit(&route) {
        services::metrics::refused("endpoint_rate");
        return refusal(error);
    }
    let body = match body::read(payload, max_body_bytes).await {
        Ok(body) => body,
        Err(body::BodyError::TooLarge) => return too_large(max_body_bytes),
        Err(body::BodyError::Broken(message)) => {
            return HttpResponse::BadRequest().json(error_body("BAD_REQUEST", &message));
        }
    };
    let incoming = IncomingRequest {
        method,
        path,
        query: request.query_string().to_owned(),
        headers: request
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect(),
        body,
    };
    match endpoints.call(access, route, &incoming).await {
        Ok(answer) => reply::render(answer),
        Err(error) => refusal(error),
    }
}

fn error_body(code: &str, message: &str) -> serde_json::Value {
    json!({ "error": { "code": code, "message": message } })
}

fn too_large(max: usize) -> HttpResponse {
    let message = format!("the request body is larger than {max} bytes");
    HttpResponse::PayloadTooLarge().json(error_body("PAYLOAD_TOO_LARGE", &message))
}

/// Seconds to wait, rounded up, at least one.
fn retry_after(wait: std::time::Duration) -> String {
    wait.as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0))
        .max(1)
        .to_string()
}

/// The answer to a request refused before (or instead of) a run.
fn refusal(error: EndpointError) -> HttpResponse {
    let message = error.to_string();
    match error {
        EndpointError::NotFound => HttpResponse::NotFound().json(error_body("NOT_FOUND", &message)),
        EndpointError::MethodNotAllowed { allow } => {
            let allow = allow
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            HttpResponse::MethodNotAllowed()
                .insert_header((header::ALLOW, allow))
                .json(error_body("METHOD_NOT_ALLOWED", &message))
        }
        EndpointError::Forbidden(_) => {
            HttpResponse::Forbidden().json(error_body("FORBIDDEN", &message))
        }
        EndpointError::RateLimited { retry_after: wait }
        | EndpointError::Busy { retry_after: wait } => HttpResponse::TooManyRequests()
            .insert_header((header::RETRY_AFTER, retry_after(wait)))
            .json(error_body("RATE_LIMIT", &message)),
        EndpointError::MalformedBody(_) => {
            HttpResponse::BadRequest().json(error_body("MALFORMED_JSON", &message))
        }
        EndpointError::Storage(_) | EndpointError::Run(_) => {
            ApiError::internal(error).error_response()
        }
    }
}
