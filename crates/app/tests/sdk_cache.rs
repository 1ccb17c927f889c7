//! `sdk.cache` through the whole application, in-process and on Redis: the same key of two
//! tenants, or two scripts of one tenant, never meets; increments are atomic.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use services::sdk::ServiceRegistry;
use support::{TestApp, parts, spawn_app_full};
use testkit::each_backend;

async fn create(app: &TestApp, token: &str, name: &str, source: &str) -> String {
    let body = json!({ "name": name, "type": "oneoff", "source": source, "limits": { "maxConcurrentRuns": 20 } });
    let (status, created) = parts(app.post("/api/v1/scripts", token, &body).await).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

async fn execute(app: &TestApp, token: &str, id: &str, input: Value) -> Value {
    let (_, execution) = parts(
        app.post(
            &format!("/api/v1/scripts/{id}/execute"),
            token,
            &json!({ "input": input }),
        )
        .await,
    )
    .await;
    assert_eq!(execution["status"], "completed", "{execution}");
    execution["output"].clone()
}

const KEEPER: &str = "export default async (input) => {
    if (input.cleanup) return sdk.cache.delete('shared-key');
    if (input.set !== undefined) await sdk.cache.set('shared-key', input.set, 60);
    return { value: await sdk.cache.get('shared-key'), exists: await sdk.cache.exists('shared-key') };
}";

#[tokio::test]
async fn keys_are_private_to_tenant_and_script_in_memory_and_on_redis() {
    for redis in [false, true] {
        each_backend(|db| async move {
            let app = spawn_app_full(
                &db,
                |s| {
                    if redis {
                        s.cache.redis_url = "redis://127.0.0.1:6379".into();
                    }
                },
                ServiceRegistry::new(),
            )
            .await;
            let suffix = if redis { "redis" } else { "memory" };
            let a1 = create(&app, &app.admin, &format!("Keeper one {suffix}"), KEEPER).await;
            let a2 = create(&app, &app.admin, &format!("Keeper two {suffix}"), KEEPER).await;
            let b1 = create(&app, &app.other_tenant, &format!("Keeper one {suffix}"), KEEPER).await;
            execute(&app, &app.admin, &a1, json!({"set": {"owner": "a1"}})).await;
            execute(&app, &app.admin, &a2, json!({"set": "a2"})).await;
            assert_eq!(execute(&app, &app.admin, &a1, json!({})).await, json!({"value": {"owner": "a1"}, "exists": true}));
            assert_eq!(execute(&app, &app.admin, &a2, json!({})).await, json!({"value": "a2", "exists": true}));
            assert_eq!(execute(&app, &app.other_tenant, &b1, json!({})).await, json!({"value": null, "exists": false}));

            let counter = create(&app, &app.admin, &format!("Counter {suffix}"), "export default async (input) => input && input.cleanup ? sdk.cache.delete('hits') : sdk.cache.increment('hits')").await;
            let mut runs = Vec::new();
            for _ in 0..10 {
                let (client, base, token, id) = (app.client.clone(), app.base.clone(), app.admin.clone(), counter.clone());
                runs.push(tokio::spawn(async move {
                    client.post(format!("{base}/api/v1/scripts/{id}/execute")).bearer_auth(token).json(&json!({})).send().await.unwrap()
                }));
            }
            let mut seen = Vec::new();
            for run in runs {
                let (_, execution) = parts(run.await.unwrap()).await;
                seen.push(execution["output"].as_i64().unwrap());
            }
            seen.sort();
            assert_eq!(seen, (1..=10).collect::<Vec<_>>(), "{suffix}: every increment counted once");
            let error = create(&app, &app.admin, &format!("Bad ttl {suffix}"), "export default async () => { try { await sdk.cache.set('k', 1, -5) } catch (e) { return e.code } }").await;
            assert_eq!(execute(&app, &app.admin, &error, json!({})).await, json!("INVALID_TTL"));
            // Leave Redis as it was found.
            for (token, id) in [(&app.admin, &a1), (&app.admin, &a2), (&app.admin, &counter)] {
                assert_eq!(execute(&app, token, id, json!({"cleanup": true})).await, json!(true));
            }
            app.stop().await;
        })
        .await;
    }
}
