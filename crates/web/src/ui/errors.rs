//! `UiError`: every failure of a page or fragment, rendered as a page of its own (403, 404,
//! 409, 500…) in the user's language, or as a small fragment for an HTMX request. A 5xx is
//! logged once here with its causes; its page reveals nothing of them.

use super::i18n::Lang;
use super::layout;
use super::theme::Theme;
use crate::api::errors::{STORAGE_RETRY_AFTER, storage_fault};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use domain::repository::RepoError;
use maud::html;
use services::events::EventError;
use services::{AccountError, ExecutionServiceError, ScriptError};

#[derive(Debug)]
pub enum UiErrorKind {
    /// No session: the sign-in page, then back to `next`.
    SignIn {
        next: String,
    },
    Forbidden,
    NotFound,
    /// A request without this session's CSRF token, or from another origin.
    Csrf,
    Conflict(String),
    TooMany(String),
    Internal(Box<dyn std::error::Error + Send + Sync + 'static>),
}

#[derive(Debug, thiserror::Error)]
#[error("{kind:?}")]
pub struct UiError {
    pub kind: UiErrorKind,
    pub lang: Lang,
    pub theme: Theme,
    /// An HTMX request gets a fragment, not a page.
    pub htmx: bool,
}

impl UiErrorKind {
    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        UiErrorKind::Internal(Box::new(cause))
    }
}

impl From<ScriptError> for UiErrorKind {
    fn from(error: ScriptError) -> Self {
        match error {
            ScriptError::NotFound | ScriptError::VersionNotFound(_) => UiErrorKind::NotFound,
            ScriptError::Forbidden(_) => UiErrorKind::Forbidden,
            ScriptError::Conflict(_)
            | ScriptError::AlreadyFinished
            | ScriptError::NotScheduled(_)
            | ScriptError::Invalid(_) => UiErrorKind::Conflict(error.to_string()),
            ScriptError::Busy(limit) => UiErrorKind::TooMany(limit.to_string()),
            ScriptError::Engine(_) | ScriptError::Storage(_) => UiErrorKind::internal(error),
        }
    }
}

impl From<ExecutionServiceError> for UiErrorKind {
    fn from(error: ExecutionServiceError) -> Self {
        match error {
            ExecutionServiceError::ScriptNotFound | ExecutionServiceError::NotFound => {
                UiErrorKind::NotFound
            }
            ExecutionServiceError::Forbidden(_) => UiErrorKind::Forbidden,
            ExecutionServiceError::Busy(limit) => UiErrorKind::TooMany(limit.to_string()),
            ExecutionServiceError::AlreadyFinished | ExecutionServiceError::AlreadyStarted => {
                UiErrorKind::Conflict(error.to_string())
            }
            ExecutionServiceError::Storage(_) | ExecutionServiceError::Engine(_) => {
                UiErrorKind::internal(error)
            }
        }
    }
}

impl From<EventError> for UiErrorKind {
    fn from(error: EventError) -> Self {
        match error {
            EventError::NotFound => UiErrorKind::NotFound,
            EventError::Forbidden(_) => UiErrorKind::Forbidden,
            EventError::AlreadyHandled(_) | EventError::InvalidType(_) | EventError::Refused(_) => {
                UiErrorKind::Conflict(error.to_string())
            }
            EventError::RateLimited => UiErrorKind::TooMany(error.to_string()),
            EventError::Storage(_) | EventError::Queue(_) => UiErrorKind::internal(error),
        }
    }
}

impl From<AccountError> for UiErrorKind {
    fn from(error: AccountError) -> Self {
        UiErrorKind::internal(error)
    }
}

impl From<domain::actor::Forbidden> for UiErrorKind {
    fn from(_: domain::actor::Forbidden) -> Self {
        UiErrorKind::Forbidden
    }
}

/// Turns a service's error into the page's, in the page's language.
pub trait OrPage<T> {
    fn or_page(self, context: &impl PageContext) -> Result<T, UiError>;
}

/// What an error page needs to know of the request it answers.
pub trait PageContext {
    fn lang(&self) -> Lang;
    fn theme(&self) -> Theme;
    fn htmx(&self) -> bool;
    fn fail(&self, kind: UiErrorKind) -> UiError {
        UiError {
            kind,
            lang: self.lang(),
            theme: self.theme(),
            htmx: self.htmx(),
        }
    }
}

impl<T, E: Into<UiErrorKind>> OrPage<T> for Result<T, E> {
    fn or_page(self, context: &impl PageContext) -> Result<T, UiError> {
        self.map_err(|error| context.fail(error.into()))
    }
}

/// An error and its causes, outermost first.
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

impl ResponseError for UiError {
    fn status_code(&self) -> StatusCode {
        match &self.kind {
            UiErrorKind::SignIn { .. } => StatusCode::SEE_OTHER,
            UiErrorKind::Forbidden | UiErrorKind::Csrf => StatusCode::FORBIDDEN,
            UiErrorKind::NotFound => StatusCode::NOT_FOUND,
            UiErrorKind::Conflict(_) => StatusCode::CONFLICT,
            UiErrorKind::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            UiErrorKind::Internal(cause) => match storage_fault(cause.as_ref()) {
                Some(RepoError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
                Some(RepoError::StorageFull(_)) => StatusCode::INSUFFICIENT_STORAGE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    fn error_response(&self) -> HttpResponse {
        let lang = self.lang;
        let status = self.status_code();
        let (title, message) = match &self.kind {
            UiErrorKind::SignIn { next } => {
                let location = format!("/login?next={}", layout::encode(next));
                if self.htmx {
                    return HttpResponse::Ok()
                        .insert_header(("HX-Redirect", location))
                        .finish();
                }
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, location))
                    .finish();
            }
            UiErrorKind::Forbidden => (
                lang.t("error.forbidden.title"),
                lang.t("error.forbidden.body"),
            ),
            UiErrorKind::Csrf => (lang.t("error.forbidden.title"), lang.t("error.csrf.body")),
            UiErrorKind::NotFound => (
                lang.t("error.not_found.title"),
                lang.t("error.not_found.body"),
            ),
            UiErrorKind::Conflict(detail) => (lang.t("error.conflict.title"), detail.clone()),
            UiErrorKind::TooMany(detail) => (lang.t("error.busy.title"), detail.clone()),
            // The database out of reach or full: said as such (503 with `Retry-After`, 507),
            // as the JSON API does, for the page to be tried again rather than reported.
            UiErrorKind::Internal(cause) if status == StatusCode::SERVICE_UNAVAILABLE => {
                tracing::warn!(error = %cause_chain(cause.as_ref()), "web page: the database is unavailable");
                (
                    lang.t("error.unavailable.title"),
                    lang.t("error.unavailable.body"),
                )
            }
            UiErrorKind::Internal(cause) if status == StatusCode::INSUFFICIENT_STORAGE => {
                tracing::error!(error = %cause_chain(cause.as_ref()), "web page: the database is full");
                (lang.t("error.full.title"), lang.t("error.full.body"))
            }
            UiErrorKind::Internal(cause) => {
                tracing::error!(error = %cause_chain(cause.as_ref()), "web page failed");
                (
                    lang.t("error.internal.title"),
                    lang.t("error.internal.body"),
                )
            }
        };
        let body = if self.htmx {
            html! { div.alert.error role="alert" { strong { (title) } " " (message) } }
        } else {
            layout::bare(
                lang,
                self.theme,
                &title,
                html! {
                    main.narrow {
                        h1 { (status.as_u16()) " · " (title) }
                        p { (message) }
                        p { a href="/" { (lang.t("error.home")) } }
                    }
                },
            )
        };
        let mut response = HttpResponse::build(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, STORAGE_RETRY_AFTER));
        }
        response
            .content_type("text/html; charset=utf-8")
            .body(body.into_string())
    }
}
