//! `Authenticated`: the extractor that turns `Authorization: Bearer …` into an `Actor`.

use super::errors::ApiError;
use crate::AppState;
use actix_web::dev::Payload;
use actix_web::http::header;
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
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal(StateMissing))?;
            let token = token.ok_or(ApiError::Unauthorized)?;
            let actor = state.accounts.authenticate_token(&token).await?;
            Ok(Authenticated(actor))
        })
    }
}
