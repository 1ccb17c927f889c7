//! Running scripts over the JSON API, their recorded history, cancellation and recovery after
//! a crash, on SQLite and PostgreSQL.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use domain::execution::{Execution, NewExecution, Trigger, TriggerDetails, TriggerKind};
use domain::repository::ExecutionRepository;
use iota_scripts::{Components, Settings};
use serde_json::{Value, json};
use support::{TestApp, parts, spawn_app};
use testkit::each_backend;

async fn script(app: &TestApp, name: &str, source: &str) -> String {
    let body = json!({ "name": name, "type": "oneoff", "source": source, "limits": { "maxExecutionTimeMs": 2000 } });
    let (status, created) = parts(app.post("/api/v1/scripts", &app.admin, &body).await).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn scripts_run_and_every_run_is_recorded() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let id = script(
            &app,
            "Adder",
            "export default async (input) => { console.log('adding'); return input.a + input.b }",
        )
        .await;
        let (status, execution) = parts(
            app.post(
                &format!("/api/v1/scripts/{id}/execute"),
                &app.developer,
                &json!({"input": {"a": 2, "b": 3}}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{execution}");
        assert_eq!(
            (execution["status"].as_str(), execution["output"].as_i64()),
            (Some("completed"), Some(5))
        );
        assert_eq!(execution["trigger"]["type"], "api");
        assert_eq!(execution["scriptVersion"], 1);
        assert_eq!(execution["logs"][0]["message"], "adding");
        assert!(execution["durationMs"].is_i64() && execution["memoryBytes"].as_i64().unwrap() > 0);
        let execution_id = execution["id"].as_str().unwrap();

        let (status, stored) = parts(
            app.get(&format!("/api/v1/executions/{execution_id}"), &app.viewer)
                .await,
        )
        .await;
        assert_eq!(
            (status, stored["output"].as_i64(), stored["input"].clone()),
            (200, Some(5), json!({"a": 2, "b": 3}))
        );

        let failing = script(
            &app,
            "Thrower",
            "export default () => {\n  throw new TypeError('no')\n}",
        )
        .await;
        let (status, failed) = parts(
            app.post(
                &format!("/api/v1/scripts/{failing}/execute"),
                &app.admin,
                &json!({}),
            )
            .await,
        )
        .await;
        assert_eq!((status, failed["status"].as_str()), (500, Some("failed")));
        assert_eq!(
            (
                failed["error"]["message"].as_str(),
                failed["error"]["line"].as_i64()
            ),
            (Some("TypeError: no"), Some(2))
        );
        let looping = script(&app, "Looper", "export default () => { for (;;) {} }").await;
        let (status, timed_out) = parts(
            app.post(
                &format!("/api/v1/scripts/{looping}/execute"),
                &app.admin,
                &json!({}),
            )
            .await,
        )
        .await;
        assert_eq!(
            (
                status,
                timed_out["status"].as_str(),
                timed_out["error"]["code"].as_str()
            ),
            (504, Some("timeout"), Some("TIMEOUT"))
        );

        for _ in 0..2 {
            app.post(
                &format!("/api/v1/scripts/{id}/execute"),
                &app.admin,
                &json!({"input": {"a": 1, "b": 1}}),
            )
            .await;
        }
        let (status, history) = parts(
            app.get(
                &format!("/api/v1/scripts/{id}/executions?limit=2"),
                &app.viewer,
            )
            .await,
        )
        .await;
        assert_eq!(
            (
                status,
                history["total"].as_u64(),
                history["items"].as_array().unwrap().len()
            ),
            (200, Some(3), 2)
        );
        let (_, completed) = parts(
            app.get(
                &format!("/api/v1/scripts/{id}/executions?status=completed"),
                &app.viewer,
            )
            .await,
        )
        .await;
        assert_eq!(completed["total"], 3);
        let (status, bad) = parts(
            app.get(
                &format!("/api/v1/scripts/{id}/executions?status=done&page=0"),
                &app.viewer,
            )
            .await,
        )
        .await;
        assert_eq!(status, 400);
        assert!(
            bad["error"]["fields"]["status"].is_string()
                && bad["error"]["fields"]["page"].is_string()
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn running_is_guarded_by_permission_tenant_and_input_rules() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let id = script(&app, "Echo", "export default (input) => input").await;
        let path = format!("/api/v1/scripts/{id}/execute");
        assert_eq!(app.post(&path, &app.viewer, &json!({})).await.status(), 403);
        assert_eq!(
            app.post(&path, &app.other_tenant, &json!({}))
                .await
                .status(),
            404
        );
        let (status, body) = parts(
            app.post(
                &path,
                &app.admin,
                &json!({"input": 1, "mode": "later", "extra": true}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 400);
        assert!(
            body["error"]["fields"]["mode"].is_string()
                && body["error"]["fields"]["extra"].is_string(),
            "{body}"
        );
        let (_, ran) = parts(
            app.post(&path, &app.admin, &json!({"input": [1, "two"]}))
                .await,
        )
        .await;
        let execution = ran["id"].as_str().unwrap();
        assert_eq!(
            app.get(
                &format!("/api/v1/executions/{execution}"),
                &app.other_tenant
            )
            .await
            .status(),
            404
        );
        assert_eq!(
            app.get(
                &format!("/api/v1/scripts/{id}/executions"),
                &app.other_tenant
            )
            .await
            .status(),
            404
        );
        let (status, _) = parts(
            app.post(
                &format!("/api/v1/executions/{execution}/cancel"),
                &app.admin,
                &json!({}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 409, "a finished execution cannot be cancelled");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_run_refused_for_capacity_gets_429_and_stores_nothing() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let body = json!({ "name": "One at a time", "type": "oneoff", "limits": { "maxConcurrentRuns": 1, "maxExecutionTimeMs": 20000 },
            "source": "export default async (input) => { if (input.wait) await new Promise((r) => setTimeout(r, 3000)); return 'done'; }" });
        let (status, created) = parts(app.post("/api/v1/scripts", &app.admin, &body).await).await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        let runner = {
            let (client, base, token, id) = (app.client.clone(), app.base.clone(), app.admin.clone(), id.clone());
            tokio::spawn(async move {
                client.post(format!("{base}/api/v1/scripts/{id}/execute")).bearer_auth(token).json(&json!({ "input": { "wait": true } })).send().await.unwrap()
            })
        };
        let history = format!("/api/v1/scripts/{id}/executions");
        app.until_running(&id).await;
        for _ in 0..3 {
            let response = app.post(&format!("/api/v1/scripts/{id}/execute"), &app.admin, &json!({})).await;
            assert_eq!(response.status(), 429);
            assert!(response.headers().contains_key("retry-after"));
        }
        let (status, finished) = parts(runner.await.unwrap()).await;
        assert_eq!((status, finished["output"].as_str()), (200, Some("done")), "{finished}");
        let (_, list) = parts(app.get(&history, &app.admin).await).await;
        assert_eq!(list["total"], 1, "a refusal was stored: {list}");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_running_execution_is_cancelled_over_the_api() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let body = json!({ "name": "Forever", "type": "oneoff", "source": "export default () => { for (;;) {} }", "limits": { "maxExecutionTimeMs": 60000 } });
        let (_, created) = parts(app.post("/api/v1/scripts", &app.admin, &body).await).await;
        let id = created["id"].as_str().unwrap().to_owned();
        let runner = {
            let (client, base, token) = (app.client.clone(), app.base.clone(), app.admin.clone());
            tokio::spawn(async move {
                client.post(format!("{base}/api/v1/scripts/{id}/execute")).bearer_auth(token).json(&json!({})).send().await.unwrap()
            })
        };
        let script_id = created["id"].as_str().unwrap();
        let mut execution_id = None;
        for _ in 0..1000 {
            let (_, list) = parts(app.get(&format!("/api/v1/scripts/{script_id}/executions?status=running"), &app.admin).await).await;
            if let Some(id) = list["items"][0]["id"].as_str() {
                execution_id = Some(id.to_owned());
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let execution_id = execution_id.expect("the execution shows as running");
        assert_eq!(app.post(&format!("/api/v1/executions/{execution_id}/cancel"), &app.viewer, &json!({})).await.status(), 403);
        let (status, _) = parts(app.post(&format!("/api/v1/executions/{execution_id}/cancel"), &app.developer, &json!({})).await).await;
        assert_eq!(status, 202);
        let (status, finished) = parts(runner.await.unwrap()).await;
        assert_eq!((status, finished["status"].as_str()), (200, Some("cancelled")));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn executions_left_running_by_a_crash_are_marked_failed_on_start() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let id = script(&app, "Crashed", "export default () => 1").await;
        let script_id: domain::ScriptId = id.parse().unwrap();
        let (_, listed) = parts(app.get(&format!("/api/v1/scripts/{id}"), &app.admin).await).await;
        let tenant_id = {
            let scripts = app.components.scripts.clone();
            let admin_actor = app
                .components
                .accounts
                .authenticate_token(&app.admin)
                .await
                .unwrap();
            scripts
                .get(&admin_actor, script_id)
                .await
                .unwrap()
                .tenant_id
        };
        assert_eq!(listed["version"], 1);
        let repository = persistence::SeaExecutionRepository::new(app.components.database.clone());
        let mut orphan = Execution::pending(
            NewExecution {
                tenant_id,
                script_id,
                script_version: 1,
                trigger: Trigger {
                    kind: TriggerKind::Manual,
                    details: TriggerDetails::default(),
                },
                input: Value::Null,
                attempt: 1,
            },
            chrono::Utc::now(),
        );
        orphan.start(chrono::Utc::now()).unwrap();
        repository.insert(&orphan).await.unwrap();
        app.stop().await;

        // A new process on the same database.
        let mut settings = Settings::default();
        settings.database.url = db.url.clone();
        settings.sandbox.program = env!("CARGO_BIN_EXE_iota-scripts").into();
        let restarted = Components::build(&settings).await.unwrap();
        let repository = persistence::SeaExecutionRepository::new(restarted.database.clone());
        let recovered = repository.get(tenant_id, orphan.id).await.unwrap().unwrap();
        assert_eq!(recovered.status, domain::execution::ExecutionStatus::Failed);
        assert_eq!(recovered.error.as_ref().unwrap().code, "ABANDONED");
        // A terminal execution is never rewritten.
        assert!(repository.update(&recovered).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn the_latest_run_of_each_script_is_read_at_once_within_the_tenant() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let source = "export default async (input) => input";
        let (a, b, c) = (
            script(&app, "Latest A", source).await,
            script(&app, "Latest B", source).await,
            script(&app, "Latest C", source).await,
        );
        let mut last = Value::Null;
        for (id, n) in [(&a, 1), (&b, 2), (&a, 3)] {
            let (status, run) = parts(
                app.post(
                    &format!("/api/v1/scripts/{id}/execute"),
                    &app.admin,
                    &json!({ "input": n }),
                )
                .await,
            )
            .await;
            assert_eq!(status, 200, "{run}");
            if id == &a {
                last = run;
            }
        }
        // Another tenant's script with a run: never in tenant A's answer.
        let (status, other) = parts(
            app.post(
                "/api/v1/scripts",
                &app.other_tenant,
                &json!({ "name": "Other", "type": "oneoff", "source": source }),
            )
            .await,
        )
        .await;
        assert_eq!(status, 201, "{other}");
        let other = other["id"].as_str().unwrap().to_owned();
        let ran = app
            .post(
                &format!("/api/v1/scripts/{other}/execute"),
                &app.other_tenant,
                &json!({}),
            )
            .await;
        assert_eq!(ran.status(), 200);

        let actor = app
            .components
            .accounts
            .authenticate_token(&app.admin)
            .await
            .unwrap();
        let ids: Vec<domain::ScriptId> = [&a, &b, &c, &other]
            .iter()
            .map(|id| id.parse().unwrap())
            .collect();
        let latest = app
            .components
            .executions
            .latest_runs(&actor, &ids)
            .await
            .unwrap();
        assert_eq!(latest.len(), 2, "{latest:?}");
        assert_eq!(latest[&ids[0]].id.to_string(), last["id"].as_str().unwrap());
        assert_eq!(latest[&ids[0]].output, Some(json!(3)));
        assert_eq!(latest[&ids[1]].output, Some(json!(2)));
        assert!(!latest.contains_key(&ids[2]) && !latest.contains_key(&ids[3]));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_run_whose_client_went_away_is_not_left_running() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let id = script(
            &app,
            "Slow",
            "export default () => { const end = Date.now() + 1000; while (Date.now() < end) {} return 'late' }",
        )
        .await;
        // A client that gives up while the run goes on.
        let impatient = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(400))
            .build()
            .unwrap();
        let gave_up = impatient
            .post(format!("{}/api/v1/scripts/{id}/execute", app.base))
            .bearer_auth(&app.developer)
            .json(&json!({}))
            .send()
            .await;
        assert!(gave_up.is_err(), "the run answered within 400 ms");
        let mut items = Value::Null;
        for _ in 0..500 {
            let (_, list) = parts(
                app.get(&format!("/api/v1/scripts/{id}/executions"), &app.admin)
                    .await,
            )
            .await;
            items = list["items"].clone();
            let settled = items
                .as_array()
                .is_some_and(|runs| runs.len() == 1 && runs[0]["status"] != "running");
            if settled {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // The run goes to its end and its record says so, though no one hears the answer.
        assert_eq!(items[0]["status"], "completed", "{items}");
        assert_eq!(items[0]["output"], "late", "{items}");
        app.stop().await;
    })
    .await;
}
