//! A dead letter's page: the event (id, type, time, payload), the error, the attempts, the
//! script and its version, the last execution; retry with the payload editable (JSON checked,
//! the error beside the field) and discard, for those who may run scripts.

use super::super::errors::{OrPage, UiError};
use super::super::layout::{self, json_block, optional_time, time};
use super::super::scripts::html;
use super::super::session::{Mutation, Page};
use super::{letter_badge, letter_id};
use crate::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use domain::Permission;
use domain::jobs::DeadLetterStatus;
use maud::html;

pub async fn show(
    state: web::Data<AppState>,
    page: Page,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let lang = page.lang;
    let id = letter_id(&page, &id)?;
    let letter = state
        .events
        .dead_letter(page.actor(), id)
        .await
        .or_page(&page)?;
    let delivery = &letter.delivery;
    let script = state
        .scripts
        .get(page.actor(), delivery.script_id)
        .await
        .ok();
    let pending = letter.status == DeadLetterStatus::Pending;
    let actions = pending && page.can(Permission::ScriptsExecute);
    let payload = serde_json::to_string_pretty(&delivery.payload).unwrap_or_default();
    let title = format!("{} · {}", lang.t("dead_letters.one"), delivery.event_type);
    let body = html! {
        div.heading {
            h1 { (title) " " (letter_badge(lang, &letter)) }
            @if actions {
                div.actions {
                    button.danger #discard hx-post={ "/dead-letters/" (letter.id) "/discard" }
                        hx-target="#letter-status" hx-confirm=(lang.t("dead_letters.discard_confirm")) {
                        (lang.t("dead_letters.discard"))
                    }
                }
            }
        }
        div #letter-status aria-live="polite" {}
        dl {
            dt { (lang.t("execution.script")) }
            dd {
                a href={ "/scripts/" (delivery.script_id) } {
                    @if let Some(script) = &script { (script.spec.name.as_str()) } @else { (delivery.script_id) }
                }
                " · "
                a #script-version href={ "/scripts/" (delivery.script_id) "/versions" } { "v" (letter.script_version) }
            }
            dt { (lang.t("dead_letters.event_type")) } dd { code { (delivery.event_type) } }
            dt { (lang.t("dead_letters.event_id")) } dd { code { (delivery.event_id) } }
            dt { (lang.t("dead_letters.published")) } dd { (time(&delivery.published_at)) }
            dt { (lang.t("dead_letters.attempts")) } dd #attempts { (letter.attempts) }
            dt { (lang.t("execution.created")) } dd { (time(&letter.created_at)) }
            dt { (lang.t("dead_letters.handled")) } dd { (optional_time(letter.handled_at.as_ref())) }
            dt { (lang.t("dead_letters.last_execution")) }
            dd {
                @if let Some(execution) = letter.last_execution_id {
                    a #last-execution href={ "/executions/" (execution) } { code { (execution) } }
                } @else { span.muted { "—" } }
            }
        }
        div.alert.error #letter-error {
            strong { (letter.error.code) } ": " (letter.error.message)
            @if let Some(line) = letter.error.line {
                " · " (lang.t("execution.at_line")) " " (line)
                @if let Some(column) = letter.error.column { ":" (column) }
            }
        }
        h2 { (lang.t("dead_letters.payload")) }
        @if actions {
            form #retry-form hx-post={ "/dead-letters/" (letter.id) "/retry" } hx-target="#letter-status" {
                label for="field-Payload" { (lang.t("dead_letters.payload_edit")) }
                textarea #field-Payload name="Payload" rows="8" spellcheck="false" { (payload) }
                p.field-error #error-Payload {}
                button.primary #retry type="submit" { (lang.t("dead_letters.retry")) }
            }
        } @else {
            (json_block(&delivery.payload))
        }
    };
    Ok(html(layout::page(
        &page,
        &format!("/dead-letters/{}", letter.id),
        &title,
        body,
    )))
}

/// `POST /dead-letters/{id}/retry`: delivers the event again with the `Payload` field's JSON
/// (the letter's own payload when empty), then back to the letter's page.
pub async fn retry(
    state: web::Data<AppState>,
    mutation: Mutation,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, UiError> {
    let page = mutation.0;
    page.require(Permission::ScriptsExecute)?;
    let id = letter_id(&page, &id)?;
    let raw = url::form_urlencoded::parse(&body)
        .find(|(key, _)| key == "Payload")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let payload = if raw.trim().is_empty() {
        None
    } else {
        match serde_json::from_str(&raw) {
            Ok(payload) => Some(payload),
            Err(error) => {
                let message = format!("{}: {error}", page.lang.t("dead_letters.bad_json"));
                let body = html! {
                    p.field-error #error-Payload hx-swap-oob="true" role="alert" { (message) }
                };
                return Ok(HttpResponse::build(StatusCode::UNPROCESSABLE_ENTITY)
                    .content_type("text/html; charset=utf-8")
                    .body(body.into_string()));
            }
        }
    };
    state
        .events
        .retry(page.actor(), id, payload)
        .await
        .or_page(&page)?;
    Ok(HttpResponse::Ok()
        .insert_header(("HX-Redirect", format!("/dead-letters/{id}")))
        .finish())
}

/// `POST /dead-letters/{id}/discard`: the letter is kept, marked discarded.
pub async fn discard(
    state: web::Data<AppState>,
    mutation: Mutation,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let page = mutation.0;
    page.require(Permission::ScriptsExecute)?;
    let id = letter_id(&page, &id)?;
    state
        .events
        .discard(page.actor(), id)
        .await
        .or_page(&page)?;
    Ok(HttpResponse::Ok()
        .insert_header(("HX-Redirect", format!("/dead-letters/{id}")))
        .finish())
}
