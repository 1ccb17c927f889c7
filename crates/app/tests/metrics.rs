//! `/metrics` on SQLite and PostgreSQL: runs are counted by tenant, trigger and outcome with
//! bounded labels (a code a script chose is `SCRIPT_ERROR`), durations fall in the seed's
//! buckets, SDK calls and a refused private address are counted, the executor's gauges are
//! read at the scrape, and a configured token is required.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::{TestApp, parts, spawn_app_with};
use testkit::each_backend;

async fn run(app: &TestApp, source: &str) -> serde_json::Value {
    let body = json!({ "name": format!("m{}", uuid::Uuid::new_v4().simple()), "type": "oneoff",
        "source": source });
    let (status, created) = parts(app.post("/api/v1/scripts", &app.admin, &body).await).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (_, execution) = parts(
        app.post(
            &format!("/api/v1/scripts/{id}/execute"),
            &app.admin,
            &json!({ "input": {} }),
        )
        .await,
    )
    .await;
    execution
}

async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, String) {
    let mut request = app.client.get(format!("{}/metrics", app.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The value of the sample line starting with `prefix` (labels in the exporter's order).
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(name) && !line.starts_with('#'))
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name} {labels:?} in:\n{text}"))
}

#[tokio::test]
async fn metrics_count_runs_calls_and_refusals_with_bounded_labels() {
    each_backend(|db| async move {
        let app = spawn_app_with(&db, |settings| {
            settings.metrics.token = "scrape-secret".into();
        })
        .await;
        let tenant = app
            .components
            .accounts
            .authenticate_token(&app.admin)
            .await
            .unwrap()
            .tenant_id
            .to_string();
        let tenant_label = format!("tenant_id=\"{tenant}\"");

        assert_eq!(scrape(&app, None).await.0, 401);
        assert_eq!(scrape(&app, Some("wrong-secret!")).await.0, 401);

        let done = run(&app, "export default () => 1").await;
        assert_eq!(done["status"], "completed", "{done}");
        let thrown = run(
            &app,
            "export default () => { const e = new Error('no'); e.code = 'MY_CODE_' + Date.now(); throw e }",
        )
        .await;
        assert_eq!(thrown["status"], "failed", "{thrown}");
        let blocked = run(
            &app,
            "export default async () => { try { await sdk.http.get('http://169.254.169.254/') } catch (e) { return e.code } }",
        )
        .await;
        assert_eq!(blocked["output"], "SSRF_BLOCKED", "{blocked}");

        let (status, text) = scrape(&app, Some("scrape-secret")).await;
        assert_eq!(status, 200);
        assert!(
            sample(&text, "script_executions_total", &[&tenant_label, "trigger_type=\"api\""]) >= 3.0
        );
        assert!(
            sample(&text, "script_executions_success_total", &[&tenant_label]) >= 2.0
        );
        assert_eq!(
            sample(
                &text,
                "script_executions_failed_total",
                &[&tenant_label, "error_type=\"SCRIPT_ERROR\""]
            ),
            1.0
        );
        assert!(!text.contains("MY_CODE_"), "a script's own code became a label");
        assert!(
            sample(
                &text,
                "script_execution_duration_seconds_bucket",
                &[&tenant_label, "le=\"0.1\""]
            ) >= 0.0
        );
        assert!(text.contains("le=\"30\""), "the seed's buckets: {text}");
        assert_eq!(
            sample(&text, "script_api_calls_total", &[&tenant_label, "api_type=\"http\""]),
            1.0
        );
        assert_eq!(sample(&text, "script_ssrf_attempts_total", &[&tenant_label]), 1.0);
        let capacity = sample(&text, "script_executor_capacity", &[]);
        assert!(capacity >= 1.0);
        assert_eq!(sample(&text, "script_executor_idle", &[]), capacity);
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(
                !line.contains(&done["id"].as_str().unwrap().to_string()),
                "an execution id became a label: {line}"
            );
        }
        app.stop().await;
    })
    .await;
}

/// The refusals for a script's limit so far (none yet: no sample line).
fn refusals(text: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with("script_refusals_total{"))
        .find(|line| line.contains("limit=\"script_concurrency\""))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn only_runs_refused_to_their_caller_count_as_refusals() {
    each_backend(|db| async move {
        let app = spawn_app_with(&db, |settings| {
            settings.metrics.token = "scrape-secret".into();
        })
        .await;
        let body = json!({ "name": "One at a time", "type": "oneoff",
            "limits": { "maxConcurrentRuns": 1, "maxExecutionTimeMs": 20000 },
            "source": "export default async (input) => { if (input.wait) await new Promise((r) => setTimeout(r, 1500)); return 'done'; }" });
        let (status, created) = parts(app.post("/api/v1/scripts", &app.admin, &body).await).await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        let execute = format!("/api/v1/scripts/{id}/execute");
        let runner = {
            let (client, base, token, execute) =
                (app.client.clone(), app.base.clone(), app.admin.clone(), execute.clone());
            tokio::spawn(async move {
                client.post(format!("{base}{execute}")).bearer_auth(token)
                    .json(&json!({ "input": { "wait": true } })).send().await.unwrap()
            })
        };
        app.until_running(&id).await;
        let before = refusals(&scrape(&app, Some("scrape-secret")).await.1);
        // A queued run waits for the slot: not a refusal.
        let (status, queued) = parts(app.post(&execute, &app.admin, &json!({ "mode": "async", "input": {} })).await).await;
        assert_eq!(status, 202, "{queued}");
        // Two direct runs are refused to their caller: two refusals.
        for _ in 0..2 {
            assert_eq!(app.post(&execute, &app.admin, &json!({})).await.status(), 429);
        }
        assert_eq!(parts(runner.await.unwrap()).await.0, 200);
        let run = format!("/api/v1/executions/{}", queued["id"].as_str().unwrap());
        let mut last = serde_json::Value::Null;
        for _ in 0..1000 {
            last = parts(app.get(&run, &app.admin).await).await.1;
            if last["status"] == "completed" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(last["status"], "completed", "{last}");
        let after = refusals(&scrape(&app, Some("scrape-secret")).await.1);
        assert_eq!(after - before, 2.0);
        app.stop().await;
    })
    .await;
}
