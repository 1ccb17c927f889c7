//! The script list: filters by type and status, search, pages, and each script's last run
//! with its status. The search box refreshes the table as one types (HTMX).

use super::super::errors::{OrPage, UiError};
use super::super::layout::{self, badge, encode, optional_time};
use super::super::session::Page;
use super::last_runs;
use crate::AppState;
use crate::api::query::{Query, page_request};
use actix_web::{HttpResponse, web};
use domain::paging::ScriptFilter;
use domain::script::{ScriptStatus, ScriptType};
use domain::{Permission, ValidationErrors};
use maud::html;

pub async fn list(
    state: web::Data<AppState>,
    page: Page,
    query: Query,
) -> Result<HttpResponse, UiError> {
    let lang = page.lang;
    let mut errors = ValidationErrors::new();
    let request = page_request(&query, &mut errors);
    let present = |key: &str| query.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let filter = ScriptFilter {
        script_type: present("type").and_then(|raw| raw.parse::<ScriptType>().ok()),
        status: present("status").and_then(|raw| raw.parse::<ScriptStatus>().ok()),
        search: present("search").map(str::to_owned),
    };
    let scripts = state
        .scripts
        .list(page.actor(), &filter, request)
        .await
        .or_page(&page)?;
    let runs = last_runs(&state, &page, scripts.items.iter().map(|s| s.id)).await;
    let link = |number: u64| {
        let mut href = format!("/scripts?page={number}");
        for key in ["type", "status", "search"] {
            if let Some(value) = present(key) {
                href.push_str(&format!("&{key}={}", encode(value)));
            }
        }
        href
    };
    let title = lang.t("scripts.title");
    let selectable = page.can(Permission::ScriptsUpdate) || page.can(Permission::ScriptsDelete);
    let body = html! {
        div.heading {
            h1 { (title) }
            @if page.can(Permission::ScriptsCreate) {
                a.button.primary href="/scripts/new" { (lang.t("nav.new_script")) }
            }
        }
        form.filters method="get" action="/scripts" hx-get="/scripts" hx-target="#scripts"
            hx-select="#scripts" hx-swap="outerHTML" hx-push-url="true"
            hx-trigger="input changed delay:250ms from:input[name=search], change" {
            input type="search" name="search" value=(present("search").unwrap_or(""))
                placeholder=(lang.t("scripts.search")) aria-label=(lang.t("scripts.search"));
            select name="type" aria-label=(lang.t("script.field.type")) {
                option value="" { (lang.t("scripts.any_type")) }
                @for t in ScriptType::ALL {
                    option value=(t.as_str()) selected[filter.script_type == Some(*t)] { (lang.t(&format!("script.type.{}", t.as_str()))) }
                }
            }
            select name="status" aria-label=(lang.t("script.field.status")) {
                option value="" { (lang.t("scripts.any_status")) }
                @for s in ScriptStatus::ALL {
                    option value=(s.as_str()) selected[filter.status == Some(*s)] { (lang.t(&format!("script.status.{}", s.as_str()))) }
                }
            }
            noscript { button type="submit" { (lang.t("scripts.filter")) } }
        }
        (super::bulk::notice(lang, present("bulk"), present("changed").unwrap_or("0"), present("skipped").unwrap_or("0")))
        @if selectable && !scripts.items.is_empty() { (super::bulk::bulk_bar(&page)) }
        div #scripts {
            @if scripts.items.is_empty() {
                p.empty { (lang.t("scripts.none")) }
            } @else {
                table.table {
                    thead { tr {
                        @if selectable {
                            th { input #bulk-all type="checkbox" aria-label=(lang.t("bulk.select_all"))
                                onclick="document.querySelectorAll('#scripts input[name=ids]').forEach(function (box) { box.checked = this.checked; }, this)"; }
                        }
                        th { (lang.t("script.field.name")) }
                        th { (lang.t("script.field.type")) }
                        th { (lang.t("script.field.status")) }
                        th { (lang.t("scripts.last_run")) }
                        th { (lang.t("scripts.next_run")) }
                    } }
                    tbody {
                        @for script in &scripts.items {
                            @let status = script.spec.status.as_str();
                            @let kind = script.spec.script_type();
                            tr {
                                @if selectable {
                                    td { input type="checkbox" name="ids" value=(script.id) aria-label=(script.spec.name.as_str()); }
                                }
                                td { a href={ "/scripts/" (script.id) } { (script.spec.name.as_str()) } }
                                td { (lang.t(&format!("script.type.{}", kind.as_str()))) }
                                td { (badge(status, &lang.t(&format!("script.status.{status}")))) }
                                td {
                                    @if let Some(run) = runs.get(&script.id) {
                                        a href={ "/executions/" (run.id) } {
                                            (badge(run.status.as_str(), &lang.t(&format!("execution.status.{}", run.status.as_str()))))
                                        }
                                        " " (layout::time(&run.created_at))
                                    } @else {
                                        span.muted { (lang.t("scripts.never_run")) }
                                    }
                                }
                                td { (optional_time(script.next_run_at.as_ref())) }
                            }
                        }
                    }
                }
            }
            nav.pager {
                @if scripts.page > 1 { a href=(link(scripts.page - 1)) { "← " (lang.t("pager.previous")) } }
                span { (scripts.page) " / " (layout::page_count(&scripts)) " · " (layout::total(&scripts)) }
                @if scripts.has_next() { a href=(link(scripts.page + 1)) { (lang.t("pager.next")) " →" } }
            }
        }
    };
    Ok(super::html(layout::page(&page, "/scripts", &title, body)))
}
