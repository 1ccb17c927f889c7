//! Several nodes on one database, on SQLite and PostgreSQL: a node that starts leaves a live
//! node's runs alone, a cancellation made on one node stops the run on the other, and the runs
//! of a node whose lease expired are failed as abandoned.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use domain::execution::{
    Execution, ExecutionStatus, NewExecution, Trigger, TriggerDetails, TriggerKind,
};
use domain::repository::ExecutionRepository;
use iota_scripts::application::Components;
use iota_scripts::settings::Settings;
use persistence::SeaExecutionRepository;
use serde_json::{Value, json};
use std::time::Duration;
use support::{parts, spawn_app};
use testkit::each_backend;

#[tokio::test]
async fn nodes_share_a_database_without_failing_each_others_runs() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let body = json!({ "name": "Long", "type": "oneoff",
            "source": "export default async () => { await new Promise((r) => setTimeout(r, 20000)); return 'done'; }" });
        let (status, created) = parts(app.post("/api/v1/scripts", &app.admin, &body).await).await;
        assert_eq!(status, 201, "{created}");
        let script = created["id"].as_str().unwrap().to_owned();
        let request = app
            .request(reqwest::Method::POST, &format!("/api/v1/scripts/{script}/execute"), &app.admin)
            .json(&json!({}));
        let run = tokio::spawn(async move { parts(request.send().await.unwrap()).await });
        let mut running = None;
        for _ in 0..300 {
            let (_, list) = parts(app.get(&format!("/api/v1/scripts/{script}/executions"), &app.admin).await).await;
            running = list["items"].as_array().unwrap().iter().find(|e| e["status"] == "running").cloned();
            if running.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let running = running.expect("the run started");
        let id: domain::ExecutionId = running["id"].as_str().unwrap().parse().unwrap();

        // A second node starts on the same database: the first node's run goes on.
        let mut settings = Settings::default();
        settings.database.url = db.url.clone();
        settings.sandbox.program = env!("CARGO_BIN_EXE_iota-scripts").into();
        let second = Components::build(&settings).await.unwrap();
        let actor = second.accounts.authenticate_token(&app.admin).await.unwrap();
        let seen = second.executions.get(&actor, id).await.unwrap();
        assert_eq!(seen.status, ExecutionStatus::Running, "a starting node failed a live node's run");

        // Cancelled on the second node, the run stops on the first.
        second.executions.cancel(&actor, id).await.unwrap();
        let (_, ended) = tokio::time::timeout(Duration::from_secs(15), run).await.expect("the run stopped").unwrap();
        assert_eq!(ended["status"], "cancelled", "{ended}");

        // A node that died: its lease expires and its runs are failed as abandoned.
        let dead = SeaExecutionRepository::new(db.database.clone()).with_node("node-dead".into());
        let mut orphan = Execution::pending(
            NewExecution {
                tenant_id: actor.tenant_id,
                script_id: seen.script_id,
                script_version: 1,
                trigger: Trigger { kind: TriggerKind::Manual, details: TriggerDetails::default() },
                input: Value::Null,
                attempt: 1,
            },
            chrono::Utc::now(),
        );
        orphan.start(chrono::Utc::now()).unwrap();
        dead.insert(&orphan).await.unwrap();
        assert!(second.lease.beat().await.unwrap() >= 1);
        let failed = second.executions.get(&actor, orphan.id).await.unwrap();
        assert_eq!(failed.status, ExecutionStatus::Failed);
        assert_eq!(failed.error.unwrap().code, "ABANDONED");
        second.lease.leave().await;
        app.stop().await;
    })
    .await;
}
