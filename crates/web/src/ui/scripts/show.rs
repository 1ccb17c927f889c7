//! The script page (metadata, limits, trigger, read-only code, history refreshed by polling,
//! a run with JSON input shown in place), the new and edit pages, delete, and the cron
//! preview fragment of the form.

use super::super::errors::{OrPage, PageContext, UiError};
use super::super::executions::{execution_rows, run_result};
use super::super::layout::{self, data_script, optional_time, time};
use super::super::session::{Mutation, Page};
use super::super::templates::{TEMPLATES, template};
use super::endpoint_url::{endpoint_urls, origin, tenant_slug};
use super::form::{FormValues, Target, script_form};
use super::{html, last_runs, script_id};
use crate::AppState;
use crate::api::dto::SpecView;
use crate::api::query::Query;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::Permission;
use domain::execution::{Trigger, TriggerDetails, TriggerKind};
use domain::paging::PageRequest;
use maud::{Markup, html};
use services::{PreviewSchedule, RunRequest};
use std::collections::BTreeMap;

/// `GET /scripts/new[?template=…]`: the form, empty or from a template, under the choice of
/// templates.
pub async fn new_form(page: Page, query: Query) -> Result<HttpResponse, UiError> {
    page.require(Permission::ScriptsCreate)?;
    let lang = page.lang;
    let title = lang.t("script.new_title");
    let chosen = query.get("template").and_then(|key| template(key));
    let values = chosen.map_or_else(FormValues::new_script, FormValues::from_template);
    let body = html! {
        h1 { (title) }
        nav.templates aria-label=(lang.t("template.choose")) {
            span.muted { (lang.t("template.choose")) }
            a.template href="/scripts/new" aria-current=[chosen.is_none().then_some("page")] {
                strong { (lang.t("template.blank")) }
            }
            @for option in TEMPLATES {
                a.template #{ "template-" (option.key) } href={ "/scripts/new?template=" (option.key) }
                    aria-current=[chosen.is_some_and(|c| c.key == option.key).then_some("page")]
                    title=(lang.t(option.description)) {
                    strong { (lang.t(option.name)) }
                    " " span.muted { (lang.t(&format!("script.type.{}", option.script_type))) }
                }
            }
        }
        @if let Some(chosen) = chosen { p.hint #template-about { (lang.t(chosen.description)) } }
        (script_form(lang, Target::Create, &values, &BTreeMap::new()))
    };
    Ok(html(layout::page(&page, "/scripts/new", &title, body)))
}

pub async fn edit_form(
    state: web::Data<AppState>,
    page: Page,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    page.require(Permission::ScriptsUpdate)?;
    let raw = id.into_inner();
    let script = state
        .scripts
        .get(page.actor(), script_id(&page, &raw)?)
        .await
        .or_page(&page)?;
    let title = format!(
        "{} · {}",
        page.lang.t("script.edit_title"),
        script.spec.name.as_str()
    );
    let values = FormValues::of(&SpecView::from(&script.spec));
    let body = html! {
        h1 { (title) }
        (script_form(page.lang, Target::Update { id: &raw }, &values, &BTreeMap::new()))
    };
    Ok(html(layout::page(
        &page,
        &format!("/scripts/{raw}/edit"),
        &title,
        body,
    )))
}

fn definition(term: &str, value: Markup) -> Markup {
    html! { dt { (term) } dd { (value) } }
}

pub async fn show(
    state: web::Data<AppState>,
    page: Page,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let lang = page.lang;
    let raw = id.into_inner();
    let script = state
        .scripts
        .get(page.actor(), script_id(&page, &raw)?)
        .await
        .or_page(&page)?;
    let spec = SpecView::from(&script.spec);
    let last = last_runs(&state, &page, std::iter::once(script.id)).await;
    let last_input = last
        .get(&script.id)
        .map(|run| serde_json::to_string_pretty(&run.input).unwrap_or_default())
        .filter(|input| input != "null")
        .unwrap_or_else(|| "{}".to_owned());
    let last_run_at = last
        .get(&script.id)
        .map(|run| run.created_at)
        .or(script.last_run_at);
    let limits = &spec.limits;
    let history_rows = history(&state, &page, &raw).await?;
    let slug = if spec.script_type == "http" {
        tenant_slug(&state, &page).await?
    } else {
        String::new()
    };
    let trigger = html! {
        @match spec.script_type.as_str() {
            "scheduled" => {
                code { (spec.cron_expression.clone().unwrap_or_default()) }
                " (" (spec.timezone.clone().unwrap_or_default()) ")"
            },
            "http" => {
                code { (spec.http_methods.join(", ")) }
                (endpoint_urls(lang, &origin(&request), &slug,
                    spec.http_path.as_deref().unwrap_or_default(), spec.endpoint_auth.as_deref() == Some("public")))
            },
            "event" => { code { (spec.event_types.join(", ")) } },
            other => (lang.t(&format!("script.type.{other}"))),
        }
    };
    let body = html! {
        div.heading {
            h1 { (spec.name) " " (layout::badge(&spec.status, &lang.t(&format!("script.status.{}", spec.status)))) }
            div.actions {
                a.button #versions href={ "/scripts/" (raw) "/versions" } { (lang.t("versions.title")) }
                @if page.can(Permission::ScriptsUpdate) {
                    a.button #edit href={ "/scripts/" (raw) "/edit" } { (lang.t("script.edit")) }
                }
                @if page.can(Permission::ScriptsDelete) {
                    button.danger hx-delete={ "/scripts/" (raw) } hx-confirm=(lang.t("script.delete_confirm")) { (lang.t("script.delete")) }
                }
            }
        }
        @if !spec.description.is_empty() { p.description { (spec.description) } }
        div.columns {
            section {
                h2 { (lang.t("script.details")) }
                dl {
                    (definition(&lang.t("script.field.type"), html! { (lang.t(&format!("script.type.{}", spec.script_type))) }))
                    (definition(&lang.t("script.trigger"), trigger))
                    (definition(&lang.t("script.version"), html! { (script.version) }))
                    (definition(&lang.t("script.created"), time(&script.created_at)))
                    (definition(&lang.t("script.updated"), time(&script.updated_at)))
                    (definition(&lang.t("scripts.last_run"), optional_time(last_run_at.as_ref())))
                    (definition(&lang.t("scripts.next_run"), optional_time(script.next_run_at.as_ref())))
                }
            }
            section {
                h2 { (lang.t("script.limits")) }
                dl {
                    (definition(&lang.t("script.field.max_time"), html! { (limits.max_execution_time_ms) " ms" }))
                    (definition(&lang.t("script.field.max_memory"), html! { (limits.max_memory_bytes) " B" }))
                    (definition(&lang.t("script.field.max_concurrent"), html! { (limits.max_concurrent_runs) }))
                    (definition(&lang.t("script.field.max_api_calls"), html! { (limits.max_api_calls_per_minute) }))
                    (definition(&lang.t("script.field.max_output"), html! { (limits.max_output_size_bytes) " B" }))
                }
            }
        }
        section {
            h2 { (lang.t("script.field.source")) }
            div #viewer.code-editor.readonly data-source="source-view" {}
            pre.source-fallback { code { (spec.source) } }
            (data_script("source-view", &spec.source))
        }
        @if page.can(Permission::ScriptsExecute) {
            section.run {
                h2 { (lang.t("script.run")) }
                form #run-form hx-post={ "/scripts/" (raw) "/execute" } hx-target="#run-result" hx-swap="innerHTML" {
                    label for="field-Input" { (lang.t("script.run_input")) }
                    textarea #field-Input name="Input" rows="4" spellcheck="false" { (last_input) }
                    p.field-error #error-Input {}
                    label.check {
                        input #field-Background type="checkbox" name="Background" value="1";
                        (lang.t("script.run_background"))
                    }
                    button.primary #run type="submit" { (lang.t("script.run_button")) }
                }
                div #run-result aria-live="polite" {}
            }
        }
        section {
            h2 { (lang.t("script.history")) }
            div #history hx-get={ "/scripts/" (raw) "/executions" } hx-trigger="every 3s" hx-swap="innerHTML" {
                (history_rows)
            }
        }
    };
    Ok(html(layout::page(
        &page,
        &format!("/scripts/{raw}"),
        &spec.name,
        body,
    )))
}

async fn history(state: &AppState, page: &Page, raw: &str) -> Result<Markup, UiError> {
    let id = script_id(page, raw)?;
    let runs = state
        .executions
        .list(page.actor(), id, None, PageRequest { page: 1, limit: 20 })
        .await
        .or_page(page)?;
    Ok(execution_rows(page.lang, &runs.items))
}

/// `GET /scripts/{id}/executions`: the history's rows (HTMX polls it).
pub async fn executions(
    state: web::Data<AppState>,
    page: Page,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    Ok(html(history(&state, &page, &id).await?))
}

/// `POST /scripts/{id}/execute`: runs the script with the JSON of `Input`, answering with
/// the result in place; with `Background`, queues the run and goes to its execution page.
pub async fn execute(
    state: web::Data<AppState>,
    mutation: Mutation,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, UiError> {
    let page = mutation.0;
    let id = script_id(&page, &id)?;
    if let Some(refusal) = crate::health::refuse_while_draining(&state) {
        return Ok(refusal);
    }
    let field = |name: &str| {
        url::form_urlencoded::parse(&body)
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    let raw_input = field("Input").unwrap_or_default();
    let background = field("Background").is_some();
    let input = if raw_input.trim().is_empty() {
        Ok(serde_json::Value::Null)
    } else {
        serde_json::from_str(&raw_input)
    };
    let input = match input {
        Ok(input) => input,
        Err(error) => {
            let message = format!("{}: {error}", page.lang.t("script.run_bad_json"));
            let body = html! {
                p.field-error #error-Input hx-swap-oob="true" role="alert" { (message) }
            };
            return Ok(HttpResponse::build(StatusCode::UNPROCESSABLE_ENTITY)
                .content_type("text/html; charset=utf-8")
                .body(body.into_string()));
        }
    };
    let request = RunRequest {
        trigger: Trigger {
            kind: TriggerKind::Manual,
            details: TriggerDetails {
                user_id: page.actor().user_id,
                ..TriggerDetails::default()
            },
        },
        input,
        argument: None,
        attempt: 1,
        event_depth: 0,
    };
    if background {
        // Queued: the execution page follows it live and can cancel it.
        let execution = state
            .executions
            .enqueue(page.actor(), id, request, state.queue.as_ref())
            .await
            .or_page(&page)?;
        return Ok(HttpResponse::Ok()
            .insert_header(("HX-Redirect", format!("/executions/{}", execution.id)))
            .finish());
    }
    let execution = state
        .executions
        .run(page.actor(), id, request)
        .await
        .or_page(&page)?;
    let body = html! {
        p.field-error #error-Input hx-swap-oob="true" {}
        (run_result(page.lang, &execution, true))
    };
    Ok(html(body))
}

pub async fn delete(
    state: web::Data<AppState>,
    mutation: Mutation,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let page = mutation.0;
    state
        .scripts
        .delete(page.actor(), script_id(&page, &id)?)
        .await
        .or_page(&page)?;
    Ok(HttpResponse::Ok()
        .insert_header(("HX-Redirect", "/scripts"))
        .finish())
}

/// `GET /scripts/cron-preview?CronExpression=…&Timezone=…`: the next five fire times in the
/// zone, daylight-saving shifts marked, or what is wrong with the expression.
pub async fn cron_preview(
    state: web::Data<AppState>,
    page: Page,
    query: Query,
) -> Result<HttpResponse, UiError> {
    let lang = page.lang;
    let expression = query.get("CronExpression").cloned().unwrap_or_default();
    if expression.trim().is_empty() {
        return Ok(html(html! {}));
    }
    let request = PreviewSchedule {
        expression,
        timezone: query.get("Timezone").cloned().unwrap_or_default(),
        count: Some(5),
    };
    let body = match state.scripts.preview_schedule(page.actor(), &request) {
        Ok(runs) => html! {
            p.hint { (lang.t("script.cron_next")) " (" (runs.timezone) ")" }
            ol.fire-times {
                @for fire in &runs.next {
                    li {
                        (fire.local.format("%Y-%m-%d %H:%M")) " " span.muted { "UTC" (fire.offset) }
                        @if fire.shifted { " " span.badge.badge-warn { (lang.t("script.cron_shifted")) } }
                        @if fire.offset_changed { " " span.badge.badge-warn { (lang.t("script.cron_dst")) } }
                    }
                }
            }
        },
        Err(services::ScriptError::Invalid(errors)) => html! {
            @for (field, message) in errors.fields() {
                p.field-error role="alert" { (field) ": " (message) }
            }
        },
        Err(other) => return Err(page.fail(other.into())),
    };
    Ok(html(body))
}
