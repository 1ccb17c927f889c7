//! The execution page (status, trigger, input, output, logs with levels, error with line and
//! column, duration and memory against the script's limits; live lines over server-sent
//! events while it runs; cancel), and the fragments the script page shares: history rows and
//! a run's result.

use super::errors::{OrPage, PageContext, UiError, UiErrorKind};
use super::i18n::Lang;
use super::layout::{self, badge, json_block, optional_time, time};
use super::scripts::html;
use super::session::{Mutation, Page};
use crate::AppState;
use actix_web::{HttpResponse, web};
use domain::execution::{Execution, LogEntry};
use domain::{ExecutionId, Permission};
use maud::{Markup, html};

fn execution_id(page: &Page, raw: &str) -> Result<ExecutionId, UiError> {
    raw.parse().map_err(|_| page.fail(UiErrorKind::NotFound))
}

pub(super) fn status_badge(lang: Lang, execution: &Execution) -> Markup {
    let status = execution.status.as_str();
    badge(status, &lang.t(&format!("execution.status.{status}")))
}

/// What started an execution, in the page's language.
pub(super) fn trigger_name(lang: Lang, execution: &Execution) -> String {
    let kind = serde_json::to_value(execution.trigger.kind)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default();
    lang.t(&format!("execution.trigger_kind.{kind}"))
}

/// Rows of a script's history, newest first.
pub fn execution_rows(lang: Lang, runs: &[Execution]) -> Markup {
    html! {
        @if runs.is_empty() {
            p.empty { (lang.t("execution.none")) }
        } @else {
            table.table {
                thead { tr {
                    th { (lang.t("execution.id")) }
                    th { (lang.t("execution.status")) }
                    th { (lang.t("execution.trigger")) }
                    th { (lang.t("execution.started")) }
                    th { (lang.t("execution.duration")) }
                    th { (lang.t("execution.error")) }
                } }
                tbody {
                    @for run in runs {
                        tr {
                            td { a href={ "/executions/" (run.id) } { code { (run.id.to_string().get(..8).unwrap_or_default()) } } }
                            td { (status_badge(lang, run)) }
                            td { (trigger_name(lang, run)) }
                            td { (optional_time(run.started_at.as_ref())) }
                            td { @if let Some(ms) = run.duration_ms { (ms) " ms" } }
                            td.error-cell { @if let Some(error) = &run.error { (error.code) ": " (error.message) } }
                        }
                    }
                }
            }
        }
    }
}

fn logs(lang: Lang, entries: &[LogEntry]) -> Markup {
    html! {
        @if entries.is_empty() {
            p.muted { (lang.t("execution.no_logs")) }
        } @else {
            ol.logs {
                @for entry in entries {
                    @let level = serde_json::to_value(entry.level).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                    li class={ "log log-" (level) } {
                        span.level { (level) } " "
                        span.message { (entry.message) }
                        @if !entry.metadata.is_null() { " " code.meta { (entry.metadata.to_string()) } }
                    }
                }
            }
        }
    }
}

fn error_block(lang: Lang, execution: &Execution) -> Markup {
    html! {
        @if let Some(error) = &execution.error {
            div.alert.error #execution-error {
                strong { (error.code) } ": " (error.message)
                @if let Some(line) = error.line {
                    " · "
                    a.source-line href={ "/scripts/" (execution.script_id) "#line-" (line) } {
                        (lang.t("execution.at_line")) " " (line)
                        @if let Some(column) = error.column { ":" (column) }
                    }
                }
            }
        }
    }
}

/// The result of a run, shown in place on the script page; `recorded` links its page.
pub fn run_result(lang: Lang, execution: &Execution, recorded: bool) -> Markup {
    html! {
        div.run-result #run-output {
            p {
                (status_badge(lang, execution)) " "
                @if recorded {
                    a href={ "/executions/" (execution.id) } { (lang.t("execution.open")) }
                } @else {
                    span.muted #not-recorded { (lang.t("script.test.not_recorded")) }
                }
                @if let Some(ms) = execution.duration_ms { " · " (ms) " ms" }
            }
            (error_block(lang, execution))
            @if let Some(output) = &execution.output {
                h3 { (lang.t("execution.output")) }
                (json_block(output))
            }
            h3 { (lang.t("execution.logs")) }
            (logs(lang, &execution.logs))
        }
    }
}

pub(super) fn against(value: Option<i64>, limit: u64, unit: &str) -> Markup {
    html! {
        @match value {
            Some(value) => { (value) " " (unit) " / " (limit) " " (unit) }
            None => span.muted { "—" },
        }
    }
}

pub async fn show(
    state: web::Data<AppState>,
    page: Page,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let lang = page.lang;
    let id = execution_id(&page, &id)?;
    let execution = state
        .executions
        .get(page.actor(), id)
        .await
        .or_page(&page)?;
    let script = state
        .scripts
        .get(page.actor(), execution.script_id)
        .await
        .ok();
    let limits = script.as_ref().map(|s| s.spec.limits);
    let running = !execution.status.is_terminal();
    let title = format!(
        "{} {}",
        lang.t("execution.title"),
        execution.id.to_string().get(..8).unwrap_or_default()
    );
    let body = html! {
        div.heading {
            h1 { (title) " " (status_badge(lang, &execution)) }
            @if running && page.can(Permission::ScriptsExecute) {
                button.danger #cancel hx-post={ "/executions/" (execution.id) "/cancel" } hx-target="#cancel-status" { (lang.t("execution.cancel")) }
            }
        }
        div #cancel-status {}
        dl {
            dt { (lang.t("execution.script")) }
            dd {
                a href={ "/scripts/" (execution.script_id) } {
                    @if let Some(script) = &script { (script.spec.name.as_str()) } @else { (execution.script_id) }
                }
                " · v" (execution.script_version)
            }
            dt { (lang.t("execution.trigger")) } dd { (trigger_name(lang, &execution)) }
            dt { (lang.t("execution.created")) } dd { (time(&execution.created_at)) }
            dt { (lang.t("execution.started")) } dd { (optional_time(execution.started_at.as_ref())) }
            dt { (lang.t("execution.completed")) } dd { (optional_time(execution.completed_at.as_ref())) }
            @if let Some(limits) = &limits {
                dt { (lang.t("execution.duration")) } dd { (against(execution.duration_ms, limits.max_execution_time_ms, "ms")) }
                dt { (lang.t("execution.memory")) } dd { (against(execution.memory_bytes, limits.max_memory_bytes, "B")) }
            }
        }
        (error_block(lang, &execution))
        h2 { (lang.t("execution.input")) }
        (json_block(&execution.input))
        @if let Some(output) = &execution.output {
            h2 { (lang.t("execution.output")) }
            (json_block(output))
        }
        h2 { (lang.t("execution.logs")) }
        @if running {
            ol #live.logs data-stream={ "/api/v1/executions/" (execution.id) "/stream" } {}
        } @else {
            (logs(lang, &execution.logs))
        }
    };
    Ok(html(layout::page(
        &page,
        &format!("/executions/{}", execution.id),
        &title,
        body,
    )))
}

pub async fn cancel(
    state: web::Data<AppState>,
    mutation: Mutation,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let page = mutation.0;
    let id = execution_id(&page, &id)?;
    state
        .executions
        .cancel(page.actor(), id)
        .await
        .or_page(&page)?;
    Ok(HttpResponse::Ok()
        .insert_header(("HX-Redirect", format!("/executions/{id}")))
        .finish())
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/executions/{id}").route(web::get().to(show)))
        .service(web::resource("/executions/{id}/cancel").route(web::post().to(cancel)));
}
