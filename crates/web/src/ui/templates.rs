//! Starting points for a new script, one per common use: a nightly export (scheduled), a
//! webhook handler with a signature check (http), an event notification (event), a data
//! migration (oneoff) and a pricing rule (embedded). Each source (in `script-templates/`)
//! uses only the SDK of `sdk.d.ts` and passes its own test run (`sample_input`).

/// One template: the form's fields for it and an input its test run succeeds with.
#[derive(Debug)]
pub struct Template {
    pub key: &'static str,
    /// Translation keys of its name and what it does.
    pub name: &'static str,
    pub description: &'static str,
    pub script_type: &'static str,
    pub source: &'static str,
    pub cron_expression: Option<&'static str>,
    pub http_path: Option<&'static str>,
    pub http_methods: &'static [&'static str],
    pub endpoint_auth: Option<&'static str>,
    pub event_types: &'static [&'static str],
    /// An input (JSON) that shows the template working in a test run.
    pub sample_input: &'static str,
}

pub const TEMPLATES: &[Template] = &[
    Template {
        key: "nightly_export",
        name: "template.nightly_export.name",
        description: "template.nightly_export.about",
        script_type: "scheduled",
        source: include_str!("../../script-templates/nightly_export.js"),
        cron_expression: Some("0 2 * * *"),
        http_path: None,
        http_methods: &[],
        endpoint_auth: None,
        event_types: &[],
        sample_input: "{}",
    },
    Template {
        key: "webhook_handler",
        name: "template.webhook_handler.name",
        description: "template.webhook_handler.about",
        script_type: "http",
        source: include_str!("../../script-templates/webhook_handler.js"),
        cron_expression: None,
        http_path: Some("/webhooks/payments"),
        http_methods: &["POST"],
        endpoint_auth: Some("public"),
        event_types: &[],
        // Signed with the template's placeholder secret, over the body as the script sees it
        // (its keys in order).
        sample_input: r#"{"method": "POST", "path": "/webhooks/payments", "headers": {"x-signature": "sha256=047c2097a0f15a12c4b993520a216d80e145c045ffbf0f3c28af8d50bf2f03a7", "x-delivery-id": "delivery-1"}, "query": {}, "params": {}, "body": {"id": "evt_1", "type": "invoice.paid"}}"#,
    },
    Template {
        key: "event_notification",
        name: "template.event_notification.name",
        description: "template.event_notification.about",
        script_type: "event",
        source: include_str!("../../script-templates/event_notification.js"),
        cron_expression: None,
        http_path: None,
        http_methods: &[],
        endpoint_auth: None,
        event_types: &["order.created"],
        sample_input: r#"{"event_id": "3f1c2a9e-0000-4000-8000-000000000001", "type": "order.created", "payload": {"orderId": 42, "total": 1999}, "depth": 0, "attempt": 1}"#,
    },
    Template {
        key: "data_migration",
        name: "template.data_migration.name",
        description: "template.data_migration.about",
        script_type: "oneoff",
        source: include_str!("../../script-templates/data_migration.js"),
        cron_expression: None,
        http_path: None,
        http_methods: &[],
        endpoint_auth: None,
        event_types: &[],
        sample_input: r#"{"dryRun": false, "batchSize": 2}"#,
    },
    Template {
        key: "pricing_rule",
        name: "template.pricing_rule.name",
        description: "template.pricing_rule.about",
        script_type: "embedded",
        source: include_str!("../../script-templates/pricing_rule.js"),
        cron_expression: None,
        http_path: None,
        http_methods: &[],
        endpoint_auth: None,
        event_types: &[],
        sample_input: r#"{"items": [{"price": 1200, "quantity": 3}, {"price": 500, "quantity": 8}], "tier": "gold", "taxRate": 0.2}"#,
    },
];

/// The template named `key`.
pub fn template(key: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|template| template.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_has_a_distinct_key_and_a_json_sample() {
        for (index, template) in TEMPLATES.iter().enumerate() {
            assert!(
                TEMPLATES[..index].iter().all(|t| t.key != template.key),
                "{} twice",
                template.key
            );
            serde_json::from_str::<serde_json::Value>(template.sample_input)
                .unwrap_or_else(|e| panic!("{}: {e}", template.key));
            assert!(
                template
                    .script_type
                    .parse::<domain::script::ScriptType>()
                    .is_ok()
            );
        }
        let types: Vec<&str> = TEMPLATES.iter().map(|t| t.script_type).collect();
        assert_eq!(types, ["scheduled", "http", "event", "oneoff", "embedded"]);
    }
}
