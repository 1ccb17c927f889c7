//! Test runs over real HTTP, on SQLite and PostgreSQL: the editor's Test button
//! (`POST /scripts/{id}/test`) and `POST /api/v1/scripts/{id}/test` run the unsaved source in
//! the sandbox, record a `test` execution and write no version (`POST /scripts/test` and
//! `POST /api/v1/scripts/test`, for a script not saved yet, run it and record nothing); refused without the right,
//! without the CSRF token, with a source that does not compile (its line and column beside
//! the field), with bad JSON input, and for another tenant's script.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::browser::{htmx_post, page, sign_in};
use support::{TestApp, parts, spawn_app};
use testkit::each_backend;

const SAVED: &str = "export default async function (input) { return { doubled: input.n * 2 } }";
const EDITED: &str = "export default async function (input) {\n  await sdk.cache.set('seen', input.n);\n  const back = await sdk.cache.get('seen');\n  console.log('tripling', back);\n  return { tripled: back * 3 };\n}\n";
const BROKEN: &str = "export default async function (input) {\n  return { oops: ;\n}\n";

async fn create(app: &TestApp, token: &str, name: &str) -> String {
    let body = json!({ "name": name, "type": "oneoff", "status": "active", "source": SAVED });
    let (status, created) = parts(app.post("/api/v1/scripts", token, &body).await).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// The edit form as the browser posts it, with `source` in the editor and `input` to test.
fn form<'a>(name: &'a str, source: &'a str, input: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("Name", name),
        ("Description", ""),
        ("Type", "oneoff"),
        ("Status", "active"),
        ("MaxExecutionTimeMs", "5000"),
        ("MaxMemoryBytes", "67108864"),
        ("MaxConcurrentRuns", "5"),
        ("MaxAPICallsPerMinute", "60"),
        ("MaxOutputSizeBytes", "1048576"),
        ("Source", source),
        ("TestInput", input),
    ]
}

/// The script's test runs, as the API lists them.
async fn test_runs(app: &TestApp, id: &str) -> Vec<Value> {
    let (status, body) = parts(
        app.get(
            &format!("/api/v1/executions?scriptId={id}&trigger=test"),
            &app.admin,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

async fn script(app: &TestApp, id: &str) -> Value {
    let (status, body) = parts(app.get(&format!("/api/v1/scripts/{id}"), &app.admin).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn execute(app: &TestApp, id: &str, n: i64) -> Value {
    let (status, body) = parts(
        app.post(
            &format!("/api/v1/scripts/{id}/execute"),
            &app.admin,
            &json!({ "input": { "n": n } }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["output"].clone()
}

#[tokio::test]
async fn the_test_button_runs_the_unsaved_source_and_writes_no_version() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let id = create(&app, &app.admin, "Tripler").await;
        // The saved version runs (and is cached) first: the test run must not reuse it.
        assert_eq!(execute(&app, &id, 5).await, json!({ "doubled": 10 }));
        let developer = sign_in(&app, "dev@a.test").await;
        let (_, edit) = page(&app, &format!("/scripts/{id}/edit"), &developer.cookie).await;
        assert!(
            edit.contains(r#"id="test""#) && edit.contains("field-TestInput"),
            "{edit}"
        );

        let path = format!("/scripts/{id}/test");
        let response = htmx_post(
            &app,
            &path,
            &developer,
            true,
            &form("Tripler", EDITED, r#"{"n": 7}"#),
        )
        .await;
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        assert!(html.contains(r#"data-status="completed""#), "{html}");
        assert!(html.contains("tripled") && html.contains("21"), "{html}");
        assert!(html.contains("tripling"), "the log line is shown: {html}");
        // Each figure against its limit.
        assert!(
            html.contains("usage-duration") && html.contains("/ 5000 ms"),
            "{html}"
        );
        assert!(
            html.contains("usage-memory") && html.contains("/ 67108864 B"),
            "{html}"
        );
        assert!(
            html.contains("usage-sdk-calls") && html.contains("2 / 60"),
            "{html}"
        );
        assert!(
            html.contains("cache.get") && html.contains("cache.set"),
            "{html}"
        );

        // Recorded as a test run of the stored script; the script itself is untouched.
        let runs = test_runs(&app, &id).await;
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert_eq!(runs[0]["trigger"]["type"], "test");
        assert_eq!(runs[0]["output"], json!({ "tripled": 21 }));
        let stored = script(&app, &id).await;
        assert_eq!(
            (stored["version"].as_i64(), stored["source"].as_str()),
            (Some(1), Some(SAVED))
        );
        // And the saved version still runs as saved: the test's source was not cached for it.
        assert_eq!(execute(&app, &id, 5).await, json!({ "doubled": 10 }));
        let (_, history) = page(
            &app,
            &format!("/executions?scriptId={id}&trigger=test"),
            &developer.cookie,
        )
        .await;
        assert!(
            history.contains("test run"),
            "the history names the trigger"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_test_run_is_refused_like_a_save_and_then_records_nothing() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let id = create(&app, &app.admin, "Guarded").await;
        let path = format!("/scripts/{id}/test");
        let developer = sign_in(&app, "dev@a.test").await;

        // A source that does not compile: its error beside the field, with line and column.
        let response = htmx_post(
            &app,
            &path,
            &developer,
            true,
            &form("Guarded", BROKEN, "{}"),
        )
        .await;
        assert_eq!(response.status(), 422);
        let html = response.text().await.unwrap();
        assert!(
            html.contains(r#"id="error-Source""#) && html.contains(r#"data-line="2""#),
            "{html}"
        );
        assert!(html.contains("data-column="), "{html}");
        assert!(html.contains("Nothing was run"), "{html}");

        // A wrong field, as a save refuses it.
        let mut bad_limit = form("Guarded", SAVED, "{}");
        bad_limit[5] = ("MaxExecutionTimeMs", "soon");
        let response = htmx_post(&app, &path, &developer, true, &bad_limit).await;
        assert_eq!(response.status(), 422);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("must be a whole number")
        );

        // Input that is not JSON: beside the input.
        let response = htmx_post(
            &app,
            &path,
            &developer,
            true,
            &form("Guarded", SAVED, "{n: "),
        )
        .await;
        assert_eq!(response.status(), 422);
        let html = response.text().await.unwrap();
        assert!(
            html.contains(r#"id="error-TestInput""#) && html.contains("JSON"),
            "{html}"
        );

        // Without the CSRF token; as a viewer; for another tenant's user.
        let response = htmx_post(
            &app,
            &path,
            &developer,
            false,
            &form("Guarded", SAVED, "{}"),
        )
        .await;
        assert_eq!(response.status(), 403);
        let viewer = sign_in(&app, "viewer@a.test").await;
        let response = htmx_post(&app, &path, &viewer, true, &form("Guarded", SAVED, "{}")).await;
        assert_eq!(response.status(), 403);
        let (_, edit) = page(&app, &format!("/scripts/{id}/edit"), &viewer.cookie).await;
        assert!(!edit.contains("field-TestInput"));
        let stranger = sign_in(&app, "admin@b.test").await;
        let response = htmx_post(&app, &path, &stranger, true, &form("Guarded", SAVED, "{}")).await;
        assert_eq!(response.status(), 404);

        assert!(
            test_runs(&app, &id).await.is_empty(),
            "nothing was recorded"
        );
        assert_eq!(script(&app, &id).await["version"], 1);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_api_test_runs_a_body_or_the_stored_script() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let id = create(&app, &app.admin, "Api tested").await;
        let path = format!("/api/v1/scripts/{id}/test");

        let body = json!({ "name": "Api tested", "type": "oneoff", "source": EDITED,
            "limits": { "maxApiCallsPerMinute": 30 }, "input": { "n": 2 } });
        let (status, report) = parts(app.post(&path, &app.developer, &body).await).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["execution"]["trigger"]["type"], "test");
        assert_eq!(report["execution"]["output"], json!({ "tripled": 6 }));
        assert_eq!(
            report["sdkCalls"],
            json!({ "cache.get": 1, "cache.set": 1 })
        );
        assert_eq!(report["sdkCallsTotal"], 2);
        assert_eq!(report["limits"]["maxApiCallsPerMinute"], 30);
        assert!(report["execution"]["memoryBytes"].as_i64().unwrap() > 0);
        assert_eq!(
            report["outputBytes"],
            json!({ "tripled": 6 }).to_string().len()
        );

        // Only `input`: the stored script, as saved.
        let (status, report) = parts(
            app.post(&path, &app.developer, &json!({ "input": { "n": 4 } }))
                .await,
        )
        .await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["execution"]["output"], json!({ "doubled": 8 }));

        // Refusals: a source that does not compile (with where), a viewer, no token, another
        // tenant, a field of the wrong type.
        let broken =
            json!({ "name": "Api tested", "type": "oneoff", "source": BROKEN, "input": {} });
        let (status, refused) = parts(app.post(&path, &app.developer, &broken).await).await;
        assert_eq!(status, 400, "{refused}");
        assert_eq!(refused["error"]["code"], "VALIDATION_FAILED");
        assert!(
            refused["error"]["fields"]["source"]
                .as_str()
                .unwrap()
                .contains("line 2"),
            "{refused}"
        );
        assert_eq!(refused["error"]["source"]["line"], 2, "{refused}");
        let (status, _) = parts(app.post(&path, &app.viewer, &body).await).await;
        assert_eq!(status, 403);
        let anonymous = app
            .client
            .post(format!("{}{path}", app.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401);
        let (status, _) = parts(app.post(&path, &app.other_tenant, &body).await).await;
        assert_eq!(status, 404);
        let typed = json!({ "name": 7, "type": "oneoff", "source": SAVED });
        let (status, refused) = parts(app.post(&path, &app.developer, &typed).await).await;
        assert_eq!(status, 400);
        assert!(refused["error"]["fields"]["name"].is_string(), "{refused}");

        assert_eq!(
            test_runs(&app, &id).await.len(),
            2,
            "only the two accepted runs"
        );
        assert_eq!(script(&app, &id).await["version"], 1);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_script_not_saved_yet_is_test_run_and_leaves_no_record() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let body =
            json!({ "name": "Draft", "type": "oneoff", "source": EDITED, "input": { "n": 3 } });
        let (status, report) = parts(
            app.post("/api/v1/scripts/test", &app.developer, &body)
                .await,
        )
        .await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["recorded"], false);
        assert_eq!(report["execution"]["trigger"]["type"], "test");
        assert_eq!(report["execution"]["output"], json!({ "tripled": 9 }));
        assert_eq!(report["sdkCallsTotal"], 2);

        let broken = json!({ "name": "Draft", "type": "oneoff", "source": BROKEN, "input": {} });
        let (status, refused) = parts(
            app.post("/api/v1/scripts/test", &app.developer, &broken)
                .await,
        )
        .await;
        assert_eq!(status, 400, "{refused}");
        assert_eq!(refused["error"]["source"]["line"], 2, "{refused}");
        let nameless = json!({ "type": "oneoff", "source": SAVED });
        let (status, refused) = parts(
            app.post("/api/v1/scripts/test", &app.developer, &nameless)
                .await,
        )
        .await;
        assert_eq!(status, 400);
        assert!(refused["error"]["fields"]["name"].is_string(), "{refused}");
        let (status, _) = parts(app.post("/api/v1/scripts/test", &app.viewer, &body).await).await;
        assert_eq!(status, 403);

        // The New page's Test button.
        let developer = sign_in(&app, "dev@a.test").await;
        let (_, new) = page(&app, "/scripts/new", &developer.cookie).await;
        assert!(new.contains(r#"hx-post="/scripts/test""#), "{new}");
        let response = htmx_post(
            &app,
            "/scripts/test",
            &developer,
            true,
            &form("Draft", EDITED, r#"{"n": 4}"#),
        )
        .await;
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        assert!(
            html.contains(r#"data-status="completed""#) && html.contains("not-recorded"),
            "{html}"
        );
        assert!(html.contains("12"), "{html}");
        let response = htmx_post(
            &app,
            "/scripts/test",
            &developer,
            true,
            &form("Draft", BROKEN, "{}"),
        )
        .await;
        assert_eq!(response.status(), 422);
        assert!(response.text().await.unwrap().contains(r#"data-line="2""#));
        let response = htmx_post(
            &app,
            "/scripts/test",
            &developer,
            false,
            &form("Draft", SAVED, "{}"),
        )
        .await;
        assert_eq!(response.status(), 403);
        let viewer = sign_in(&app, "viewer@a.test").await;
        let response = htmx_post(
            &app,
            "/scripts/test",
            &viewer,
            true,
            &form("Draft", SAVED, "{}"),
        )
        .await;
        assert_eq!(response.status(), 403);

        // Nothing was written: no script, no execution.
        assert_eq!(app.script_count().await, 0);
        let (_, history) = parts(app.get("/api/v1/executions", &app.admin).await).await;
        assert_eq!(history["items"], json!([]), "{history}");
        app.stop().await;
    })
    .await;
}
