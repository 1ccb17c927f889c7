//! The OpenAPI document against the server: every route the JSON API registers is documented
//! (read from the routing code), every documented operation is routed (asked of the running
//! server), and real answers have the documented shapes (no undocumented field, no missing
//! required one).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use support::{TestApp, parts, spawn_app};
use testkit::each_backend;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Routes that are not JSON operations: the browsable page of the document and its files.
const NOT_OPERATIONS: [&str; 2] = ["/api/v1/docs", "/api/v1/docs/{version}/{file}"];

/// `(method, path)` of every `web::resource("…")` with its `.route(web::<method>()…)` calls in
/// the routing code of `dir`, paths prefixed with `prefix`.
fn registered_in(dir: &Path, prefix: &str, found: &mut BTreeSet<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            registered_in(&path, prefix, found);
            continue;
        }
        let code = std::fs::read_to_string(&path).unwrap();
        for resource in code.split("web::resource(\"").skip(1) {
            let (route, rest) = resource.split_once('"').unwrap();
            // The resource's chain ends where the next resource or `.service(` begins.
            let chain = rest.split(".service(").next().unwrap();
            let chain = chain.split(';').next().unwrap();
            for method in METHODS {
                if chain.contains(&format!("web::{method}()")) {
                    found.insert((method.to_owned(), format!("{prefix}{route}")));
                }
            }
        }
    }
}

fn documented(document: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                found.insert((method.to_owned(), path.clone()));
            }
        }
    }
    found
}

async fn document(app: &TestApp) -> Value {
    let response = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    let (status, document) = parts(response).await;
    assert_eq!(status, 200);
    document
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_is_served() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let document = document(&app).await;
        assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(document["components"]["securitySchemes"]["bearer"].is_object());

        let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src");
        let mut registered = BTreeSet::new();
        registered_in(&web.join("api"), "/api/v1", &mut registered);
        for probe in ["/health/live", "/health/ready"] {
            let code = std::fs::read_to_string(web.join("health.rs")).unwrap();
            assert!(code.contains(&format!("#[get(\"{probe}\")]")));
            registered.insert(("get".to_owned(), probe.to_owned()));
        }
        registered.retain(|(_, path)| !NOT_OPERATIONS.contains(&path.as_str()));
        assert!(
            registered.len() >= 20,
            "the routing code was not read: {registered:?}"
        );
        let documented = documented(&document);
        let undocumented: Vec<_> = registered.difference(&documented).collect();
        assert!(
            undocumented.is_empty(),
            "routes missing from the document: {undocumented:?}"
        );
        let unrouted: Vec<_> = documented.difference(&registered).collect();
        assert!(
            unrouted.is_empty(),
            "documented but not in the routing code: {unrouted:?}"
        );

        // Each documented operation reaches a handler of the running server: never the API's
        // "no such route" 404 nor a 405.
        for (method, path) in &documented {
            let concrete = path
                .replace("{id}", &uuid::Uuid::new_v4().to_string())
                .replace("{version}", "1");
            let request = app
                .request(
                    method.to_uppercase().parse().unwrap(),
                    &concrete,
                    &app.viewer,
                )
                .timeout(std::time::Duration::from_secs(10));
            let request = if method == "get" || method == "delete" {
                request
            } else {
                request.json(&json!({}))
            };
            let (status, body) = parts(request.send().await.unwrap()).await;
            assert_ne!(status, 405, "{method} {path}: {body}");
            assert_ne!(
                body["error"]["message"], "no such API route",
                "{method} {path} is not routed"
            );
        }

        let page = app
            .client
            .get(format!("{}/api/v1/docs", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let asset = html
            .split("src=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_owned();
        let script = app
            .client
            .get(format!("{}{asset}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(script.status(), 200, "{asset}");
        assert!(script.text().await.unwrap().contains("SwaggerUIBundle"));
        app.stop().await;
    })
    .await;
}

/// The schema `reference` points at (or the schema itself).
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            &document["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// The object schema inside `schema`, through `oneOf` (nullable) and `$ref`s.
fn object_schema<'a>(document: &'a Value, schema: &'a Value) -> Option<&'a Value> {
    let schema = resolve(document, schema);
    if schema.get("properties").is_some() {
        return Some(schema);
    }
    schema
        .get("oneOf")
        .and_then(Value::as_array)
        .and_then(|options| options.iter().find_map(|s| object_schema(document, s)))
}

/// Checks `value` against the object schema: every field documented, every required field
/// there; nested objects and arrays of objects likewise.
fn conforms(document: &Value, schema: &Value, value: &Value, at: &str) {
    let Some(object) = value.as_object() else {
        return;
    };
    // A free-form object (any JSON, or a map of strings) has no fields to check.
    let Some(schema) = object_schema(document, schema) else {
        return;
    };
    let properties = schema["properties"].as_object().unwrap();
    for (field, inner) in object {
        let documented = properties
            .get(field)
            .unwrap_or_else(|| panic!("{at}.{field} is not in the document"));
        if inner.is_object() {
            conforms(document, documented, inner, &format!("{at}.{field}"));
        } else if let Some(items) = inner.as_array() {
            let documented = resolve(document, documented);
            let item_schema = documented
                .get("items")
                .or_else(|| {
                    documented["oneOf"]
                        .as_array()
                        .and_then(|o| o.iter().find_map(|s| s.get("items")))
                })
                .unwrap_or_else(|| panic!("{at}.{field}: no item schema"));
            for (i, item) in items.iter().enumerate() {
                conforms(document, item_schema, item, &format!("{at}.{field}[{i}]"));
            }
        }
    }
    for required in schema["required"].as_array().into_iter().flatten() {
        let required = required.as_str().unwrap();
        assert!(
            object.contains_key(required),
            "{at}.{required} is required, missing"
        );
    }
}

fn response_schema<'a>(document: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    &document["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]
        ["schema"]
}

#[tokio::test]
async fn real_answers_have_the_documented_shapes() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let document = document(&app).await;
        let check = |method: &str, path: &str, status: u16, body: &Value| {
            let schema = response_schema(&document, method, path, status);
            assert!(!schema.is_null(), "{method} {path} {status} has no documented body");
            conforms(&document, schema, body, &format!("{method} {path} {status}"));
        };

        let script = json!({
            "name": "shapes", "type": "oneoff",
            "source": "export default async function (input) { console.log('hi', { n: 1 }); return input }",
            "metadata": { "team": "ops" },
            "limits": { "maxExecutionTimeMs": 5000 },
        });
        let (status, created) = parts(app.post("/api/v1/scripts", &app.admin, &script).await).await;
        assert_eq!(status, 201, "{created}");
        check("post", "/api/v1/scripts", 201, &created);
        let id = created["id"].as_str().unwrap();

        let (status, bad) = parts(
            app.post("/api/v1/scripts", &app.admin, &json!({ "name": 1 })).await,
        )
        .await;
        assert_eq!(status, 400);
        check("post", "/api/v1/scripts", 400, &bad);

        let (_, got) = parts(app.get(&format!("/api/v1/scripts/{id}"), &app.admin).await).await;
        check("get", "/api/v1/scripts/{id}", 200, &got);
        let (_, list) = parts(app.get("/api/v1/scripts", &app.admin).await).await;
        check("get", "/api/v1/scripts", 200, &list);
        let (_, versions) =
            parts(app.get(&format!("/api/v1/scripts/{id}/versions"), &app.admin).await).await;
        check("get", "/api/v1/scripts/{id}/versions", 200, &versions);

        let (status, run) = parts(
            app.post(
                &format!("/api/v1/scripts/{id}/execute"),
                &app.admin,
                &json!({ "input": { "a": 1 } }),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{run}");
        assert!(!run["logs"].as_array().unwrap().is_empty());
        check("post", "/api/v1/scripts/{id}/execute", 200, &run);
        let execution = run["id"].as_str().unwrap();
        let (_, got) =
            parts(app.get(&format!("/api/v1/executions/{execution}"), &app.admin).await).await;
        check("get", "/api/v1/executions/{id}", 200, &got);
        let (_, history) = parts(app.get("/api/v1/executions", &app.admin).await).await;
        check("get", "/api/v1/executions", 200, &history);
        let (_, runs) =
            parts(app.get(&format!("/api/v1/scripts/{id}/executions"), &app.admin).await).await;
        check("get", "/api/v1/scripts/{id}/executions", 200, &runs);

        let (_, preview) = parts(
            app.get("/api/v1/cron/preview?expression=0%209%20*%20*%20*&timezone=Europe/Berlin", &app.admin)
                .await,
        )
        .await;
        check("get", "/api/v1/cron/preview", 200, &preview);
        let (status, event) = parts(
            app.post("/api/v1/events", &app.admin, &json!({ "type": "order.created", "payload": {} }))
                .await,
        )
        .await;
        assert_eq!(status, 202, "{event}");
        check("post", "/api/v1/events", 202, &event);
        let (_, letters) = parts(app.get("/api/v1/dead-letters", &app.admin).await).await;
        check("get", "/api/v1/dead-letters", 200, &letters);

        let (status, missing) =
            parts(app.get(&format!("/api/v1/scripts/{}", uuid::Uuid::new_v4()), &app.admin).await)
                .await;
        assert_eq!(status, 404);
        check("get", "/api/v1/scripts/{id}", 404, &missing);
        let (_, ready) = parts(app.client.get(format!("{}/health/ready", app.base)).send().await.unwrap()).await;
        check("get", "/health/ready", 200, &ready);
        app.stop().await;
    })
    .await;
}
