//! `Authenticated`: the extractor that turns `Authorization: Bearer …` into an `Actor`; a
//! read (`GET`/`HEAD`) may instead carry the web pages' session cookie, so that the pages can
//! follow an execution's stream. Nothing that changes state is accepted with the cookie alone.

use super::errors::ApiError;
use crate::AppState;
use actix_web::dev::Payload;
use actix_web::http::{Method, header};
use actix_web::{FromRequest, HttpRequest, web};
use domain::Actor;
use futures::future::LocalBoxFuture;

pub struct Authenticated(pub Actor);

fn bearer(request: &HttpRequest) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The server was built without its `AppState`: a wiring mistake, never the client's.
#[derive(Debug, thiserror::Error)]
#[error("application state missing")]
struct StateMissing;

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(request);
        let read = matches!(*request.method(), Method::GET | Method::HEAD);
        let session = request
            .cookie(crate::ui::session::SESSION_COOKIE)
            .filter(|_| read)
            .map(|cookie| cookie.value().to_owned());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal(StateMissing))?;
            if let (None, Some(session)) = (&token, session) {
                return match state.accounts.authenticate_session(&session).await {
                    Ok(session) => Ok(Authenticated(session.actor)),
                    Err(services::AccountError::BadSession) => Err(ApiError::Unauthorized),
                    Err(other) => Err(other.into()),
                };
            }
            let token = token.ok_or(ApiError::Unauthorized)?;
            let actor = state.accounts.authenticate_token(&token).await?;
            Ok(Authenticated(actor))
        })
    }
}
