//! The scripts JSON API over real HTTP, on SQLite and PostgreSQL.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{parts, spawn_app};
use testkit::each_backend;

fn oneoff(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Exports clients",
        "type": "oneoff",
        "source": "export default async function (input) { return input }",
        "metadata": { "category": "exports" }
    })
}

#[tokio::test]
async fn health_probes_answer() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let live = app
            .client
            .get(format!("{}/health/live", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(live.status(), 200);
        let (status, body) = parts(
            app.client
                .get(format!("{}/health/ready", app.base))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, body["checks"]["database"].as_str()),
            (200, Some("ok"))
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn scripts_can_be_created_listed_updated_versioned_restored_and_deleted() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let (status, created) = parts(
            app.post("/api/v1/scripts", &app.admin, &oneoff("Export clients"))
                .await,
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!(created["version"], 1);
        assert_eq!(created["status"], "draft");
        assert_eq!(created["limits"]["maxMemoryBytes"], 67_108_864);
        assert_eq!(created["metadata"]["category"], "exports");

        let (status, list) = parts(
            app.get("/api/v1/scripts?search=export&type=oneoff", &app.viewer)
                .await,
        )
        .await;
        assert_eq!(
            (
                status,
                list["total"].as_u64(),
                list["page"].as_u64(),
                list["limit"].as_u64()
            ),
            (200, Some(1), Some(1), Some(20))
        );
        let (_, none) = parts(app.get("/api/v1/scripts?status=active", &app.viewer).await).await;
        assert_eq!(none["total"], 0);

        let mut changed = oneoff("Export clients");
        changed["status"] = json!("active");
        changed["source"] = json!("export default () => 2");
        changed["changeSummary"] = json!("Return two");
        let (status, updated) = parts(
            app.put(&format!("/api/v1/scripts/{id}"), &app.developer, &changed)
                .await,
        )
        .await;
        assert_eq!(
            (
                status,
                updated["version"].as_i64(),
                updated["status"].as_str()
            ),
            (200, Some(2), Some("active"))
        );

        let (status, restored) = parts(
            app.post(
                &format!("/api/v1/scripts/{id}/versions/1/restore"),
                &app.developer,
                &json!({}),
            )
            .await,
        )
        .await;
        assert_eq!((status, restored["version"].as_i64()), (200, Some(3)));
        assert_eq!(restored["source"], created["source"]);

        let (status, versions) = parts(
            app.get(&format!("/api/v1/scripts/{id}/versions"), &app.viewer)
                .await,
        )
        .await;
        assert_eq!((status, versions["total"].as_u64()), (200, Some(3)));
        let summaries: Vec<&str> = versions["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["changeSummary"].as_str().unwrap())
            .collect();
        assert_eq!(
            summaries,
            vec!["Restored version 1", "Return two", "Created"]
        );
        assert_eq!(versions["items"][1]["source"], "export default () => 2");
        assert_eq!(versions["items"][1]["status"], "active");

        let (status, _) = parts(
            app.post(
                &format!("/api/v1/scripts/{id}/versions/42/restore"),
                &app.admin,
                &json!({}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(
            app.delete(&format!("/api/v1/scripts/{id}"), &app.admin)
                .await
                .status(),
            204
        );
        assert_eq!(
            app.get(&format!("/api/v1/scripts/{id}"), &app.admin)
                .await
                .status(),
            404
        );
        assert_eq!(
            app.get("/api/v1/scripts/not-a-uuid", &app.admin)
                .await
                .status(),
            404
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn every_kind_of_bad_input_gets_400_per_field_and_writes_nothing() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let with = |edits: Value| {
            let mut body = oneoff("Valid name");
            for (key, value) in edits.as_object().unwrap() {
                body[key] = value.clone();
            }
            body
        };
        let too_big = "x".repeat(1024 * 1024);
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (with(json!({"name": "ab"})), vec!["name"]),
            (with(json!({"name": "n".repeat(101)})), vec!["name"]),
            (with(json!({"description": "d".repeat(501)})), vec!["description"]),
            (with(json!({"source": ""})), vec!["source"]),
            (with(json!({"source": "const x = 1"})), vec!["source"]),
            (with(json!({"source": "export default () => {\n  let = ;\n}"})), vec!["source"]),
            (with(json!({"source": "import fs from 'fs'; export default () => fs"})), vec!["source"]),
            (with(json!({"source": format!("export default () => 1 // {too_big}")})), vec!["source"]),
            (with(json!({"type": "cron"})), vec!["type"]),
            (with(json!({"status": "running"})), vec!["status"]),
            (with(json!({"type": "scheduled"})), vec!["cronExpression"]),
            (with(json!({"type": "scheduled", "cronExpression": "* * *", "timezone": "Mars/Base"})), vec!["cronExpression", "timezone"]),
            (with(json!({"cronExpression": "* * * * *"})), vec!["cronExpression"]),
            (with(json!({"type": "http"})), vec!["httpPath", "httpMethods"]),
            (with(json!({"type": "http", "httpPath": "no-slash", "httpMethods": ["FETCH"], "endpointAuth": "open"})), vec!["httpPath", "httpMethods", "endpointAuth"]),
            (with(json!({"type": "event", "eventTypes": ["Order"]})), vec!["eventTypes"]),
            (with(json!({"type": "event"})), vec!["eventTypes"]),
            (with(json!({"limits": {"maxExecutionTimeMs": 0, "maxMemoryBytes": 1, "maxConcurrentRuns": 1000, "maxApiCallsPerMinute": -1, "maxOutputSizeBytes": 1}})),
                vec!["limits.maxExecutionTimeMs", "limits.maxMemoryBytes", "limits.maxConcurrentRuns", "limits.maxApiCallsPerMinute", "limits.maxOutputSizeBytes"]),
            (with(json!({"metadata": {"bad key": "v"}})), vec!["metadata"]),
            (with(json!({"missedRuns": "skip"})), vec!["missedRuns"]),
            (with(json!({"type": "scheduled", "cronExpression": "* * * * *", "timezone": "UTC", "missedRuns": "sometimes"})), vec!["missedRuns"]),
            (with(json!({"retry": {"maxAttempts": 3}})), vec!["retry"]),
            (with(json!({"type": "event", "eventTypes": ["order.created"], "retry": {"maxAttempts": 0, "baseDelayMs": "soon", "maxDelayMs": 999999999999_i64}})),
                vec!["retry.maxAttempts", "retry.baseDelayMs", "retry.maxDelayMs"]),
            (with(json!({"type": "event", "eventTypes": ["order.created"], "retry": {"baseDelayMs": 5000, "maxDelayMs": 100}})), vec!["retry.baseDelayMs"]),
            (with(json!({"alerts": {"emails": ["ops@example.com", "nobody"], "webhookUrl": "javascript:alert(1)", "afterFailures": 0, "throttleMinutes": 0, "sms": "+1"}})),
                vec!["alerts.emails", "alerts.webhookUrl", "alerts.afterFailures", "alerts.throttleMinutes", "alerts.sms"]),
            (with(json!({"alerts": "ops@example.com"})), vec!["alerts"]),
            // Wrong types and unknown fields, all reported at once with the rule errors.
            (with(json!({"name": 42, "httpMethods": "GET", "limits": {"maxMemoryBytes": "big"}})), vec!["name", "httpMethods", "limits.maxMemoryBytes"]),
            (with(json!({"metadata": {"n": 1}})), vec!["metadata"]),
            (with(json!({"bogus": true, "limits": {"extra": 1}, "id": "x"})), vec!["bogus", "limits.extra", "id"]),
            (with(json!({"changeSummary": "not on create"})), vec!["changeSummary"]),
            (json!({}), vec!["name", "source", "type"]),
        ];
        for (body, fields) in cases {
            let (status, response) = parts(app.post("/api/v1/scripts", &app.admin, &body).await).await;
            assert_eq!(status, 400, "{response}");
            assert_eq!(response["error"]["code"], "VALIDATION_FAILED");
            for field in &fields {
                let message = response["error"]["fields"][field].as_str();
                assert!(message.is_some_and(|m| !m.is_empty()), "{field} missing in {response}");
            }
        }
        let raw = |body: &'static str, content_type: &'static str| {
            app.client
                .post(format!("{}/api/v1/scripts", app.base))
                .bearer_auth(&app.admin)
                .header("content-type", content_type)
                .body(body)
                .send()
        };
        let (status, response) = parts(raw("{\"name\": ", "application/json").await.unwrap()).await;
        assert_eq!((status, response["error"]["code"].as_str()), (400, Some("MALFORMED_JSON")));
        let (status, _) = parts(raw("[1, 2]", "application/json").await.unwrap()).await;
        assert_eq!(status, 400);
        let (status, _) = parts(raw("{}", "text/plain").await.unwrap()).await;
        assert_eq!(status, 415);
        let huge = app
            .client
            .post(format!("{}/api/v1/scripts", app.base))
            .bearer_auth(&app.admin)
            .header("content-type", "application/json")
            .body(vec![b' '; 5 * 1024 * 1024])
            .send()
            .await
            .unwrap();
        assert_eq!(huge.status(), 413);

        // Bad updates leave the script as it was.
        let (_, created) = parts(app.post("/api/v1/scripts", &app.admin, &oneoff("Keeper")).await).await;
        let id = created["id"].as_str().unwrap();
        let (status, _) = parts(app.put(&format!("/api/v1/scripts/{id}"), &app.admin, &with(json!({"name": "x", "extra": 1}))).await).await;
        assert_eq!(status, 400);
        let (_, versions) = parts(app.get(&format!("/api/v1/scripts/{id}/versions"), &app.admin).await).await;
        assert_eq!(versions["total"], 1);
        assert_eq!(app.script_count().await, 1);
        let (status, response) = parts(app.get("/api/v1/scripts?page=0&limit=abc&type=x", &app.admin).await).await;
        assert_eq!(status, 400);
        for field in ["page", "limit", "type"] {
            assert!(response["error"]["fields"][field].is_string(), "{field}: {response}");
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn tokens_roles_and_tenants_are_enforced() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let (_, created) = parts(
            app.post("/api/v1/scripts", &app.admin, &oneoff("Tenant A script"))
                .await,
        )
        .await;
        let id = created["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/scripts/{id}");

        // No token, a wrong token, a token of another tenant.
        let anonymous = app
            .client
            .get(format!("{}/api/v1/scripts", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401);
        assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
        assert_eq!(
            app.get("/api/v1/scripts", "iots_forged").await.status(),
            401
        );
        assert_eq!(app.get("/api/v1/scripts", "Basic abc").await.status(), 401);
        let b = &app.other_tenant;
        assert_eq!(app.get(&path, b).await.status(), 404);
        assert_eq!(app.put(&path, b, &oneoff("Hijacked")).await.status(), 404);
        assert_eq!(app.delete(&path, b).await.status(), 404);
        assert_eq!(app.get(&format!("{path}/versions"), b).await.status(), 404);
        assert_eq!(
            app.post(&format!("{path}/versions/1/restore"), b, &json!({}))
                .await
                .status(),
            404
        );
        let (_, list) = parts(app.get("/api/v1/scripts", b).await).await;
        assert_eq!(list["total"], 0);

        // A viewer reads but cannot change; a developer cannot delete.
        assert_eq!(app.get(&path, &app.viewer).await.status(), 200);
        let (status, body) = parts(
            app.post("/api/v1/scripts", &app.viewer, &oneoff("Viewer script"))
                .await,
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("FORBIDDEN"))
        );
        assert_eq!(
            app.put(&path, &app.viewer, &oneoff("Renamed"))
                .await
                .status(),
            403
        );
        assert_eq!(app.delete(&path, &app.viewer).await.status(), 403);
        assert_eq!(
            app.post(
                &format!("{path}/versions/1/restore"),
                &app.viewer,
                &json!({})
            )
            .await
            .status(),
            403
        );
        assert_eq!(app.delete(&path, &app.developer).await.status(), 403);

        let (_, still) = parts(app.get(&path, &app.admin).await).await;
        assert_eq!(
            (still["name"].as_str(), still["version"].as_i64()),
            (Some("Tenant A script"), Some(1))
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn duplicate_names_and_routes_conflict() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let endpoint = |name: &str, path: &str| {
            json!({
                "name": name, "type": "http", "httpPath": path, "httpMethods": ["GET", "POST"],
                "source": "async function handleRequest(req) { return { status: 200 } }"
            })
        };
        assert_eq!(
            app.post(
                "/api/v1/scripts",
                &app.admin,
                &endpoint("Orders", "/orders/:id")
            )
            .await
            .status(),
            201
        );
        let (status, body) = parts(
            app.post("/api/v1/scripts", &app.admin, &oneoff("Orders"))
                .await,
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (409, Some("CONFLICT"))
        );
        let (status, body) = parts(
            app.post(
                "/api/v1/scripts",
                &app.admin,
                &endpoint("Orders 2", "/orders/:orderId"),
            )
            .await,
        )
        .await;
        assert_eq!(status, 409, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("/orders/:id")
        );
        // Tenant B has its own names and routes.
        assert_eq!(
            app.post(
                "/api/v1/scripts",
                &app.other_tenant,
                &endpoint("Orders", "/orders/:id")
            )
            .await
            .status(),
            201
        );
        assert_eq!(app.script_count().await, 1);
        app.stop().await;
    })
    .await;
}
