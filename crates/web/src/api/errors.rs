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
    #[error("internal error")]
    Internal(String),
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
            ScriptError::Conflict(message) => ApiError::Conflict(message),
            ScriptError::Busy(message) => ApiError::TooManyRequests(message),
            ScriptError::Engine(message) => ApiError::Internal(format!("engine: {message}")),
            ScriptError::Storage(source) => ApiError::Internal(format!("script storage: {source}")),
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
            ExecutionServiceError::Busy(message) => ApiError::TooManyRequests(message),
            ExecutionServiceError::AlreadyFinished => ApiError::Conflict(error.to_string()),
            ExecutionServiceError::Storage(source) => {
                ApiError::Internal(format!("execution storage: {source}"))
            }
            ExecutionServiceError::Engine(message) => {
                ApiError::Internal(format!("engine: {message}"))
            }
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::BadToken => ApiError::Unauthorized,
            other => ApiError::Internal(format!("accounts: {other}")),
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
                tracing::error!(cause = cause.as_str(), "internal error");
                "an internal error occurred".to_owned()
            }
            other => other.to_string(),
        };
        let mut error = json!({ "code": self.code(), "message": message });
        if let ApiError::Invalid(fields) = self {
            error["fields"] = json!(fields);
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
