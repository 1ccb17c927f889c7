//! The new/edit form of a script: every field of the seed's form, only the chosen type's
//! trigger fields shown, Monaco over the source, and each field's error beside it.

use super::super::i18n::Lang;
use super::super::layout::data_script;
use crate::api::dto::SpecView;
use domain::script::{ScriptStatus, ScriptType};
use maud::{Markup, html};
use std::collections::BTreeMap;

/// The fields of the form: the name it posts, the key its errors come back under, and the
/// translation key of its label.
pub const FIELDS: &[(&str, &str, &str)] = &[
    ("Name", "name", "script.field.name"),
    ("Description", "description", "script.field.description"),
    ("Type", "type", "script.field.type"),
    ("Status", "status", "script.field.status"),
    ("CronExpression", "cronExpression", "script.field.cron"),
    ("Timezone", "timezone", "script.field.timezone"),
    ("HTTPPath", "httpPath", "script.field.http_path"),
    ("HTTPMethods", "httpMethods", "script.field.http_methods"),
    ("EndpointAuth", "endpointAuth", "script.field.endpoint_auth"),
    ("EventTypes", "eventTypes", "script.field.event_types"),
    (
        "MaxExecutionTimeMs",
        "limits.maxExecutionTimeMs",
        "script.field.max_time",
    ),
    (
        "MaxMemoryBytes",
        "limits.maxMemoryBytes",
        "script.field.max_memory",
    ),
    (
        "MaxConcurrentRuns",
        "limits.maxConcurrentRuns",
        "script.field.max_concurrent",
    ),
    (
        "MaxAPICallsPerMinute",
        "limits.maxApiCallsPerMinute",
        "script.field.max_api_calls",
    ),
    (
        "MaxOutputSizeBytes",
        "limits.maxOutputSizeBytes",
        "script.field.max_output",
    ),
    ("Source", "source", "script.field.source"),
    (
        "ChangeSummary",
        "changeSummary",
        "script.field.change_summary",
    ),
];

pub const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// What the form shows: the values as typed (or as stored) and the errors by field key.
#[derive(Debug, Default)]
pub struct FormValues {
    pub values: BTreeMap<String, String>,
    pub methods: Vec<String>,
}

impl FormValues {
    pub fn get(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// A stored script's values.
    pub fn of(spec: &SpecView) -> Self {
        let mut values = BTreeMap::new();
        let mut set = |key: &str, value: String| {
            values.insert(key.to_owned(), value);
        };
        set("Name", spec.name.clone());
        set("Description", spec.description.clone());
        set("Type", spec.script_type.clone());
        set("Status", spec.status.clone());
        set(
            "CronExpression",
            spec.cron_expression.clone().unwrap_or_default(),
        );
        set("Timezone", spec.timezone.clone().unwrap_or_default());
        set("HTTPPath", spec.http_path.clone().unwrap_or_default());
        set(
            "EndpointAuth",
            spec.endpoint_auth.clone().unwrap_or_default(),
        );
        set("EventTypes", spec.event_types.join(", "));
        set(
            "MaxExecutionTimeMs",
            spec.limits.max_execution_time_ms.to_string(),
        );
        set("MaxMemoryBytes", spec.limits.max_memory_bytes.to_string());
        set(
            "MaxConcurrentRuns",
            spec.limits.max_concurrent_runs.to_string(),
        );
        set(
            "MaxAPICallsPerMinute",
            spec.limits.max_api_calls_per_minute.to_string(),
        );
        set(
            "MaxOutputSizeBytes",
            spec.limits.max_output_size_bytes.to_string(),
        );
        set("Source", spec.source.clone());
        Self {
            values,
            methods: spec.http_methods.clone(),
        }
    }

    /// The values of a new script started from `template`.
    pub fn from_template(template: &super::super::templates::Template) -> Self {
        let mut form = Self::new_script();
        let mut set = |key: &str, value: &str| {
            form.values.insert(key.to_owned(), value.to_owned());
        };
        set("Type", template.script_type);
        set("Source", template.source);
        set("CronExpression", template.cron_expression.unwrap_or(""));
        set("HTTPPath", template.http_path.unwrap_or(""));
        set(
            "EndpointAuth",
            template.endpoint_auth.unwrap_or("authenticated"),
        );
        set("EventTypes", &template.event_types.join(", "));
        if !template.http_methods.is_empty() {
            form.methods = template
                .http_methods
                .iter()
                .map(|m| (*m).to_owned())
                .collect();
        }
        form
    }

    /// The values of a new script: a starting source and the seed's defaults.
    pub fn new_script() -> Self {
        let mut values = BTreeMap::new();
        for (key, value) in [
            ("Type", "oneoff"),
            ("Status", "draft"),
            ("Timezone", "UTC"),
            ("EndpointAuth", "authenticated"),
            ("MaxExecutionTimeMs", "30000"),
            ("MaxMemoryBytes", "67108864"),
            ("MaxConcurrentRuns", "5"),
            ("MaxAPICallsPerMinute", "60"),
            ("MaxOutputSizeBytes", "1048576"),
            (
                "Source",
                "export default async function main(input, context) {\n  console.log('input', input);\n  return { ok: true };\n}\n",
            ),
        ] {
            values.insert(key.to_owned(), value.to_owned());
        }
        Self {
            values,
            methods: vec!["POST".to_owned()],
        }
    }
}

/// The slot of a field's error; filled on a failed save (out of band when HTMX sends it).
/// The source's error also carries its line and column, for the editor's marker.
pub fn error_slot(name: &str, error: Option<&String>, out_of_band: bool) -> Markup {
    let position = error
        .filter(|_| name == "Source")
        .and_then(|message| services::executions::source_position(message));
    html! {
        p.field-error id={ "error-" (name) } hx-swap-oob=[out_of_band.then_some("true")]
            role=[error.map(|_| "alert")]
            data-line=[position.map(|(line, _)| line)] data-column=[position.map(|(_, column)| column)] {
            @if let Some(error) = error { (error) }
        }
    }
}

fn label(lang: Lang, name: &str) -> Markup {
    let key = FIELDS
        .iter()
        .find(|(field, _, _)| *field == name)
        .map_or("", |(_, _, key)| key);
    html! { label for={ "field-" (name) } { (lang.t(key)) } }
}

fn text_field(
    lang: Lang,
    form: &FormValues,
    errors: &BTreeMap<String, String>,
    name: &str,
    kind: &str,
) -> Markup {
    html! {
        div.field {
            (label(lang, name))
            input id={ "field-" (name) } name=(name) type=(kind) value=(form.get(name))
                aria-invalid=[errors.get(name).map(|_| "true")];
            (error_slot(name, errors.get(name), false))
        }
    }
}

/// A choice among fixed values, each shown by its translation `{prefix}.{value}`.
struct Choice<'a> {
    name: &'a str,
    options: &'a [&'a str],
    prefix: &'a str,
}

fn select(
    lang: Lang,
    form: &FormValues,
    errors: &BTreeMap<String, String>,
    choice: Choice<'_>,
) -> Markup {
    let Choice {
        name,
        options,
        prefix,
    } = choice;
    html! {
        div.field {
            (label(lang, name))
            select id={ "field-" (name) } name=(name) {
                @for option in options {
                    option value=(option) selected[form.get(name) == *option] {
                        (lang.t(&format!("{prefix}.{option}")))
                    }
                }
            }
            (error_slot(name, errors.get(name), false))
        }
    }
}

/// Where the form posts: a new script, or an existing one (with its version).
pub enum Target<'a> {
    Create,
    Update { id: &'a str },
}

/// The whole form. `errors` is keyed by the form's field names.
pub fn script_form(
    lang: Lang,
    target: Target<'_>,
    form: &FormValues,
    errors: &BTreeMap<String, String>,
) -> Markup {
    let types: Vec<&str> = ScriptType::ALL.iter().map(|t| t.as_str()).collect();
    let statuses: Vec<&str> = ScriptStatus::ALL.iter().map(|s| s.as_str()).collect();
    let (post, put, cancel) = match &target {
        Target::Create => (Some("/scripts".to_owned()), None, "/scripts".to_owned()),
        Target::Update { id } => (
            None,
            Some(format!("/scripts/{id}")),
            format!("/scripts/{id}"),
        ),
    };
    html! {
        form #script-form.script-form data-type=(form.get("Type"))
            hx-post=[post] hx-put=[put] hx-target="#form-status" hx-swap="innerHTML" {
            div #form-status {}
            div.grid {
                (text_field(lang, form, errors, "Name", "text"))
                (select(lang, form, errors, Choice { name: "Type", options: &types, prefix: "script.type" }))
                (select(lang, form, errors, Choice { name: "Status", options: &statuses, prefix: "script.status" }))
            }
            div.field {
                (label(lang, "Description"))
                textarea id="field-Description" name="Description" rows="2" { (form.get("Description")) }
                (error_slot("Description", errors.get("Description"), false))
            }
            fieldset.trigger.trigger-scheduled {
                legend { (lang.t("script.trigger.scheduled")) }
                div.grid {
                    div.field {
                        (label(lang, "CronExpression"))
                        input id="field-CronExpression" name="CronExpression" type="text"
                            value=(form.get("CronExpression")) placeholder="0 3 * * *"
                            hx-get="/scripts/cron-preview" hx-trigger="input changed delay:300ms, load"
                            hx-include="[name=CronExpression],[name=Timezone]" hx-target="#cron-preview"
                            hx-swap="innerHTML";
                        (error_slot("CronExpression", errors.get("CronExpression"), false))
                    }
                    (text_field(lang, form, errors, "Timezone", "text"))
                }
                div #cron-preview.cron-preview aria-live="polite" {}
            }
            fieldset.trigger.trigger-http {
                legend { (lang.t("script.trigger.http")) }
                div.grid {
                    div.field {
                        (label(lang, "HTTPPath"))
                        input id="field-HTTPPath" name="HTTPPath" type="text" value=(form.get("HTTPPath"))
                            placeholder="/orders/:id" aria-invalid=[errors.get("HTTPPath").map(|_| "true")]
                            hx-get="/scripts/endpoint-preview" hx-trigger="input changed delay:200ms, load"
                            hx-include="[name=HTTPPath],[name=EndpointAuth]" hx-target="#endpoint-preview"
                            hx-swap="innerHTML";
                        (error_slot("HTTPPath", errors.get("HTTPPath"), false))
                    }
                    div.field {
                        (label(lang, "EndpointAuth"))
                        select id="field-EndpointAuth" name="EndpointAuth"
                            hx-get="/scripts/endpoint-preview" hx-trigger="change"
                            hx-include="[name=HTTPPath],[name=EndpointAuth]" hx-target="#endpoint-preview"
                            hx-swap="innerHTML" {
                            @for option in ["authenticated", "public"] {
                                option value=(option) selected[form.get("EndpointAuth") == option] {
                                    (lang.t(&format!("script.endpoint_auth.{option}")))
                                }
                            }
                        }
                        (error_slot("EndpointAuth", errors.get("EndpointAuth"), false))
                    }
                }
                div #endpoint-preview.endpoint-preview aria-live="polite" {}
                div.field {
                    span.label { (lang.t("script.field.http_methods")) }
                    div.checks {
                        @for method in METHODS {
                            label.check {
                                input type="checkbox" name="HTTPMethods" value=(method)
                                    checked[form.methods.iter().any(|m| m == method)];
                                (method)
                            }
                        }
                    }
                    (error_slot("HTTPMethods", errors.get("HTTPMethods"), false))
                }
            }
            fieldset.trigger.trigger-event {
                legend { (lang.t("script.trigger.event")) }
                (text_field(lang, form, errors, "EventTypes", "text"))
                p.hint { (lang.t("script.hint.event_types")) }
            }
            fieldset {
                legend { (lang.t("script.limits")) }
                div.grid.limits {
                    @for name in ["MaxExecutionTimeMs", "MaxMemoryBytes", "MaxConcurrentRuns", "MaxAPICallsPerMinute", "MaxOutputSizeBytes"] {
                        (text_field(lang, form, errors, name, "number"))
                    }
                }
            }
            div.field {
                (label(lang, "Source"))
                div #editor.code-editor data-source="source-initial" {}
                textarea #field-Source.source-fallback name="Source" rows="16" spellcheck="false" { (form.get("Source")) }
                (data_script("source-initial", form.get("Source")))
                (error_slot("Source", errors.get("Source"), false))
            }
            @if matches!(target, Target::Update { .. }) {
                (text_field(lang, form, errors, "ChangeSummary", "text"))
            }
            div.actions {
                button.primary #save type="submit" { (lang.t("script.save")) }
                span.hint { (lang.t("script.hint.save_shortcut")) }
                a.button href=(cancel) { (lang.t("script.cancel")) }
            }
            (super::trial::test_panel(lang, &target, form.get("TestInput")))
        }
    }
}
