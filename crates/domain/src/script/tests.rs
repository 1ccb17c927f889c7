//! Table-driven tests of `ScriptRules::parse`: each field of SPEC §4 and the type rules.

use super::*;

fn valid(script_type: &str) -> ScriptInput {
    let mut input = ScriptInput {
        name: "Export clients".into(),
        description: "Nightly export".into(),
        source: "export default async function (input) { return input }".into(),
        script_type: script_type.into(),
        ..Default::default()
    };
    match script_type {
        "scheduled" => {
            input.cron_expression = Some("0 2 * * *".into());
            input.timezone = Some("Europe/Berlin".into());
        }
        "http" => {
            input.http_path = Some("/orders/:id".into());
            input.http_methods = vec!["GET".into()];
        }
        "event" => input.event_types = vec!["order.created".into()],
        _ => {}
    }
    input
}

#[test]
fn valid_input_of_every_type_parses() {
    let rules = ScriptRules::default();
    for script_type in ScriptType::ALL {
        let spec = rules
            .parse(&valid(script_type.as_str()))
            .unwrap_or_else(|e| panic!("{script_type}: {e}"));
        assert_eq!(spec.script_type(), *script_type);
        assert_eq!(spec.status, ScriptStatus::Draft);
        assert_eq!(spec.limits, ResourceLimits::default());
    }
}

#[test]
fn each_bad_field_is_reported_under_its_name() {
    type Edit = fn(&mut ScriptInput);
    let cases: &[(&str, Edit, &str, &str)] = &[
        ("oneoff", |i| i.name = "ab".into(), "name", "at least 3"),
        (
            "oneoff",
            |i| i.name = "x".repeat(101),
            "name",
            "at most 100",
        ),
        (
            "oneoff",
            |i| i.description = "d".repeat(501),
            "description",
            "at most 500",
        ),
        ("oneoff", |i| i.source = String::new(), "source", "required"),
        (
            "oneoff",
            |i| i.source = "const x = 1".into(),
            "source",
            "no entry point",
        ),
        (
            "oneoff",
            |i| i.script_type = "cron".into(),
            "type",
            "not one of",
        ),
        (
            "oneoff",
            |i| i.script_type = " ".into(),
            "type",
            "is required",
        ),
        (
            "oneoff",
            |i| i.status = Some("running".into()),
            "status",
            "not one of",
        ),
        (
            "oneoff",
            |i| i.cron_expression = Some("* * * * *".into()),
            "cronExpression",
            "only allowed for scheduled",
        ),
        (
            "oneoff",
            |i| i.http_path = Some("/x".into()),
            "httpPath",
            "only allowed for http",
        ),
        (
            "oneoff",
            |i| i.event_types = vec!["a.b".into()],
            "eventTypes",
            "only allowed for event",
        ),
        (
            "oneoff",
            |i| i.limits.max_memory_bytes = Some(1),
            "limits.maxMemoryBytes",
            "between",
        ),
        (
            "oneoff",
            |i| {
                i.metadata.insert("bad key".into(), "v".into());
            },
            "metadata",
            "key",
        ),
        (
            "scheduled",
            |i| i.cron_expression = None,
            "cronExpression",
            "required",
        ),
        (
            "scheduled",
            |i| i.cron_expression = Some("61 * * * *".into()),
            "cronExpression",
            "minute",
        ),
        (
            "scheduled",
            |i| i.timezone = Some("Nowhere/City".into()),
            "timezone",
            "IANA",
        ),
        ("http", |i| i.http_path = None, "httpPath", "required"),
        (
            "http",
            |i| i.http_path = Some("orders".into()),
            "httpPath",
            "start with",
        ),
        (
            "http",
            |i| i.http_methods = vec![],
            "httpMethods",
            "at least one",
        ),
        (
            "http",
            |i| i.http_methods = vec!["FETCH".into()],
            "httpMethods",
            "not one of",
        ),
        (
            "http",
            |i| i.endpoint_auth = Some("none".into()),
            "endpointAuth",
            "not one of",
        ),
        (
            "http",
            |i| i.source = "function handleEvent() {}".into(),
            "source",
            "handleRequest",
        ),
        (
            "event",
            |i| i.event_types = vec![],
            "eventTypes",
            "at least one",
        ),
        (
            "event",
            |i| i.event_types = vec!["Order".into()],
            "eventTypes",
            "lowercase dotted",
        ),
    ];
    let rules = ScriptRules::default();
    for (script_type, edit, field, message) in cases {
        let mut input = valid(script_type);
        edit(&mut input);
        let errors = rules.parse(&input).expect_err(field);
        let got = errors
            .get(field)
            .unwrap_or_else(|| panic!("{field} missing in {errors}"));
        assert!(
            got.contains(message),
            "{field}: {got:?} should contain {message:?}"
        );
    }
}

#[test]
fn all_problems_are_reported_together() {
    let input = ScriptInput {
        name: "x".into(),
        script_type: "nope".into(),
        ..Default::default()
    };
    let errors = ScriptRules::default().parse(&input).expect_err("invalid");
    for field in ["name", "source", "type"] {
        assert!(errors.get(field).is_some(), "{field} in {errors}");
    }
}

#[test]
fn handlers_count_as_entry_points_for_their_type() {
    let rules = ScriptRules::default();
    let mut http = valid("http");
    http.source = "async function handleRequest(req) { return { status: 204 } }".into();
    assert!(rules.parse(&http).is_ok());
    let mut event = valid("event");
    event.source = "async function handleEvent(e) {}".into();
    assert!(rules.parse(&event).is_ok());
}

#[test]
fn source_size_follows_the_operator_limit() {
    let rules = ScriptRules {
        max_source_bytes: 64,
        ..Default::default()
    };
    let mut input = valid("oneoff");
    input.source = format!("function main() {{}} // {}", "x".repeat(64));
    let errors = rules.parse(&input).expect_err("too large");
    assert!(
        errors
            .get("source")
            .is_some_and(|m| m.contains("limit of 64 bytes"))
    );
}

#[test]
fn revising_bumps_the_version_only_on_change() {
    let rules = ScriptRules::default();
    let spec = rules.parse(&valid("oneoff")).expect("valid");
    let now = Utc::now();
    let mut script = Script::create(TenantId::new(), spec.clone(), None, now);
    assert_eq!(script.version, 1);
    assert!(!script.revise(spec.clone(), None, now));
    assert_eq!(script.version, 1);
    let mut changed = spec.clone();
    changed.status = ScriptStatus::Active;
    assert!(script.revise(changed.clone(), None, now));
    assert_eq!(script.version, 2);
    assert_eq!(
        change_summary(Some(&spec), &changed),
        "Status draft → active"
    );
}

#[test]
fn only_active_scheduled_scripts_have_a_next_run() {
    let rules = ScriptRules::default();
    let mut input = valid("scheduled");
    let now = Utc::now();
    let draft = Script::create(
        TenantId::new(),
        rules.parse(&input).expect("valid"),
        None,
        now,
    );
    assert_eq!(draft.next_run_at, None);
    input.status = Some("active".into());
    let active = Script::create(
        TenantId::new(),
        rules.parse(&input).expect("valid"),
        None,
        now,
    );
    assert!(active.next_run_at.is_some_and(|t| t > now));
}

#[test]
fn a_spec_survives_its_plain_form() {
    let rules = ScriptRules::default();
    for script_type in ScriptType::ALL {
        let mut input = valid(script_type.as_str());
        input.metadata.insert("category".into(), "exports".into());
        let spec = rules.parse(&input).expect("valid");
        let stored = serde_json::to_string(&spec.to_input()).expect("serializes");
        let back: ScriptInput = serde_json::from_str(&stored).expect("deserializes");
        assert_eq!(
            ScriptRules::stored().parse(&back),
            Ok(spec),
            "{script_type}"
        );
    }
}

#[test]
fn each_bad_option_is_reported_under_its_name() {
    type Edit = fn(&mut ScriptInput);
    let cases: &[(&str, Edit, &str, &str)] = &[
        (
            "scheduled",
            |i| i.missed_runs = Some("always".into()),
            "missedRuns",
            "not one of runOnce, skip",
        ),
        (
            "event",
            |i| i.missed_runs = Some("skip".into()),
            "missedRuns",
            "only allowed for scheduled",
        ),
        (
            "scheduled",
            |i| i.retry.max_attempts = Some(3),
            "retry",
            "only allowed for event",
        ),
        (
            "event",
            |i| i.retry.max_attempts = Some(0),
            "retry.maxAttempts",
            "between 1 and 25",
        ),
        (
            "event",
            |i| i.retry.base_delay_ms = Some(-5),
            "retry.baseDelayMs",
            "between",
        ),
        (
            "event",
            |i| {
                i.retry.base_delay_ms = Some(5000);
                i.retry.max_delay_ms = Some(1000);
            },
            "retry.baseDelayMs",
            "more than retry.maxDelayMs",
        ),
        (
            "oneoff",
            |i| i.alerts.emails = vec!["ops@example.com".into(), "not an address".into()],
            "alerts.emails",
            "\"not an address\" is not an email",
        ),
        (
            "oneoff",
            |i| i.alerts.emails = vec!["a@example.com".into(); 21],
            "alerts.emails",
            "at most 20",
        ),
        (
            "oneoff",
            |i| i.alerts.webhook_url = Some("ftp://example.com/x".into()),
            "alerts.webhookUrl",
            "http:// or https://",
        ),
        (
            "oneoff",
            |i| i.alerts.webhook_url = Some("https://".into()),
            "alerts.webhookUrl",
            "URL",
        ),
        (
            "oneoff",
            |i| i.alerts.after_failures = Some(0),
            "alerts.afterFailures",
            "between 1 and 1000",
        ),
        (
            "oneoff",
            |i| i.alerts.throttle_minutes = Some(100_000),
            "alerts.throttleMinutes",
            "between 1 and 10080",
        ),
    ];
    let rules = ScriptRules::default();
    for (script_type, edit, field, message) in cases {
        let mut input = valid(script_type);
        edit(&mut input);
        let errors = rules.parse(&input).expect_err(field);
        let got = errors
            .get(field)
            .unwrap_or_else(|| panic!("{field}: {errors}"));
        assert!(got.contains(message), "{field}: {got}");
    }
}

#[test]
fn options_round_trip_and_fall_back_to_the_operator() {
    let rules = ScriptRules::default();
    let mut input = valid("event");
    input.retry.max_attempts = Some(3);
    input.retry.base_delay_ms = Some(50);
    input.alerts.emails = vec!["Ops@Example.com".into(), "ops@example.com".into()];
    input.alerts.webhook_url = Some("https://hooks.example.com/alerts".into());
    input.alerts.after_failures = Some(2);
    let spec = rules.parse(&input).unwrap();
    assert_eq!(
        spec.options.alerts.emails,
        vec!["ops@example.com".to_owned()]
    );
    assert_eq!(spec.options.alerts.throttle.as_secs(), 15 * 60);
    let operator = crate::jobs::RetryPolicy::default();
    let policy = spec.options.retry.resolve(operator);
    assert_eq!(policy.max_attempts, 3);
    assert_eq!(policy.base_delay.as_millis(), 50);
    assert_eq!(policy.max_delay, operator.max_delay);
    let again = ScriptRules::stored().parse(&spec.to_input()).unwrap();
    assert_eq!(again, spec);

    let mut scheduled = valid("scheduled");
    scheduled.missed_runs = Some("skip".into());
    let spec = rules.parse(&scheduled).unwrap();
    assert_eq!(spec.options.missed_runs, crate::schedule::MissedRuns::Skip);
    assert_eq!(ScriptRules::stored().parse(&spec.to_input()).unwrap(), spec);
}
