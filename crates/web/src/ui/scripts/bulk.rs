//! Bulk changes of the script list: the checked scripts enabled, disabled or deleted in one
//! request (HTMX, CSRF-checked). The right is checked first; then each script is changed as
//! a change of that one script would be, so another tenant's script is not found and left
//! alone. The list comes back with a notice of what changed.

use super::super::errors::{PageContext, UiError};
use super::super::i18n::Lang;
use super::super::session::{Mutation, Page};
use crate::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use domain::{Permission, ScriptId};
use maud::{Markup, html};
use services::BulkAction;
use services::scripts::MAX_BULK;

/// The bar over the list: what to do with the checked scripts, for a user who may.
pub fn bulk_bar(page: &Page) -> Markup {
    let lang = page.lang;
    let update = page.can(Permission::ScriptsUpdate);
    let delete = page.can(Permission::ScriptsDelete);
    let include = "#scripts input[name=ids]:checked";
    html! {
        div.bulk-bar #bulk-bar {
            span.muted { (lang.t("bulk.with_checked")) }
            @if update {
                button #bulk-enable type="button" hx-post="/scripts/bulk" hx-include=(include)
                    hx-vals=r#"{"action": "enable"}"# hx-target="#error-bulk" { (lang.t("bulk.enable")) }
                button #bulk-disable type="button" hx-post="/scripts/bulk" hx-include=(include)
                    hx-vals=r#"{"action": "disable"}"# hx-target="#error-bulk" { (lang.t("bulk.disable")) }
            }
            @if delete {
                button.danger #bulk-delete type="button" hx-post="/scripts/bulk" hx-include=(include)
                    hx-vals=r#"{"action": "delete"}"# hx-target="#error-bulk"
                    hx-confirm=(lang.t("bulk.delete_confirm")) { (lang.t("bulk.delete")) }
            }
            p.field-error #error-bulk {}
        }
    }
}

/// The notice the list shows after a bulk change (`?bulk=…&changed=…&skipped=…`).
pub fn notice(lang: Lang, action: Option<&str>, changed: &str, skipped: &str) -> Markup {
    let Some(action) = action.and_then(BulkAction::parse) else {
        return html! {};
    };
    let number = |raw: &str| raw.parse::<u64>().unwrap_or(0);
    html! {
        div.alert.notice #bulk-notice role="status" {
            (lang.t(&format!("bulk.done.{}", action.as_str()))) ": " (number(changed))
            @if number(skipped) > 0 {
                " · " (lang.t("bulk.skipped")) ": " (number(skipped))
            }
        }
    }
}

fn refuse(message: String) -> HttpResponse {
    HttpResponse::build(StatusCode::UNPROCESSABLE_ENTITY)
        .content_type("text/html; charset=utf-8")
        .body(html! { span role="alert" { (message) } }.into_string())
}

/// `POST /scripts/bulk` with `action` and the checked `ids`.
pub async fn bulk(
    state: web::Data<AppState>,
    mutation: Mutation,
    body: web::Bytes,
) -> Result<HttpResponse, UiError> {
    let page = mutation.0;
    let lang = page.lang;
    let mut action = None;
    let mut raw_ids = Vec::new();
    for (key, value) in url::form_urlencoded::parse(&body) {
        match &*key {
            "action" => action = Some(value.into_owned()),
            "ids" => raw_ids.push(value.into_owned()),
            _ => {}
        }
    }
    let Some(action) = action.as_deref().and_then(BulkAction::parse) else {
        return Ok(refuse(lang.t("bulk.bad_action")));
    };
    page.require(match action {
        BulkAction::Delete => Permission::ScriptsDelete,
        BulkAction::Enable | BulkAction::Disable => Permission::ScriptsUpdate,
    })?;
    if raw_ids.is_empty() || raw_ids.len() > MAX_BULK {
        return Ok(refuse(format!("{} ({MAX_BULK})", lang.t("bulk.choose"))));
    }
    let mut ids: Vec<ScriptId> = Vec::with_capacity(raw_ids.len());
    for raw in &raw_ids {
        match raw.parse() {
            Ok(id) if !ids.contains(&id) => ids.push(id),
            Ok(_) => {}
            Err(_) => return Ok(refuse(format!("{}: {raw}", lang.t("bulk.bad_id")))),
        }
    }
    let results = match state.scripts.bulk(page.actor(), action, &ids).await {
        Ok(results) => results,
        Err(services::ScriptError::Invalid(_)) => {
            return Ok(refuse(format!("{} ({MAX_BULK})", lang.t("bulk.choose"))));
        }
        Err(other) => return Err(page.fail(other.into())),
    };
    let mut changed = 0;
    for (id, result) in &results {
        match result {
            Ok(()) => changed += 1,
            Err(error) => tracing::info!(script = %id, %error, "bulk change skipped a script"),
        }
    }
    let skipped = results.len() - changed;
    let location = format!(
        "/scripts?bulk={}&changed={changed}&skipped={skipped}",
        action.as_str()
    );
    Ok(HttpResponse::Ok()
        .insert_header(("HX-Redirect", location))
        .finish())
}
