//! The script pages: list, new/edit form, script page with its history and manual runs,
//! versions with their diff and restore.

mod form;
mod list;
mod save;
mod show;
mod versions;

use super::errors::{PageContext, UiError, UiErrorKind};
use super::session::Page;
use crate::AppState;
use actix_web::{HttpResponse, web};
use domain::ScriptId;
use domain::execution::Execution;
use domain::paging::PageRequest;
use maud::Markup;
use std::collections::HashMap;

/// A path's script id; one that does not parse is a script that is not found.
pub fn script_id(page: &Page, raw: &str) -> Result<ScriptId, UiError> {
    raw.parse().map_err(|_| page.fail(UiErrorKind::NotFound))
}

pub fn html(markup: Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

/// The last execution of each script (one indexed read per script, concurrently); a script
/// whose history cannot be read shows none.
pub async fn last_runs(
    state: &AppState,
    page: &Page,
    ids: impl Iterator<Item = ScriptId>,
) -> HashMap<ScriptId, Execution> {
    let one = PageRequest { page: 1, limit: 1 };
    let reads = ids.map(|id| async move {
        let found = state.executions.list(page.actor(), id, None, one).await;
        found
            .ok()
            .and_then(|page| page.items.into_iter().next())
            .map(|run| (id, run))
    });
    futures::future::join_all(reads)
        .await
        .into_iter()
        .flatten()
        .collect()
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/scripts")
                .route(web::get().to(list::list))
                .route(web::post().to(save::create)),
        )
        .service(web::resource("/scripts/new").route(web::get().to(show::new_form)))
        .service(web::resource("/scripts/cron-preview").route(web::get().to(show::cron_preview)))
        .service(
            web::resource("/scripts/{id}")
                .route(web::get().to(show::show))
                .route(web::put().to(save::update))
                .route(web::delete().to(show::delete)),
        )
        .service(web::resource("/scripts/{id}/edit").route(web::get().to(show::edit_form)))
        .service(web::resource("/scripts/{id}/execute").route(web::post().to(show::execute)))
        .service(web::resource("/scripts/{id}/executions").route(web::get().to(show::executions)))
        .service(web::resource("/scripts/{id}/versions").route(web::get().to(versions::list)))
        .service(
            web::resource("/scripts/{id}/versions/{version}/restore")
                .route(web::post().to(versions::restore)),
        );
}
