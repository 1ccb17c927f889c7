//! A run's answer as an HTTP response: the script's status, headers and body, with the
//! execution's id in `X-Execution-Id`; 504 when it timed out, 500 (with the execution id and
//! nothing else) when it failed or returned something that cannot be sent.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use serde_json::json;
use services::endpoints::{Answer, EXECUTION_ID_HEADER, EndpointResponse, Reply, ResponseBody};

pub(super) fn render(answer: Answer) -> HttpResponse {
    let id = answer.execution_id;
    match answer.reply {
        Reply::Response(response) => {
            if !response.dropped.is_empty() {
                tracing::warn!(execution = %id, headers = ?response.dropped, "a script's response set platform headers; they were not sent");
            }
            match build(id, response) {
                Ok(built) => built,
                Err(reason) => {
                    tracing::warn!(execution = %id, %reason, "a script's response cannot be sent");
                    failure(id, StatusCode::INTERNAL_SERVER_ERROR, "INVALID_RESPONSE")
                }
            }
        }
        Reply::Invalid(reason) => {
            tracing::warn!(execution = %id, %reason, "a script's response cannot be sent");
            failure(id, StatusCode::INTERNAL_SERVER_ERROR, "INVALID_RESPONSE")
        }
        Reply::Timeout => failure(id, StatusCode::GATEWAY_TIMEOUT, "TIMEOUT"),
        Reply::Failed => failure(id, StatusCode::INTERNAL_SERVER_ERROR, "SCRIPT_FAILED"),
    }
}

fn failure(id: domain::ExecutionId, status: StatusCode, code: &str) -> HttpResponse {
    let message = match code {
        "TIMEOUT" => "the script did not answer within its time limit",
        "INVALID_RESPONSE" => "the script returned a response that cannot be sent",
        _ => "the script failed",
    };
    HttpResponse::build(status)
        .insert_header((EXECUTION_ID_HEADER, id.to_string()))
        .json(json!({ "error": { "code": code, "message": message, "executionId": id } }))
}

fn build(id: domain::ExecutionId, response: EndpointResponse) -> Result<HttpResponse, String> {
    let status = StatusCode::from_u16(response.status).map_err(|e| e.to_string())?;
    let mut builder = HttpResponse::build(status);
    let mut has_type = false;
    for (name, value) in &response.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
        let value = HeaderValue::from_str(value).map_err(|e| e.to_string())?;
        has_type |= name == header::CONTENT_TYPE;
        builder.append_header((name, value));
    }
    builder.insert_header((EXECUTION_ID_HEADER, id.to_string()));
    let (default_type, body) = match response.body {
        ResponseBody::Empty => return Ok(builder.finish()),
        ResponseBody::Text(text) => ("text/plain; charset=utf-8", text.into_bytes()),
        ResponseBody::Json(value) => ("application/json", value.to_string().into_bytes()),
    };
    if !has_type {
        builder.insert_header((header::CONTENT_TYPE, default_type));
    }
    Ok(builder.body(body))
}
