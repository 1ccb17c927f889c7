//! Asynchronous runs on SQLite and PostgreSQL: `mode: "async"` answers 202 with the pending
//! execution and its `Location`, a worker runs it; a queued run cancelled before a worker
//! takes it never runs, and a redelivered job does not run an execution twice.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use domain::jobs::{Job, JobHandler, QueuedRun};
use serde_json::{Value, json};
use std::time::Duration;
use support::{TestApp, parts, spawn_app_with};
use testkit::each_backend;

async fn script(app: &TestApp) -> String {
    let body = json!({ "name": "Doubler", "type": "oneoff", "source": "export default async (input) => ({ doubled: input.n * 2 })" });
    let (status, created) = parts(app.post("/api/v1/scripts", &app.admin, &body).await).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

async fn enqueue(app: &TestApp, script: &str, n: i64) -> (String, Value) {
    let response = app
        .post(
            &format!("/api/v1/scripts/{script}/execute"),
            &app.admin,
            &json!({ "mode": "async", "input": { "n": n } }),
        )
        .await;
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let (_, body) = parts(response).await;
    (location, body)
}

#[tokio::test]
async fn an_async_run_is_queued_and_run_by_a_worker() {
    each_backend(|db| async move {
        let app = spawn_app_with(&db, |_| {}).await;
        let script = script(&app).await;
        let (location, queued) = enqueue(&app, &script, 21).await;
        assert_eq!(queued["status"], "pending", "{queued}");
        assert_eq!(
            location,
            format!("/api/v1/executions/{}", queued["id"].as_str().unwrap())
        );
        let mut done = Value::Null;
        for _ in 0..600 {
            let (_, execution) = parts(app.get(&location, &app.admin).await).await;
            if execution["status"] == "completed" {
                done = execution;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(done["output"], json!({ "doubled": 42 }), "{done}");
        assert_eq!(done["trigger"]["type"], "api");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_cancelled_queued_run_never_runs_and_a_run_is_never_repeated() {
    each_backend(|db| async move {
        // No worker on this node: the jobs wait until the test hands them over.
        let app = spawn_app_with(&db, |s| s.jobs.enabled = false).await;
        let script = script(&app).await;
        let (cancelled, _) = enqueue(&app, &script, 1).await;
        let (kept, _) = enqueue(&app, &script, 2).await;
        let (status, body) = parts(
            app.post(&format!("{cancelled}/cancel"), &app.admin, &json!({}))
                .await,
        )
        .await;
        assert_eq!(
            (status, &body["status"]),
            (202, &json!("cancelled")),
            "{body}"
        );

        let handler = app.components.deliveries.clone();
        let actor = app
            .components
            .accounts
            .authenticate_token(&app.admin)
            .await
            .unwrap();
        let job = |location: &str| {
            Job::Run(QueuedRun {
                execution_id: location.rsplit('/').next().unwrap().parse().unwrap(),
                tenant_id: actor.tenant_id,
            })
        };
        handler.handle(job(&cancelled)).await.unwrap();
        // The same job taken twice at once (a redelivery racing the first): one run.
        let (a, b) = tokio::join!(handler.handle(job(&kept)), handler.handle(job(&kept)));
        a.unwrap();
        b.unwrap();
        handler.handle(job(&kept)).await.unwrap();
        let (_, first) = parts(app.get(&cancelled, &app.admin).await).await;
        assert_eq!(
            (&first["status"], &first["output"]),
            (&json!("cancelled"), &Value::Null),
            "{first}"
        );
        let (_, second) = parts(app.get(&kept, &app.admin).await).await;
        assert_eq!(
            (&second["status"], &second["output"]),
            (&json!("completed"), &json!({ "doubled": 4 })),
            "{second}"
        );
        let (_, history) = parts(
            app.get(&format!("/api/v1/scripts/{script}/executions"), &app.admin)
                .await,
        )
        .await;
        assert_eq!(
            history["items"].as_array().unwrap().len(),
            2,
            "a queued run ran twice: {history}"
        );
        app.stop().await;
    })
    .await;
}
