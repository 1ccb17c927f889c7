//! `ApiError`: every failure of the JSON API, mapped to a status and a JSON body.
//! 5xx bodies reveal nothing; the cause is logged once, here.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use domain::ValidationErrors;
use domain::repository::RepoError;
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
    /// The database cannot be reached for now (503 with `Retry-After`): logged, never shown.
    #[error("the database is unavailable")]
    StorageUnavailable(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The database cannot write, its disk full (507): logged, never shown.
    #[error("the database cannot store more data")]
    StorageFull(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// A failure of the server, not of the request: logged with its causes, never shown.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl ApiError {
    /// A failure of the server: `StorageUnavailable` or `StorageFull` when a `RepoError` among
    /// its causes says the database is out of reach or full, else `Internal`.
    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        let (unavailable, full) = match storage_fault(&cause) {
            Some(RepoError::Unavailable(_)) => (true, false),
            Some(RepoError::StorageFull(_)) => (false, true),
            _ => (false, false),
        };
        let cause = Box::new(cause);
        if unavailable {
            ApiError::StorageUnavailable(cause)
        } else if full {
            ApiError::StorageFull(cause)
        } else {
            ApiError::Internal(cause)
        }
    }
}

/// The first `RepoError` among `error` and its causes.
pub(crate) fn storage_fault<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a RepoError> {
    let mut next = Some(error);
    while let Some(cause) = next {
        if let Some(repo) = cause.downcast_ref::<RepoError>() {
            return Some(repo);
        }
        next = cause.source();
    }
    None
}

/// Seconds a client is asked to wait before trying again while the database is unavailable.
pub(crate) const STORAGE_RETRY_AFTER: &str = "5";

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
            ApiError::StorageUnavailable(_) => "STORAGE_UNAVAILABLE",
            ApiError::StorageFull(_) => "STORAGE_FULL",
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
            ApiError::StorageUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::StorageFull(_) => StatusCode::INSUFFICIENT_STORAGE,
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
            ApiError::StorageUnavailable(cause) => {
                tracing::warn!(cause = %cause_chain(cause.as_ref()), "database unavailable");
                "the database is unavailable; try again shortly".to_owned()
            }
            ApiError::StorageFull(cause) => {
                tracing::error!(cause = %cause_chain(cause.as_ref()), "database full");
                "the database cannot store more data: its storage is full or refuses writes"
                    .to_owned()
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
        if matches!(self, ApiError::StorageUnavailable(_)) {
            response.insert_header((header::RETRY_AFTER, STORAGE_RETRY_AFTER));
        }
        response.json(json!({ "error": error }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn an_unreachable_or_full_database_is_a_503_or_507_that_names_it() {
        let cases = [
            (
                RepoError::Unavailable("load: no connection".into()),
                503,
                "STORAGE_UNAVAILABLE",
                Some("5"),
            ),
            (
                RepoError::StorageFull("save: write refused".into()),
                507,
                "STORAGE_FULL",
                None,
            ),
            (RepoError::Storage("x".into()), 500, "INTERNAL", None),
        ];
        for (repo, status, code, retry) in cases {
            let error = ApiError::from(ScriptError::Storage(repo));
            let response = error.error_response();
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(
                response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .map(|v| v.to_str().unwrap()),
                retry
            );
            let body = actix_web::body::to_bytes(response.into_body())
                .await
                .unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["error"]["code"], code, "{body}");
            assert!(!body.to_string().contains("no connection"), "{body}");
        }
    }

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
