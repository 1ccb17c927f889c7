//! `GET /api/v1/executions/{id}/stream`: an execution's log lines as server-sent events while
//! it runs (`log`, one per line, numbered by `seq`), then its final record (`end`, the JSON of
//! `GET /api/v1/executions/{id}`); a comment keeps a quiet connection open.

use super::auth::Authenticated;
use super::dto::ExecutionView;
use super::errors::ApiError;
use crate::AppState;
use actix_web::{HttpResponse, web};
use domain::ExecutionId;
use services::FeedEvent;

/// One event as the text of the stream.
fn render(event: &FeedEvent) -> String {
    let (name, data) = match event {
        FeedEvent::Line(line) => ("log", serde_json::to_string(line.as_ref())),
        FeedEvent::End(execution) => (
            "end",
            serde_json::to_string(&ExecutionView::from(&**execution)),
        ),
        FeedEvent::KeepAlive => return ": keep-alive\n\n".to_owned(),
    };
    // JSON as serde writes it holds no raw line break, so one `data:` line carries it.
    let data = data.unwrap_or_else(|_| "null".to_owned());
    format!("event: {name}\ndata: {data}\n\n")
}

pub(super) async fn stream(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: ExecutionId = id
        .parse()
        .map_err(|_| ApiError::NotFound("execution not found".into()))?;
    let follow = state.executions.follow(&auth.0, id).await?;
    // Says how soon to reconnect; it also sends the headers at once.
    let opening = futures::stream::once(async { Ok(web::Bytes::from_static(b"retry: 2000\n\n")) });
    let events = futures::stream::unfold(follow, |mut follow| async move {
        let event = follow.next().await?;
        Some((
            Ok::<_, actix_web::Error>(web::Bytes::from(render(&event))),
            follow,
        ))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(futures::StreamExt::chain(opening, events)))
}
