//! `ApiError`: every failure of the JSON API, mapped to a status and a JSON body.
//! 5xx bodies reveal nothing; the cause is logged once, here.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use domain::ValidationErrors;
use serde_json::json;
use services::{AccountError, ExecutionServiceError, ScriptError};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid input")]
    Invalid(BTreeMap<String, String>),
    #[error("{0}")]
    MalformedJson(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// A failure of the server, not of the request: logged with its causes, never shown.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl ApiError {
    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::Internal(Box::new(cause))
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        ApiError::Invalid(errors.fields().clone())
    }
}

impl From<ScriptError> for ApiError {
    fn from(error: ScriptError) -> Self {
        match error {
            ScriptError::NotFound => ApiError::NotFound("script not found".into()),
            ScriptError::VersionNotFound(n) => ApiError::NotFound(format!("version {n} not found")),
            ScriptError::Forbidden(forbidden) => ApiError::Forbidden(forbidden.to_string()),
            ScriptError::Invalid(errors) => errors.into(),
            ScriptError::Conflict(_)
            | ScriptError::AlreadyFinished
            | ScriptError::NotScheduled(_) => ApiError::Conflict(error.to_string()),
            ScriptError::Busy(limit) => ApiError::TooManyRequests(limit.to_string()),
            ScriptError::Engine(_) | ScriptError::Storage(_) => ApiError::internal(error),
        }
    }
}

impl From<ExecutionServiceError> for ApiError {
    fn from(error: ExecutionServiceError) -> Self {
        match error {
            ExecutionServiceError::ScriptNotFound => ApiError::NotFound("script not found".into()),
            ExecutionServiceError::NotFound => ApiError::NotFound("execution not found".into()),
            ExecutionServiceError::Forbidden(forbidden) => {
                ApiError::Forbidden(forbidden.to_string())
            }
            ExecutionServiceError::Busy(limit) => ApiError::TooManyRequests(limit.to_string()),
            ExecutionServiceError::AlreadyFinished | ExecutionServiceError::AlreadyStarted => {
                ApiError::Conflict(error.to_string())
            }
            ExecutionServiceError::Storage(_) | ExecutionServiceError::Engine(_) => {
                ApiError::internal(error)
            }
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::BadToken => ApiError::Unauthorized,
            other => ApiError::internal(other),
        }
    }
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            ApiError::Invalid(_) => "VALIDATION_FAILED",
            ApiError::MalformedJson(_) => "MALFORMED_JSON",
            ApiError::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            ApiError::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            ApiError::Unauthorized => "UNAUTHORIZED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::TooManyRequests(_) => "RATE_LIMIT",
            ApiError::Internal(_) => "INTERNAL",
        }
    }
}

/// An error and its causes, outermost first: `storage failure: connection refused`.
fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        next = cause.source();
    }
    chain
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) | ApiError::MalformedJson(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            ApiError::Invalid(_) => "the request has invalid fields".to_owned(),
            ApiError::Internal(cause) => {
                tracing::error!(cause = %cause_chain(cause.as_ref()), "internal error");
                "an internal error occurred".to_owned()
            }
            other => other.to_string(),
        };
        let mut error = json!({ "code": self.code(), "message": message });
        if let ApiError::Invalid(fields) = self {
            error["fields"] = json!(fields);
            // A source that does not compile: where, for an editor's marker.
            if let Some((line, column)) = fields
                .get("source")
                .and_then(|message| services::executions::source_position(message))
            {
                error["source"] = json!({ "line": line, "column": column });
            }
        }
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Unauthorized) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if matches!(self, ApiError::TooManyRequests(_)) {
            response.insert_header((header::RETRY_AFTER, "1"));
        }
        response.json(json!({ "error": error }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::repository::RepoError;

    #[test]
    fn the_cause_chain_names_every_cause_outermost_first() {
        let error = ScriptError::Storage(RepoError::Storage("connection refused".into()));
        assert_eq!(
            cause_chain(&error),
            "storage failure: storage failure: connection refused"
        );
    }

    #[actix_web::test]
    async fn a_5xx_body_reveals_nothing_of_its_cause() {
        let error = ApiError::from(ScriptError::Storage(RepoError::Storage(
            "password authentication failed for user \"iota\"".into(),
        )));
        assert_eq!(error.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = actix_web::body::to_bytes(error.error_response().into_body())
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            json!({ "error": { "code": "INTERNAL", "message": "an internal error occurred" } })
        );
    }
}
