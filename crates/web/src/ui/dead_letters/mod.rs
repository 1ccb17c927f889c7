//! The dead letters pages: the list with its filters (script, event type, status, creation
//! date) and a bulk redrive of one script's pending letters; a letter's page (`show.rs`) with
//! its event, error, attempts, script version and last execution, retry with an edited
//! payload, and discard. Retry, discard and redrive are shown to, and allowed for, those who
//! may run scripts (`scripts.execute`, as the API).

mod show;

use super::errors::{OrPage, PageContext, UiError, UiErrorKind};
use super::i18n::Lang;
use super::layout::{self, badge, encode, time};
use super::scripts::{html, names_of, script_choices, script_id, script_select};
use super::session::{Mutation, Page};
use crate::AppState;
use crate::api::query::{Query, RangeEnd, time as time_param};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use domain::jobs::{DeadLetter, DeadLetterFilter, DeadLetterStatus, LetterCursor};
use domain::{Permission, ValidationErrors};
use maud::{Markup, html};

/// The letters a page of the list shows (newest first); `cursor` leads to the next page.
const SHOWN: u64 = 50;

const STATUSES: [DeadLetterStatus; 3] = [
    DeadLetterStatus::Pending,
    DeadLetterStatus::Retried,
    DeadLetterStatus::Discarded,
];

pub(super) fn letter_badge(lang: Lang, letter: &DeadLetter) -> Markup {
    let status = letter.status.as_str();
    let class = match letter.status {
        DeadLetterStatus::Pending => "failed",
        DeadLetterStatus::Retried => "completed",
        DeadLetterStatus::Discarded => "cancelled",
    };
    badge(class, &lang.t(&format!("dead_letters.status.{status}")))
}

fn filter_of(query: &Query, errors: &mut ValidationErrors) -> DeadLetterFilter {
    let present = |key: &str| query.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    DeadLetterFilter {
        script_id: present("scriptId").and_then(|raw| {
            errors.check(
                "scriptId",
                raw.parse::<domain::ScriptId>()
                    .map_err(|_| "is not a script id"),
            )
        }),
        event_type: present("eventType").map(str::to_owned),
        status: present("status").and_then(|raw| {
            errors.check(
                "status",
                DeadLetterStatus::parse(raw).ok_or("is not one of pending, retried, discarded"),
            )
        }),
        from: time_param(query, "from", RangeEnd::From, errors),
        to: time_param(query, "to", RangeEnd::To, errors),
        after: present("cursor").and_then(|raw| errors.check("cursor", LetterCursor::parse(raw))),
    }
}

pub async fn list(
    state: web::Data<AppState>,
    page: Page,
    query: Query,
) -> Result<HttpResponse, UiError> {
    let lang = page.lang;
    let mut errors = ValidationErrors::new();
    let filter = filter_of(&query, &mut errors);
    let present = |key: &str| query.get(key).map(|v| v.trim()).unwrap_or_default();
    let mut letters = if errors.is_empty() {
        state
            .events
            .dead_letters(page.actor(), &filter, SHOWN + 1)
            .await
            .or_page(&page)?
    } else {
        Vec::new()
    };
    // One more than the page, read to know whether an older page follows.
    let older = (letters.len() as u64 > SHOWN).then(|| {
        letters.truncate(SHOWN as usize);
        letters
            .last()
            .map(|last| LetterCursor::after(last).encode())
    });
    let link = |cursor: Option<&str>| {
        let mut href = "/dead-letters?".to_owned();
        for key in ["eventType", "scriptId", "status", "from", "to"] {
            let value = present(key);
            if !value.is_empty() {
                href.push_str(&format!("{key}={}&", encode(value)));
            }
        }
        if let Some(cursor) = cursor {
            href.push_str(&format!("cursor={}", encode(cursor)));
        }
        href.trim_end_matches(['&', '?']).to_owned()
    };
    let choices = script_choices(&state, &page).await?;
    let scripts = letters.iter().map(|l| l.delivery.script_id);
    let names = names_of(&state, &page, &choices, scripts).await;
    let redrive = filter
        .script_id
        .filter(|_| page.can(Permission::ScriptsExecute));
    let title = lang.t("dead_letters.title");
    let body = html! {
        h1 { (title) }
        form.filters #dead-letter-filters method="get" action="/dead-letters" hx-get="/dead-letters"
            hx-target="#dead-letters" hx-select="#dead-letters" hx-swap="outerHTML" hx-push-url="true"
            hx-trigger="input changed delay:300ms from:input[name=eventType], change" {
            input type="search" name="eventType" value=(present("eventType"))
                placeholder=(lang.t("dead_letters.event_type")) aria-label=(lang.t("dead_letters.event_type"));
            (script_select(lang, &choices, present("scriptId")))
            select name="status" aria-label=(lang.t("execution.status")) {
                option value="" { (lang.t("filters.any_status")) }
                @for s in STATUSES {
                    option value=(s.as_str()) selected[present("status") == s.as_str()] { (lang.t(&format!("dead_letters.status.{}", s.as_str()))) }
                }
            }
            label { (lang.t("filters.from")) " " input type="date" name="from" value=(present("from")); }
            label { (lang.t("filters.to")) " " input type="date" name="to" value=(present("to")); }
            noscript { button type="submit" { (lang.t("scripts.filter")) } }
        }
        div #dead-letters {
            @if let Some(script) = redrive {
                div.actions {
                    button.primary #redrive hx-post={ "/scripts/" (script) "/dead-letters/redrive" }
                        hx-target="#redrive-status" hx-confirm=(lang.t("dead_letters.redrive_confirm")) {
                        (lang.t("dead_letters.redrive"))
                    }
                    span #redrive-status aria-live="polite" {}
                }
            }
            @if !errors.is_empty() {
                div.alert.error #filter-errors role="alert" {
                    @for (field, message) in errors.fields() { p { (field) ": " (message) } }
                }
            } @else if letters.is_empty() {
                p.empty { (lang.t("dead_letters.none")) }
            } @else {
                table.table #dead-letter-list {
                    thead { tr {
                        th { (lang.t("execution.created")) }
                        th { (lang.t("execution.script")) }
                        th { (lang.t("dead_letters.event_type")) }
                        th { (lang.t("execution.status")) }
                        th { (lang.t("dead_letters.attempts")) }
                        th { (lang.t("execution.error")) }
                    } }
                    tbody {
                        @for letter in &letters {
                            @let script = letter.delivery.script_id;
                            tr {
                                td { a.dead-letter-link href={ "/dead-letters/" (letter.id) } { (time(&letter.created_at)) } }
                                td { a href={ "/dead-letters?scriptId=" (encode(&script.to_string())) } { (names.get(&script).cloned().unwrap_or_else(|| script.to_string())) } }
                                td { code { (letter.delivery.event_type) } }
                                td { (letter_badge(lang, letter)) }
                                td { (letter.attempts) }
                                td.error-cell { (letter.error.code) ": " (letter.error.message) }
                            }
                        }
                    }
                }
            }
            nav.pager #dead-letter-pager {
                @if filter.after.is_some() { a #newest href=(link(None)) { "« " (lang.t("executions.newest")) } }
                @if let Some(Some(cursor)) = &older { a #older href=(link(Some(cursor))) { (lang.t("executions.older")) " →" } }
            }
        }
    };
    let mut response = html(layout::page(&page, "/dead-letters", &title, body));
    if !errors.is_empty() {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

/// `POST /scripts/{id}/dead-letters/redrive`: retries every pending letter of the script,
/// answering with how many.
pub async fn redrive(
    state: web::Data<AppState>,
    mutation: Mutation,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let page = mutation.0;
    page.require(Permission::ScriptsExecute)?;
    let script = script_id(&page, &id)?;
    state
        .scripts
        .get(page.actor(), script)
        .await
        .or_page(&page)?;
    let retried = state
        .events
        .redrive(page.actor(), script)
        .await
        .or_page(&page)?;
    let message = lang_count(page.lang, retried);
    Ok(html(html! { span.notice #redrive-done { (message) } }))
}

fn lang_count(lang: Lang, retried: usize) -> String {
    format!("{}: {retried}", lang.t("dead_letters.redriven"))
}

/// A letter's id from its path; one that does not parse is not found.
fn letter_id(page: &Page, raw: &str) -> Result<uuid::Uuid, UiError> {
    raw.parse().map_err(|_| page.fail(UiErrorKind::NotFound))
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/dead-letters").route(web::get().to(list)))
        .service(web::resource("/dead-letters/{id}").route(web::get().to(show::show)))
        .service(web::resource("/dead-letters/{id}/retry").route(web::post().to(show::retry)))
        .service(web::resource("/dead-letters/{id}/discard").route(web::post().to(show::discard)))
        .service(
            web::resource("/scripts/{id}/dead-letters/redrive").route(web::post().to(redrive)),
        );
}
