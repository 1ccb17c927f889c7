//! The script pages: list, new/edit form, script page with its history and manual runs,
//! versions with their diff and restore.

mod bulk;
mod endpoint_url;
mod form;
mod list;
mod save;
mod show;
mod trial;
mod versions;

use super::errors::{OrPage, PageContext, UiError, UiErrorKind};
use super::i18n::Lang;
use super::session::Page;
use crate::AppState;
use actix_web::{HttpResponse, web};
use domain::ScriptId;
use domain::execution::Execution;
use domain::paging::{PageRequest, ScriptFilter};
use maud::Markup;
use std::collections::{HashMap, HashSet};

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

/// The last run of each listed script that has one, in one read (an empty map if it fails:
/// the page shows no last runs rather than an error).
pub async fn last_runs(
    state: &AppState,
    page: &Page,
    ids: impl Iterator<Item = ScriptId>,
) -> HashMap<ScriptId, Execution> {
    let ids: Vec<ScriptId> = ids.collect();
    state
        .executions
        .latest_runs(page.actor(), &ids)
        .await
        .unwrap_or_default()
}

/// The tenant's scripts (the first hundred) with their names: a filter's choices.
pub async fn script_choices(
    state: &AppState,
    page: &Page,
) -> Result<Vec<(ScriptId, String)>, UiError> {
    let first = PageRequest {
        page: 1,
        limit: PageRequest::MAX_LIMIT,
    };
    let scripts = state
        .scripts
        .list(page.actor(), &ScriptFilter::default(), first)
        .await
        .or_page(page)?;
    Ok(scripts
        .items
        .iter()
        .map(|s| (s.id, s.spec.name.as_str().to_owned()))
        .collect())
}

/// The names of `ids`: those among `known`, the others read (concurrently); a script that
/// cannot be read has none.
pub async fn names_of(
    state: &AppState,
    page: &Page,
    known: &[(ScriptId, String)],
    ids: impl Iterator<Item = ScriptId>,
) -> HashMap<ScriptId, String> {
    let mut names: HashMap<ScriptId, String> = known.iter().cloned().collect();
    let missing: HashSet<ScriptId> = ids.filter(|id| !names.contains_key(id)).collect();
    let reads = missing.into_iter().map(|id| async move {
        let script = state.scripts.get(page.actor(), id).await.ok()?;
        Some((id, script.spec.name.as_str().to_owned()))
    });
    names.extend(futures::future::join_all(reads).await.into_iter().flatten());
    names
}

/// The script filter's `<select>` named `scriptId`, `selected` chosen.
pub fn script_select(lang: Lang, choices: &[(ScriptId, String)], selected: &str) -> Markup {
    maud::html! {
        select name="scriptId" aria-label=(lang.t("execution.script")) {
            option value="" { (lang.t("filters.any_script")) }
            @for (id, name) in choices {
                @let id = id.to_string();
                option value=(id) selected[id == selected] { (name) }
            }
        }
    }
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/scripts")
                .route(web::get().to(list::list))
                .route(web::post().to(save::create)),
        )
        .service(web::resource("/scripts/new").route(web::get().to(show::new_form)))
        .service(web::resource("/scripts/bulk").route(web::post().to(bulk::bulk)))
        .service(web::resource("/scripts/test").route(web::post().to(trial::test_new)))
        .service(web::resource("/scripts/cron-preview").route(web::get().to(show::cron_preview)))
        .service(
            web::resource("/scripts/endpoint-preview").route(web::get().to(endpoint_url::preview)),
        )
        .service(
            web::resource("/scripts/{id}")
                .route(web::get().to(show::show))
                .route(web::put().to(save::update))
                .route(web::delete().to(show::delete)),
        )
        .service(web::resource("/scripts/{id}/edit").route(web::get().to(show::edit_form)))
        .service(web::resource("/scripts/{id}/execute").route(web::post().to(show::execute)))
        .service(web::resource("/scripts/{id}/test").route(web::post().to(trial::test)))
        .service(web::resource("/scripts/{id}/executions").route(web::get().to(show::executions)))
        .service(web::resource("/scripts/{id}/versions").route(web::get().to(versions::list)))
        .service(
            web::resource("/scripts/{id}/versions/{version}/restore")
                .route(web::post().to(versions::restore)),
        );
}
