//! The sandbox through the real server and its real binary: one tenant's script that crashes
//! its worker, allocates without bound or sits in a native loop ends with the right status and
//! a clear error, while the server stays up and another tenant's run completes; a source that
//! takes long to compile is refused at save time. On SQLite and PostgreSQL.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{TestApp, parts, spawn_app_with};
use testkit::each_backend;

async fn script(app: &TestApp, token: &str, name: &str, source: &str, time_ms: u64) -> String {
    let body = json!({ "name": name, "type": "oneoff", "source": source, "limits": { "maxExecutionTimeMs": time_ms } });
    let (status, created) = parts(app.post("/api/v1/scripts", token, &body).await).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

async fn execute(app: &TestApp, token: &str, id: &str) -> (u16, Value) {
    parts(
        app.post(
            &format!("/api/v1/scripts/{id}/execute"),
            token,
            &json!({"input": null}),
        )
        .await,
    )
    .await
}

#[tokio::test]
async fn one_tenants_attacks_end_its_runs_and_nobody_elses() {
    each_backend(|db| async move {
        let app = spawn_app_with(&db, |settings| settings.sandbox.grace_ms = 300).await;
        let waiting = script(
            &app,
            &app.other_tenant,
            "Patient",
            "export default async () => { await new Promise((r) => setTimeout(r, 1500)); return 'B is fine' }",
            10_000,
        )
        .await;
        let attacks = [
            (
                "Native loop",
                "export default () => Array.prototype.join.call({length: 2**40}, '').length",
                504,
                "timeout",
                "TIMEOUT",
            ),
            (
                "Host allocation",
                "export default () => { const s = 'x'.repeat(8*1024*1024); console.log(...new Array(500).fill(s)) }",
                500,
                "failed",
                "LOG_LIMIT",
            ),
        ];
        let mut ids = Vec::new();
        for (name, source, _, _, _) in attacks {
            ids.push(script(&app, &app.admin, name, source, 1_000).await);
        }
        let bystander = {
            let (client, base, token) = (app.client.clone(), app.base.clone(), app.other_tenant.clone());
            tokio::spawn(async move {
                let response = client
                    .post(format!("{base}/api/v1/scripts/{waiting}/execute"))
                    .bearer_auth(token)
                    .json(&json!({"input": null}))
                    .send()
                    .await
                    .unwrap();
                parts(response).await
            })
        };
        for ((name, _, status, state, code), id) in attacks.iter().zip(&ids) {
            let (got, execution) = execute(&app, &app.admin, id).await;
            assert_eq!(got, *status, "{name}: {execution}");
            assert_eq!(execution["status"], *state, "{name}: {execution}");
            assert_eq!(execution["error"]["code"], *code, "{name}: {execution}");
        }
        let (status, execution) = bystander.await.unwrap();
        assert_eq!((status, execution["output"].clone()), (200, json!("B is fine")));
        let (status, _) = parts(app.client.get(format!("{}/health/ready", app.base)).send().await.unwrap()).await;
        assert_eq!(status, 200, "the server stays up and ready");
        // The tenant itself carries on: its slots were given back.
        let fine = script(&app, &app.admin, "Fine", "export default () => 'A is fine'", 1_000).await;
        let (status, execution) = execute(&app, &app.admin, &fine).await;
        assert_eq!((status, execution["output"].clone()), (200, json!("A is fine")));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_source_that_takes_long_to_compile_is_refused_at_save_time() {
    each_backend(|db| async move {
        let app = spawn_app_with(&db, |settings| settings.sandbox.compile_time_ms = 500).await;
        let count = 40_000;
        let mut source = String::new();
        for i in 0..count {
            source.push_str(&format!("let a{i}=0;"));
        }
        source.push_str("export default()=>[");
        for i in 0..count {
            source.push_str(&format!("()=>a{i},"));
        }
        source.push_str("].length\n");
        assert!(source.len() < 1024 * 1024, "{} bytes", source.len());
        let body = json!({ "name": "Slow to compile", "type": "oneoff", "source": source });
        let (status, refused) = parts(app.post("/api/v1/scripts", &app.admin, &body).await).await;
        assert_eq!(status, 400, "{refused}");
        let message = refused["error"]["fields"]["source"].as_str().unwrap();
        assert!(message.contains("to compile"), "{message}");
        assert_eq!(app.script_count().await, 0, "nothing was written");
        let fine = script(&app, &app.admin, "Fine", "export default () => 1", 1_000).await;
        assert_eq!(execute(&app, &app.admin, &fine).await.0, 200);
        app.stop().await;
    })
    .await;
}
