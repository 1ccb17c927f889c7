//! The editor's Test button: `POST /scripts/{id}/test` runs the form's unsaved fields in the
//! real sandbox with the JSON input given (a test run: recorded with trigger `test`, no
//! version written) and shows output, logs, duration, peak memory and SDK calls, each against
//! the script's limits. Fields a save would refuse are refused the same way.

use super::super::errors::{PageContext, UiError};
use super::super::executions::{against, run_result};
use super::super::i18n::Lang;
use super::super::session::{Mutation, Page};
use super::form::Target;
use super::save::{PostedForm, refused_with, unreadable};
use super::{html, script_id};
use crate::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use services::{ScriptError, TestReport};

/// The status line of a refused test run.
const REFUSED: &str = "script.test.refused";

/// The test panel under the edit form: the input (`{}` when none was typed) and the button;
/// the result lands below.
pub fn test_panel(lang: Lang, target: &Target<'_>, input: &str) -> Markup {
    let input = if input.trim().is_empty() { "{}" } else { input };
    let path = match target {
        Target::Create => "/scripts/test".to_owned(),
        Target::Update { id } => format!("/scripts/{id}/test"),
    };
    html! {
        section.test-run {
            h2 { (lang.t("script.test.title")) }
            p.hint { (lang.t("script.test.hint")) }
            label for="field-TestInput" { (lang.t("script.run_input")) }
            textarea #field-TestInput name="TestInput" rows="4" spellcheck="false" { (input) }
            p.field-error #error-TestInput {}
            button #test type="button" hx-post=(path)
                hx-target="#test-result" hx-swap="innerHTML" { (lang.t("script.test.button")) }
            div #test-result aria-live="polite" {}
        }
    }
}

/// What the run used against what the script allows.
pub fn test_report(lang: Lang, report: &TestReport) -> Markup {
    let execution = &report.execution;
    let limits = &report.limits;
    let output_bytes = execution
        .output
        .as_ref()
        .map(|output| output.to_string().len() as i64);
    let calls = report.total_sdk_calls();
    html! {
        div.test-report #test-report data-status=(execution.status.as_str()) {
            (run_result(lang, execution, report.recorded))
            h3 { (lang.t("script.test.usage")) }
            table.table.usage {
                tbody {
                    tr #usage-duration {
                        th { (lang.t("execution.duration")) }
                        td { (against(execution.duration_ms, limits.max_execution_time_ms, "ms")) }
                    }
                    tr #usage-memory {
                        th { (lang.t("script.test.memory")) }
                        td { (against(execution.memory_bytes, limits.max_memory_bytes, "B")) }
                    }
                    tr #usage-output {
                        th { (lang.t("script.test.output_size")) }
                        td { (against(output_bytes, limits.max_output_size_bytes, "B")) }
                    }
                    tr #usage-sdk-calls {
                        th { (lang.t("script.test.sdk_calls")) }
                        td {
                            (calls) " / " (limits.max_api_calls_per_minute) " "
                            span.muted { (lang.t("script.test.per_minute")) }
                            @if !report.sdk_calls.is_empty() {
                                ul.sdk-calls {
                                    @for (name, count) in &report.sdk_calls {
                                        li { code { (name) } " × " (count) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn bad_input(lang: Lang, error: &serde_json::Error) -> HttpResponse {
    let message = format!("{}: {error}", lang.t("script.run_bad_json"));
    let body = html! {
        p.field-error #error-TestInput hx-swap-oob="true" role="alert" { (message) }
    };
    HttpResponse::build(StatusCode::UNPROCESSABLE_ENTITY)
        .content_type("text/html; charset=utf-8")
        .body(body.into_string())
}

/// `POST /scripts/{id}/test`: a test run of the stored script as edited (recorded).
pub async fn test(
    state: web::Data<AppState>,
    mutation: Mutation,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, UiError> {
    let raw_id = id.into_inner();
    let id = script_id(&mutation.0, &raw_id)?;
    run_test(
        &state,
        mutation.0,
        Target::Update { id: &raw_id },
        Some(id),
        &body,
    )
    .await
}

/// `POST /scripts/test`: a test run of the new script's form (not saved, not recorded).
pub async fn test_new(
    state: web::Data<AppState>,
    mutation: Mutation,
    body: web::Bytes,
) -> Result<HttpResponse, UiError> {
    run_test(&state, mutation.0, Target::Create, None, &body).await
}

async fn run_test(
    state: &AppState,
    page: Page,
    target: Target<'_>,
    id: Option<domain::ScriptId>,
    body: &[u8],
) -> Result<HttpResponse, UiError> {
    if let Some(refusal) = crate::health::refuse_while_draining(state) {
        return Ok(refusal);
    }
    let posted = PostedForm::read(body);
    let raw_input = posted.values.get("TestInput");
    let input = if raw_input.trim().is_empty() {
        serde_json::Value::Null
    } else {
        match serde_json::from_str(raw_input) {
            Ok(input) => input,
            Err(error) => return Ok(bad_input(page.lang, &error)),
        }
    };
    if let Some(errors) = unreadable(state, &posted) {
        return Ok(refused_with(
            &page,
            target,
            &posted.values,
            &errors,
            REFUSED,
        ));
    }
    let tested = match id {
        Some(id) => {
            state
                .scripts
                .test_run(page.actor(), id, &posted.input, input)
                .await
        }
        None => {
            state
                .scripts
                .test_unsaved(page.actor(), &posted.input, input)
                .await
        }
    };
    match tested {
        Ok(report) => Ok(html(html! {
            p.field-error #error-TestInput hx-swap-oob="true" {}
            (test_report(page.lang, &report))
        })),
        Err(ScriptError::Invalid(errors)) => Ok(refused_with(
            &page,
            target,
            &posted.values,
            &errors,
            REFUSED,
        )),
        Err(other) => Err(page.fail(other.into())),
    }
}
