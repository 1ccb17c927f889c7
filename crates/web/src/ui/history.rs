//! The executions page: every execution of the tenant, newest first, filtered by script,
//! status, trigger and creation date, with a search in log lines and errors; a keyset page at
//! a time (the cursor of the last row, never an offset). The filters refresh the table as one
//! changes them (HTMX); each row leads to its execution page.

use super::errors::{OrPage, UiError};
use super::executions::{status_badge, trigger_name};
use super::layout::{self, encode, optional_time, time};
use super::scripts::{html, names_of, script_choices, script_select};
use super::session::Page;
use crate::AppState;
use crate::api::history::history_query;
use crate::api::query::Query;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use domain::ValidationErrors;
use domain::execution::{ExecutionStatus, TriggerKind};
use domain::paging::Slice;
use maud::html;

/// The filters a page link keeps.
const KEPT: [&str; 6] = ["scriptId", "status", "trigger", "from", "to", "search"];

pub async fn list(
    state: web::Data<AppState>,
    page: Page,
    query: Query,
) -> Result<HttpResponse, UiError> {
    let lang = page.lang;
    let mut errors = ValidationErrors::new();
    let wanted = history_query(&query, &mut errors);
    let present = |key: &str| query.get(key).map(|v| v.trim()).unwrap_or_default();
    let slice = if errors.is_empty() {
        state
            .executions
            .history(page.actor(), &wanted.filter, wanted.after, wanted.limit)
            .await
            .or_page(&page)?
    } else {
        Slice {
            items: Vec::new(),
            next: None,
        }
    };
    let choices = script_choices(&state, &page).await?;
    let names = names_of(
        &state,
        &page,
        &choices,
        slice.items.iter().map(|e| e.script_id),
    )
    .await;
    let link = |cursor: Option<String>| {
        let mut href = "/executions?".to_owned();
        for key in KEPT {
            let value = present(key);
            if !value.is_empty() {
                href.push_str(&format!("{key}={}&", encode(value)));
            }
        }
        if let Some(cursor) = cursor {
            href.push_str(&format!("cursor={}", encode(&cursor)));
        }
        href.trim_end_matches(['&', '?']).to_owned()
    };
    let title = lang.t("executions.title");
    let body = html! {
        h1 { (title) }
        form.filters #execution-filters method="get" action="/executions" hx-get="/executions"
            hx-target="#executions" hx-select="#executions" hx-swap="outerHTML" hx-push-url="true"
            hx-trigger="input changed delay:300ms from:input[name=search], change" {
            input type="search" name="search" value=(present("search"))
                placeholder=(lang.t("executions.search")) aria-label=(lang.t("executions.search"));
            (script_select(lang, &choices, present("scriptId")))
            select name="status" aria-label=(lang.t("execution.status")) {
                option value="" { (lang.t("filters.any_status")) }
                @for s in ExecutionStatus::ALL {
                    option value=(s.as_str()) selected[present("status") == s.as_str()] { (lang.t(&format!("execution.status.{}", s.as_str()))) }
                }
            }
            select name="trigger" aria-label=(lang.t("execution.trigger")) {
                option value="" { (lang.t("executions.any_trigger")) }
                @for t in TriggerKind::ALL {
                    option value=(t.as_str()) selected[present("trigger") == t.as_str()] { (lang.t(&format!("execution.trigger_kind.{}", t.as_str()))) }
                }
            }
            label { (lang.t("filters.from")) " " input type="date" name="from" value=(present("from")); }
            label { (lang.t("filters.to")) " " input type="date" name="to" value=(present("to")); }
            noscript { button type="submit" { (lang.t("scripts.filter")) } }
        }
        div #executions {
            @if !errors.is_empty() {
                div.alert.error #filter-errors role="alert" {
                    @for (field, message) in errors.fields() { p { (field) ": " (message) } }
                }
            } @else if slice.items.is_empty() {
                p.empty { (lang.t("execution.none")) }
            } @else {
                table.table #execution-list {
                    thead { tr {
                        th { (lang.t("execution.id")) }
                        th { (lang.t("execution.script")) }
                        th { (lang.t("execution.status")) }
                        th { (lang.t("execution.trigger")) }
                        th { (lang.t("execution.created")) }
                        th { (lang.t("execution.duration")) }
                        th { (lang.t("execution.error")) }
                    } }
                    tbody {
                        @for run in &slice.items {
                            tr.execution-row data-status=(run.status.as_str()) {
                                td { a.execution-link href={ "/executions/" (run.id) } { code { (run.id.to_string().get(..8).unwrap_or_default()) } } }
                                td { a href={ "/scripts/" (run.script_id) } { (names.get(&run.script_id).cloned().unwrap_or_else(|| run.script_id.to_string())) } }
                                td { (status_badge(lang, run)) }
                                td { (trigger_name(lang, run)) }
                                td { (time(&run.created_at)) " " span.muted { (optional_time(run.completed_at.as_ref())) } }
                                td { @if let Some(ms) = run.duration_ms { (ms) " ms" } }
                                td.error-cell { @if let Some(error) = &run.error { (error.code) ": " (error.message) } }
                            }
                        }
                    }
                }
            }
            nav.pager {
                @if wanted.after.is_some() { a #newest href=(link(None)) { "« " (lang.t("executions.newest")) } }
                @if let Some(next) = &slice.next { a #older href=(link(Some(next.encode()))) { (lang.t("executions.older")) " →" } }
            }
        }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut response = html(layout::page(&page, "/executions", &title, body));
    *response.status_mut() = status;
    Ok(response)
}

pub fn routes(config: &mut web::ServiceConfig) {
    config.service(web::resource("/executions").route(web::get().to(list)));
}
