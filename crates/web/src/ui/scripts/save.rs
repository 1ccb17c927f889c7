//! Creating and updating a script from the form: the fields read into a `ScriptInput` (only
//! the chosen type's trigger fields), one service call, and on any wrong field every error
//! beside its field, nothing written.

use super::super::errors::{OrPage, PageContext, UiError};
use super::super::session::{Mutation, Page};
use super::form::{FIELDS, FormValues, Target, error_slot, script_form};
use super::script_id;
use crate::AppState;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use domain::ValidationErrors;
use domain::script::{LimitsInput, ScriptInput};
use maud::html;
use services::{ScriptError, UpdateScript};
use std::collections::BTreeMap;

/// A posted form: the values as typed, what it says as a `ScriptInput`, and the fields that
/// could not even be read (a number that is not one).
pub struct PostedForm {
    pub values: FormValues,
    pub input: ScriptInput,
    pub change_summary: Option<String>,
    pub errors: ValidationErrors,
}

fn number(
    values: &FormValues,
    name: &str,
    key: &str,
    errors: &mut ValidationErrors,
) -> Option<i64> {
    let raw = values.get(name).trim();
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<i64>() {
        Ok(value) => Some(value),
        Err(_) => {
            errors.add(key, "must be a whole number");
            None
        }
    }
}

impl PostedForm {
    pub fn read(body: &[u8]) -> Self {
        let mut values = FormValues::default();
        for (key, value) in url::form_urlencoded::parse(body) {
            if key == "HTTPMethods" {
                values.methods.push(value.into_owned());
            } else {
                values.values.insert(key.into_owned(), value.into_owned());
            }
        }
        let mut errors = ValidationErrors::new();
        let text = |name: &str| {
            let value = values.get(name).trim();
            (!value.is_empty()).then(|| value.to_owned())
        };
        let script_type = values.get("Type").trim().to_owned();
        let only = |kind: &str, name: &str| {
            if script_type == kind {
                text(name)
            } else {
                None
            }
        };
        let limits = LimitsInput {
            max_execution_time_ms: number(
                &values,
                "MaxExecutionTimeMs",
                "limits.maxExecutionTimeMs",
                &mut errors,
            ),
            max_memory_bytes: number(
                &values,
                "MaxMemoryBytes",
                "limits.maxMemoryBytes",
                &mut errors,
            ),
            max_concurrent_runs: number(
                &values,
                "MaxConcurrentRuns",
                "limits.maxConcurrentRuns",
                &mut errors,
            ),
            max_api_calls_per_minute: number(
                &values,
                "MaxAPICallsPerMinute",
                "limits.maxApiCallsPerMinute",
                &mut errors,
            ),
            max_output_size_bytes: number(
                &values,
                "MaxOutputSizeBytes",
                "limits.maxOutputSizeBytes",
                &mut errors,
            ),
        };
        let input = ScriptInput {
            name: values.get("Name").trim().to_owned(),
            description: values.get("Description").trim().to_owned(),
            source: values.get("Source").to_owned(),
            script_type: script_type.clone(),
            status: text("Status"),
            cron_expression: only("scheduled", "CronExpression"),
            timezone: only("scheduled", "Timezone"),
            http_path: only("http", "HTTPPath"),
            http_methods: if script_type == "http" {
                values.methods.clone()
            } else {
                Vec::new()
            },
            endpoint_auth: only("http", "EndpointAuth"),
            event_types: if script_type == "event" {
                values
                    .get("EventTypes")
                    .split([',', '\n', ' '])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            } else {
                Vec::new()
            },
            limits,
            ..ScriptInput::default()
        };
        let change_summary = text("ChangeSummary");
        Self {
            values,
            input,
            change_summary,
            errors,
        }
    }
}

/// The errors of a failed save keyed by the form's field names (`limits.maxMemoryBytes` is
/// `MaxMemoryBytes`); an error of no field of the form goes to the form's status line.
pub fn by_form_field(errors: &ValidationErrors) -> (BTreeMap<String, String>, Vec<String>) {
    let mut fields = BTreeMap::new();
    let mut other = Vec::new();
    for (key, message) in errors.fields() {
        let field = FIELDS
            .iter()
            .find(|(_, error_key, _)| {
                key == error_key
                    || key.starts_with(&format!("{error_key}["))
                    || key.starts_with(&format!("{error_key}."))
            })
            .map(|(name, _, _)| *name);
        match field {
            Some(name) => {
                fields
                    .entry(name.to_owned())
                    .or_insert_with(|| message.clone());
            }
            None => other.push(format!("{key}: {message}")),
        }
    }
    (fields, other)
}

/// The answer to a refused save (or test run, whose `summary` says so): for HTMX, each
/// field's error slot out of band and `summary` in the status line; otherwise the whole form
/// again. 422 either way; nothing was written.
pub(super) fn refused_with(
    page: &Page,
    target: Target<'_>,
    form: &FormValues,
    errors: &ValidationErrors,
    summary: &str,
) -> HttpResponse {
    let lang = page.lang;
    let (fields, other) = by_form_field(errors);
    let body = if page.htmx {
        html! {
            div.alert.error role="alert" {
                (lang.t(summary))
                @for message in &other { br; (message) }
            }
            @for (name, _, _) in FIELDS {
                (error_slot(name, fields.get(*name), true))
            }
        }
    } else {
        let title = match target {
            Target::Create => lang.t("script.new_title"),
            Target::Update { .. } => lang.t("script.edit_title"),
        };
        super::super::layout::page(
            page,
            "/scripts",
            &title,
            html! {
                h1 { (title) }
                div.alert.error role="alert" { (lang.t(summary)) }
                (script_form(lang, target, form, &fields))
            },
        )
    };
    HttpResponse::build(StatusCode::UNPROCESSABLE_ENTITY)
        .content_type("text/html; charset=utf-8")
        .body(body.into_string())
}

/// A refused save.
fn refused(
    page: &Page,
    target: Target<'_>,
    form: &FormValues,
    errors: &ValidationErrors,
) -> HttpResponse {
    refused_with(page, target, form, errors, "script.save_refused")
}

/// Where to go after a save: HTMX follows `HX-Redirect`, a plain form the 303.
fn saved(page: &Page, location: String) -> HttpResponse {
    if page.htmx {
        HttpResponse::Ok()
            .insert_header(("HX-Redirect", location))
            .finish()
    } else {
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, location))
            .finish()
    }
}

/// The errors of the fields that could not be read, with what the rules say of the rest.
pub(super) fn unreadable(state: &AppState, posted: &PostedForm) -> Option<ValidationErrors> {
    if posted.errors.is_empty() {
        return None;
    }
    let mut errors = posted.errors.clone();
    if let Err(rule_errors) = state.scripts.rules().parse(&posted.input) {
        for (field, message) in rule_errors.fields() {
            errors.add(field.clone(), message);
        }
    }
    Some(errors)
}

pub async fn create(
    state: web::Data<AppState>,
    mutation: Mutation,
    body: web::Bytes,
) -> Result<HttpResponse, UiError> {
    let page = mutation.0;
    let posted = PostedForm::read(&body);
    if let Some(errors) = unreadable(&state, &posted) {
        return Ok(refused(&page, Target::Create, &posted.values, &errors));
    }
    match state.scripts.create(page.actor(), &posted.input).await {
        Ok(script) => Ok(saved(&page, format!("/scripts/{}", script.id))),
        Err(ScriptError::Invalid(errors)) => {
            Ok(refused(&page, Target::Create, &posted.values, &errors))
        }
        Err(other) => Err(page.fail(other.into())),
    }
}

pub async fn update(
    state: web::Data<AppState>,
    mutation: Mutation,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, UiError> {
    let page = mutation.0;
    let raw_id = id.into_inner();
    let id = script_id(&page, &raw_id)?;
    let posted = PostedForm::read(&body);
    let target = Target::Update { id: &raw_id };
    if let Some(errors) = unreadable(&state, &posted) {
        return Ok(refused(&page, target, &posted.values, &errors));
    }
    let command = UpdateScript {
        input: posted.input,
        change_summary: posted.change_summary,
    };
    match state.scripts.update(page.actor(), id, &command).await {
        Ok(script) => Ok(saved(&page, format!("/scripts/{}", script.id))),
        Err(ScriptError::Invalid(errors)) => Ok(refused(&page, target, &posted.values, &errors)),
        Err(other) => Err(other).or_page(&page),
    }
}
