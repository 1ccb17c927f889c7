//! Scripts served as HTTP endpoints (`/api/scripts/…`) and public webhooks (`/hooks/…`): routes
//! and path parameters, request bodies, the response mapping, every refusal status, tenant
//! isolation, and the route table following changes at once, on SQLite and PostgreSQL.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, parts, spawn_app, spawn_app_with};
use testkit::each_backend;

const ECHO: &str = "export default (req) => ({ status: 201, headers: { 'X-Order': req.params.id ?? 'none' }, body: req })";

fn http_body(name: &str, path: &str, methods: &[&str], auth: &str, source: &str) -> Value {
    json!({
        "name": name, "type": "http", "status": "active", "source": source,
        "httpPath": path, "httpMethods": methods, "endpointAuth": auth,
        "limits": { "maxExecutionTimeMs": 5000 }
    })
}

async fn endpoint(app: &TestApp, token: &str, body: &Value) -> String {
    let (status, created) = parts(app.post("/api/v1/scripts", token, body).await).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// Executions stored for a script.
async fn runs(app: &TestApp, id: &str) -> u64 {
    let path = format!("/api/v1/scripts/{id}/executions");
    let (status, body) = parts(app.get(&path, &app.admin).await).await;
    assert_eq!(status, 200, "{body}");
    body["total"].as_u64().unwrap()
}

fn call(app: &TestApp, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    app.request(method, &format!("/api/scripts{path}"), token)
}

fn hook(app: &TestApp, method: Method, path: &str) -> reqwest::RequestBuilder {
    app.client
        .request(method, format!("{}/hooks{path}", app.base))
}

#[tokio::test]
async fn endpoints_get_the_request_and_shape_the_response() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        endpoint(&app, &app.developer, &http_body("Echo", "/orders/:id", &["GET", "POST"], "authenticated", ECHO)).await;
        let response = call(&app, Method::GET, "/orders/42?page=2&tag=a&tag=b", &app.developer)
            .send().await.unwrap();
        assert_eq!(response.headers()["x-order"], "42");
        assert_eq!(response.headers()["content-type"], "application/json");
        let execution_id = response.headers()["x-execution-id"].to_str().unwrap().to_owned();
        let (status, echoed) = parts(response).await;
        assert_eq!(status, 201, "{echoed}");
        assert_eq!((echoed["method"].as_str(), echoed["path"].as_str()), (Some("GET"), Some("/orders/42")));
        assert_eq!(echoed["params"], json!({"id": "42"}));
        assert_eq!(echoed["query"], json!({"page": "2", "tag": ["a", "b"]}));
        assert_eq!(echoed["body"], Value::Null);
        assert_eq!(echoed["headers"].get("authorization"), None, "the caller's token is not passed on");

        let (_, stored) = parts(app.get(&format!("/api/v1/executions/{execution_id}"), &app.admin).await).await;
        assert_eq!(stored["status"], "completed");
        assert_eq!(stored["trigger"], json!({"type": "http", "httpMethod": "GET", "httpPath": "/orders/42", "userId": stored["trigger"]["userId"]}));

        let json_body = call(&app, Method::POST, "/orders/7", &app.admin).json(&json!({"qty": 3})).send().await.unwrap();
        assert_eq!(parts(json_body).await.1["body"], json!({"qty": 3}));
        let form = call(&app, Method::POST, "/orders/7", &app.admin)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("name=a+b&n=1").send().await.unwrap();
        assert_eq!(parts(form).await.1["body"], json!({"name": "a b", "n": "1"}));
        let text = call(&app, Method::POST, "/orders/7", &app.admin)
            .header("content-type", "text/plain").body("hello").send().await.unwrap();
        assert_eq!(parts(text).await.1["body"], json!("hello"));
        let malformed = call(&app, Method::POST, "/orders/7", &app.admin)
            .header("content-type", "application/json").body("{nope").send().await.unwrap();
        assert_eq!(malformed.status(), 400);

        let forging = "export default () => ({ status: 202, headers: { 'Content-Type': 'text/csv', \
            'Connection': 'upgrade', 'Upgrade': 'h2c', 'Keep-Alive': 'timeout=999', 'Transfer-Encoding': 'chunked', \
            'X-Execution-Id': 'forged', 'Set-Cookie': ['a=1', 'b=2'] }, body: 'x,y' })";
        endpoint(&app, &app.admin, &http_body("Forger", "/report.csv", &["GET"], "authenticated", forging)).await;
        let response = call(&app, Method::GET, "/report.csv", &app.admin).send().await.unwrap();
        assert_eq!(response.status(), 202);
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "text/csv");
        assert!(headers.get("upgrade").is_none() && headers.get("keep-alive").is_none());
        assert!(headers.get("transfer-encoding").is_none());
        assert_ne!(headers["x-execution-id"], "forged");
        assert_eq!(headers.get_all("set-cookie").iter().count(), 2);
        assert_eq!(response.text().await.unwrap(), "x,y");

        let plain = "export default () => [1, 2]";
        endpoint(&app, &app.admin, &http_body("Plain", "/plain", &["GET"], "authenticated", plain)).await;
        let (status, body) = parts(call(&app, Method::GET, "/plain", &app.admin).send().await.unwrap()).await;
        assert_eq!((status, body), (200, json!([1, 2])));
        let text = "export default () => ({ status: 200, body: 'just text' })";
        endpoint(&app, &app.admin, &http_body("Text", "/text", &["GET"], "authenticated", text)).await;
        let response = call(&app, Method::GET, "/text", &app.admin).send().await.unwrap();
        assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
        assert_eq!(response.text().await.unwrap(), "just text");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn refusals_before_a_run_store_nothing() {
    each_backend(|db| async move {
        let app = spawn_app_with(&db, |s| s.http_endpoints.max_body_bytes = 1024).await;
        let id = endpoint(
            &app,
            &app.admin,
            &http_body(
                "Echo",
                "/orders/:id",
                &["GET", "POST"],
                "authenticated",
                ECHO,
            ),
        )
        .await;
        let (status, body) = parts(
            call(&app, Method::GET, "/nothing/here", &app.admin)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("NOT_FOUND"))
        );
        let wrong = call(&app, Method::DELETE, "/orders/1", &app.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 405);
        assert_eq!(wrong.headers()["allow"], "GET, POST");
        let large = call(&app, Method::POST, "/orders/1", &app.admin)
            .body(vec![b'x'; 4096])
            .send()
            .await
            .unwrap();
        assert_eq!(large.status(), 413);
        let unauthenticated = app
            .client
            .get(format!("{}/api/scripts/orders/1", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(unauthenticated.status(), 401);
        let viewer = call(&app, Method::GET, "/orders/1", &app.viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(viewer.status(), 403, "a viewer may not execute");
        assert_eq!(runs(&app, &id).await, 0);
        let fits = call(&app, Method::POST, "/orders/1", &app.admin)
            .body(vec![b'x'; 1024])
            .send()
            .await
            .unwrap();
        assert_eq!(fits.status(), 201);
        assert_eq!(runs(&app, &id).await, 1);
        app.stop().await;
    })
    .await;
}

/// Sends up to 50 requests until one is refused; the refusal.
async fn until_refused(send: impl Fn() -> reqwest::RequestBuilder) -> (reqwest::Response, u64) {
    for served in 0..50 {
        let response = send().send().await.unwrap();
        if response.status() == 429 {
            return (response, served);
        }
        assert!(response.status().is_success(), "{}", response.status());
    }
    panic!("no request was refused");
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    each_backend(|db| async move {
        let app = spawn_app_with(&db, |s| {
            s.http_endpoints.endpoint_requests_per_second = 1;
            s.http_endpoints.endpoint_burst = 1;
            s.http_endpoints.tenant_requests_per_second = 1;
            s.http_endpoints.tenant_burst = 3;
        })
        .await;
        let source = "export default () => 'ok'";
        let one = endpoint(
            &app,
            &app.admin,
            &http_body("One", "/one", &["GET"], "authenticated", source),
        )
        .await;
        let two = endpoint(
            &app,
            &app.admin,
            &http_body("Two", "/two", &["GET"], "public", source),
        )
        .await;
        let (refused, served) = until_refused(|| call(&app, Method::GET, "/one", &app.admin)).await;
        let retry: u64 = refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry >= 1);
        assert_eq!(parts(refused).await.1["error"]["code"], "RATE_LIMIT");
        assert_eq!(
            runs(&app, &one).await,
            served,
            "refused requests are not stored"
        );
        // The tenant's own limit covers its other endpoints, public webhooks included.
        let (refused, served) = until_refused(|| hook(&app, Method::GET, "/tenant-a/two")).await;
        assert!(refused.headers().contains_key("retry-after"));
        assert_eq!(runs(&app, &two).await, served);
        // Another tenant is not held back.
        let other = endpoint(
            &app,
            &app.other_tenant,
            &http_body("One", "/one", &["GET"], "authenticated", source),
        )
        .await;
        let response = call(&app, Method::GET, "/one", &app.other_tenant)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(runs_of(&app, &app.other_tenant, &other).await, 1);
        app.stop().await;
    })
    .await;
}

async fn runs_of(app: &TestApp, token: &str, id: &str) -> u64 {
    let (_, body) = parts(
        app.get(&format!("/api/v1/scripts/{id}/executions"), token)
            .await,
    )
    .await;
    body["total"].as_u64().unwrap()
}

#[tokio::test]
async fn timeouts_are_504_and_failures_500_with_the_execution_id_only() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let mut spinning = http_body(
            "Spin",
            "/spin",
            &["GET"],
            "authenticated",
            "export default () => { while (true) {} }",
        );
        spinning["limits"]["maxExecutionTimeMs"] = json!(200);
        endpoint(&app, &app.admin, &spinning).await;
        let response = call(&app, Method::GET, "/spin", &app.admin)
            .send()
            .await
            .unwrap();
        let (status, body) = parts(response).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (504, Some("TIMEOUT")),
            "{body}"
        );
        let id = body["error"]["executionId"].as_str().unwrap();
        let (_, stored) = parts(
            app.get(&format!("/api/v1/executions/{id}"), &app.admin)
                .await,
        )
        .await;
        assert_eq!(stored["status"], "timeout");

        let throwing =
            "export default () => { throw new Error('db password is hunter2 at /srv/app') }";
        endpoint(
            &app,
            &app.admin,
            &http_body("Throw", "/throw", &["GET"], "authenticated", throwing),
        )
        .await;
        let response = call(&app, Method::GET, "/throw", &app.admin)
            .send()
            .await
            .unwrap();
        let header_id = response.headers()["x-execution-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let text = response.text().await.unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("/srv"),
            "{text}"
        );
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["error"]["code"], "SCRIPT_FAILED");
        assert_eq!(
            body["error"]["executionId"].as_str(),
            Some(header_id.as_str())
        );
        let (_, stored) = parts(
            app.get(&format!("/api/v1/executions/{header_id}"), &app.admin)
                .await,
        )
        .await;
        assert_eq!(stored["status"], "failed");

        let bad_header = "export default () => ({ status: 200, headers: { 'Bad Name': 'x' } })";
        endpoint(
            &app,
            &app.admin,
            &http_body("Bad", "/bad", &["GET"], "authenticated", bad_header),
        )
        .await;
        let (status, body) = parts(
            call(&app, Method::GET, "/bad", &app.admin)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (500, Some("INVALID_RESPONSE"))
        );
        assert!(body["error"]["executionId"].is_string());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_busy_tenant_gets_429_after_a_bounded_wait() {
    each_backend(|db| async move {
        let app = spawn_app_with(&db, |s| {
            s.engine.max_concurrent_per_tenant = 1;
            s.http_endpoints.queue_wait_ms = 50;
        })
        .await;
        let mut spinning = http_body(
            "Spin",
            "/spin",
            &["GET"],
            "authenticated",
            "export default () => { while (true) {} }",
        );
        spinning["limits"]["maxExecutionTimeMs"] = json!(3000);
        endpoint(&app, &app.admin, &spinning).await;
        let quick = endpoint(
            &app,
            &app.admin,
            &http_body(
                "Quick",
                "/quick",
                &["GET"],
                "authenticated",
                "export default () => 1",
            ),
        )
        .await;
        let slow = tokio::spawn(call(&app, Method::GET, "/spin", &app.admin).send());
        for _ in 0..500 {
            if app.components.engine.running() > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(app.components.engine.running(), 1);
        let refused = call(&app, Method::GET, "/quick", &app.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 429);
        assert!(refused.headers().contains_key("retry-after"));
        assert_eq!(
            runs(&app, &quick).await,
            0,
            "a refusal for want of a slot is not stored"
        );
        assert_eq!(slow.await.unwrap().unwrap().status(), 504);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn public_webhooks_and_tenants_stay_apart() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        endpoint(
            &app,
            &app.admin,
            &http_body("Hook", "/github/:event", &["POST"], "public", ECHO),
        )
        .await;
        endpoint(
            &app,
            &app.admin,
            &http_body("Private", "/private", &["GET"], "authenticated", ECHO),
        )
        .await;
        let (status, echoed) = parts(
            hook(&app, Method::POST, "/tenant-a/github/push")
                .header("authorization", "Signature abc")
                .json(&json!({"ref": "main"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{echoed}");
        assert_eq!(
            (
                echoed["params"]["id"].clone(),
                echoed["params"]["event"].as_str()
            ),
            (Value::Null, Some("push"))
        );
        assert_eq!(
            echoed["headers"]["authorization"], "Signature abc",
            "a webhook sees its caller's headers"
        );
        assert_eq!(echoed["rawBody"], r#"{"ref":"main"}"#);
        assert_eq!(
            hook(&app, Method::GET, "/tenant-a/private")
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
        assert_eq!(
            hook(&app, Method::POST, "/tenant-b/github/push")
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
        assert_eq!(
            hook(&app, Method::POST, "/no-such-tenant/github/push")
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
        // A public endpoint is also served to the tenant's token holders.
        let member = call(&app, Method::POST, "/github/push", &app.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(member.status(), 201);

        // Tenant B's token never reaches tenant A's paths, and each tenant has its own.
        assert_eq!(
            call(&app, Method::GET, "/private", &app.other_tenant)
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
        let mine = "export default () => 'b'";
        endpoint(
            &app,
            &app.other_tenant,
            &http_body("Mine", "/private", &["GET"], "authenticated", mine),
        )
        .await;
        let (_, body) = parts(
            call(&app, Method::GET, "/private", &app.other_tenant)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(body, json!("b"));
        let (status, body) = parts(
            call(&app, Method::GET, "/private", &app.admin)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((status, body["path"].as_str()), (201, Some("/private")));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_route_table_follows_changes_at_once() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let mut body = http_body(
            "Moving",
            "/before",
            &["GET"],
            "public",
            "export default () => 'here'",
        );
        let id = endpoint(&app, &app.admin, &body).await;
        let get = |path: &'static str| hook(&app, Method::GET, path).send();
        assert_eq!(get("/tenant-a/before").await.unwrap().status(), 200);

        body["httpPath"] = json!("/after");
        let (status, updated) = parts(
            app.put(&format!("/api/v1/scripts/{id}"), &app.admin, &body)
                .await,
        )
        .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(get("/tenant-a/before").await.unwrap().status(), 404);
        assert_eq!(get("/tenant-a/after").await.unwrap().status(), 200);

        body["status"] = json!("paused");
        app.put(&format!("/api/v1/scripts/{id}"), &app.admin, &body)
            .await;
        assert_eq!(
            get("/tenant-a/after").await.unwrap().status(),
            404,
            "a paused script is not served"
        );
        body["status"] = json!("active");
        app.put(&format!("/api/v1/scripts/{id}"), &app.admin, &body)
            .await;
        assert_eq!(get("/tenant-a/after").await.unwrap().status(), 200);

        assert_eq!(
            app.delete(&format!("/api/v1/scripts/{id}"), &app.admin)
                .await
                .status(),
            204
        );
        assert_eq!(get("/tenant-a/after").await.unwrap().status(), 404);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn quick_runs_are_recorded_together_at_their_end_and_long_ones_while_they_run() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let quick = endpoint(&app, &app.developer, &http_body("Quick", "/quick", &["GET"], "public",
            "export default (req) => ({ status: 200, body: { n: Number(req.query.n) } })")).await;
        // Many at once: their records are written together, each before its answer.
        let mut calls = tokio::task::JoinSet::new();
        for n in 0..40 {
            let request = hook(&app, Method::GET, &format!("/tenant-a/quick?n={n}"));
            calls.spawn(async move { request.send().await.unwrap() });
        }
        let mut ids = std::collections::BTreeSet::new();
        while let Some(answer) = calls.join_next().await {
            let answer = answer.unwrap();
            assert_eq!(answer.status(), 200);
            let id = answer.headers()["x-execution-id"].to_str().unwrap().to_owned();
            let (status, execution) =
                parts(app.get(&format!("/api/v1/executions/{id}"), &app.admin).await).await;
            assert_eq!(status, 200, "recorded before its answer: {execution}");
            assert_eq!(execution["status"], "completed");
            assert_eq!(execution["trigger"]["type"], "http");
            ids.insert(id);
        }
        assert_eq!(ids.len(), 40);
        assert_eq!(runs(&app, &quick).await, 40);

        // A long run is in the history as running while it goes, and can be cancelled there.
        let slow = endpoint(&app, &app.developer, &http_body("Slow", "/slow", &["GET"], "public",
            "export default async () => { await new Promise((r) => setTimeout(r, 1500)); return { done: true } }")).await;
        let request = hook(&app, Method::GET, "/tenant-a/slow");
        let pending = tokio::spawn(async move { request.send().await.unwrap() });
        let mut running = None;
        for _ in 0..100 {
            let path = format!("/api/v1/executions?scriptId={slow}&status=running");
            let (_, page) = parts(app.get(&path, &app.admin).await).await;
            if let Some(first) = page["items"].as_array().and_then(|items| items.first()) {
                running = Some(first["id"].as_str().unwrap().to_owned());
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let running = running.expect("the long run was never seen running");
        let answer = pending.await.unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.headers()["x-execution-id"].to_str().unwrap(), running);
        let (_, execution) =
            parts(app.get(&format!("/api/v1/executions/{running}"), &app.admin).await).await;
        assert_eq!(execution["status"], "completed", "{execution}");
        assert_eq!(runs(&app, &slow).await, 1);
        app.stop().await;
    })
    .await;
}
