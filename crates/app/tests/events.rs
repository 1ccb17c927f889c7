//! Events end to end on SQLite and PostgreSQL: published over the API, dispatched as durable
//! jobs to each subscribed active script of the tenant once (families with `.*`), retried
//! after a failure and stored as a dead letter after the last attempt, which the API retries
//! with an edited payload; another tenant sees none of it.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::{TestApp, parts, spawn_app_with};
use testkit::each_backend;

async fn subscriber(
    app: &TestApp,
    token: &str,
    name: &str,
    types: &[&str],
    source: &str,
) -> String {
    let body = json!({ "name": name, "type": "event", "status": "active", "eventTypes": types, "source": source });
    let (status, created) = parts(app.post("/api/v1/scripts", token, &body).await).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

async fn executions(app: &TestApp, token: &str, script: &str) -> Vec<Value> {
    let path = format!("/api/v1/scripts/{script}/executions?limit=100");
    let (status, page) = parts(app.get(&path, token).await).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

/// Polls every 50 ms, for at most 30 s, until `script` has `count` finished executions.
async fn finished(app: &TestApp, token: &str, script: &str, count: usize) -> Vec<Value> {
    for _ in 0..600 {
        let items = executions(app, token, script).await;
        let done = items.iter().filter(|e| e["status"] != "running").count();
        if done >= count {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("script {script} did not reach {count} finished executions");
}

async fn publish(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    parts(app.post("/api/v1/events", token, &body).await).await
}

const ECHO: &str = "export default async (event) => ({ type: event.type, id: event.payload.id, attempt: event.attempt })";

#[tokio::test]
async fn each_subscribed_script_runs_once_per_event() {
    each_backend(|db| async move {
        let app = spawn_app_with(&db, |_| {}).await;
        let exact = subscriber(&app, &app.admin, "Exact", &["order.created"], ECHO).await;
        let family = subscriber(&app, &app.admin, "Family", &["order.*"], ECHO).await;
        let other = subscriber(&app, &app.admin, "Other", &["invoice.paid"], ECHO).await;
        let foreign = subscriber(
            &app,
            &app.other_tenant,
            "Tenant B",
            &["order.created"],
            ECHO,
        )
        .await;

        let mut published = Vec::new();
        for id in 0..3 {
            let (status, event) = publish(
                &app,
                &app.admin,
                json!({ "type": "order.created", "payload": { "id": id } }),
            )
            .await;
            assert_eq!(status, 202, "{event}");
            published.push(event["eventId"].as_str().unwrap().to_owned());
        }
        for script in [&exact, &family] {
            let runs = finished(&app, &app.admin, script, 3).await;
            assert_eq!(runs.len(), 3, "{runs:?}");
            let mut seen: Vec<String> = runs
                .iter()
                .map(|r| {
                    assert_eq!(
                        (&r["status"], &r["trigger"]["type"], &r["attempt"]),
                        (&json!("completed"), &json!("event"), &json!(1)),
                        "{r}"
                    );
                    assert_eq!(r["output"]["type"], "order.created");
                    r["trigger"]["eventId"].as_str().unwrap().to_owned()
                })
                .collect();
            seen.sort();
            let mut expected = published.clone();
            expected.sort();
            assert_eq!(seen, expected);
        }
        assert!(executions(&app, &app.admin, &other).await.is_empty());
        assert!(
            executions(&app, &app.other_tenant, &foreign)
                .await
                .is_empty(),
            "another tenant's script ran"
        );

        for (body, field) in [
            (json!({ "type": "Order" }), "type"),
            (json!({ "payload": {} }), "type"),
            (json!({ "type": "order.*" }), "type"),
        ] {
            let (status, error) = publish(&app, &app.admin, body).await;
            assert_eq!(status, 400, "{error}");
            assert!(error["error"]["fields"][field].is_string(), "{error}");
        }
        let (status, _) = publish(&app, &app.viewer, json!({ "type": "order.created" })).await;
        assert_eq!(status, 403);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_failing_delivery_ends_as_a_dead_letter_that_the_api_retries() {
    each_backend(|db| async move {
        // The operator's policy would wait minutes; the script's own settings apply.
        let app = spawn_app_with(&db, |s| {
            s.jobs.max_attempts = 8;
            s.jobs.base_delay_ms = 60_000;
        })
        .await;
        let body = json!({ "name": "Fails", "type": "event", "status": "active", "eventTypes": ["payment.failed"],
            "retry": { "maxAttempts": 3, "baseDelayMs": 20, "maxDelayMs": 200 },
            "source": "export default async (event) => { if (!event.payload.ok) throw new Error('boom at attempt ' + event.attempt); return 'recovered'; }" });
        let (status, created) = parts(app.post("/api/v1/scripts", &app.admin, &body).await).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["retry"], json!({ "maxAttempts": 3, "baseDelayMs": 20, "maxDelayMs": 200 }));
        let script = created["id"].as_str().unwrap().to_owned();
        let (status, event) = publish(&app, &app.admin, json!({ "type": "payment.failed", "payload": { "ok": false } })).await;
        assert_eq!(status, 202, "{event}");

        let mut letters = Value::Null;
        for _ in 0..600 {
            let (_, list) = parts(app.get("/api/v1/dead-letters", &app.admin).await).await;
            if !list["items"].as_array().unwrap().is_empty() {
                letters = list;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let letter = letters["items"][0].clone();
        assert_eq!((&letter["attempts"], &letter["eventType"], &letter["status"]), (&json!(3), &json!("payment.failed"), &json!("pending")), "{letters}");
        assert_eq!(letter["eventId"], event["eventId"]);
        assert!(letter["error"]["message"].as_str().unwrap().contains("boom at attempt 3"), "{letter}");
        let runs = executions(&app, &app.admin, &script).await;
        let mut attempts: Vec<i64> = runs.iter().map(|r| {
            assert_eq!(r["status"], "failed", "{r}");
            r["attempt"].as_i64().unwrap()
        }).collect();
        attempts.sort();
        assert_eq!(attempts, vec![1, 2, 3]);
        assert!(runs.iter().any(|r| r["id"] == letter["lastExecutionId"]));

        // Tenant B sees none of it.
        let (_, theirs) = parts(app.get("/api/v1/dead-letters", &app.other_tenant).await).await;
        assert_eq!(theirs["items"], json!([]));
        let id = letter["id"].as_str().unwrap();
        let (status, _) = parts(app.get(&format!("/api/v1/dead-letters/{id}"), &app.other_tenant).await).await;
        assert_eq!(status, 404);
        let (status, _) = parts(app.post(&format!("/api/v1/dead-letters/{id}/retry"), &app.other_tenant, &json!({})).await).await;
        assert_eq!(status, 404);

        // A retry with an edited payload runs it again, once.
        let (status, retried) = parts(app.post(&format!("/api/v1/dead-letters/{id}/retry"), &app.admin, &json!({ "payload": { "ok": true } })).await).await;
        assert_eq!(status, 202, "{retried}");
        let runs = finished(&app, &app.admin, &script, 4).await;
        assert_eq!(runs.iter().filter(|r| r["status"] == "completed").count(), 1, "{runs:?}");
        assert_eq!(runs.iter().find(|r| r["status"] == "completed").unwrap()["output"], "recovered");
        let (status, _) = parts(app.post(&format!("/api/v1/dead-letters/{id}/retry"), &app.admin, &json!({})).await).await;
        assert_eq!(status, 409, "a letter was retried twice");
        let (_, filtered) = parts(app.get("/api/v1/dead-letters?status=pending", &app.admin).await).await;
        assert_eq!(filtered["items"], json!([]));
        let (status, _) = parts(app.get("/api/v1/dead-letters?status=lost", &app.admin).await).await;
        assert_eq!(status, 400);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_tenant_publishing_too_fast_gets_429_and_others_do_not() {
    each_backend(|db| async move {
        let app = spawn_app_with(&db, |s| {
            s.jobs.publish_per_second = 1;
            s.jobs.publish_burst = 2;
        })
        .await;
        let body = json!({ "type": "order.created", "payload": {} });
        for _ in 0..2 {
            let (status, event) = publish(&app, &app.admin, body.clone()).await;
            assert_eq!(status, 202, "{event}");
        }
        let refused = app.post("/api/v1/events", &app.admin, &body).await;
        assert_eq!(refused.status(), 429);
        assert!(refused.headers().contains_key("retry-after"));
        let (status, event) = publish(&app, &app.other_tenant, body.clone()).await;
        assert_eq!(status, 202, "another tenant is not held back: {event}");
        app.stop().await;
    })
    .await;
}
