//! Reading a request body up to a cap: a declared `Content-Length` over it is refused before
//! anything is read, and a streamed body is cut off as soon as it passes it.

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use futures::StreamExt;

#[derive(Debug)]
pub(super) enum BodyError {
    TooLarge,
    /// The client broke off or sent a malformed body.
    Broken(String),
}

/// The length the client declared, if it declared one.
pub(super) fn declared_length(request: &HttpRequest) -> Option<usize> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The whole body, or `TooLarge` as soon as it passes `max` bytes.
pub(super) async fn read(mut payload: web::Payload, max: usize) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| BodyError::Broken(e.to_string()))?;
        if body.len().saturating_add(chunk.len()) > max {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
