//! Following an execution over server-sent events, on SQLite and PostgreSQL: the lines come
//! while the script still runs, then its final record; a finished execution gives its stored
//! lines and its record at once; another tenant's execution is not found; and on PostgreSQL a
//! run on one node is followed from another.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use iota_scripts::{Application, Components, Settings};
use persistence::Backend;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::{TestApp, parts, spawn_app_with};
use testkit::each_backend;
use tokio::sync::Semaphore;

/// A local HTTP server that answers each request only once the test lets one through.
async fn gate() -> (u16, Arc<Semaphore>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let permits = Arc::new(Semaphore::new(0));
    let gate = permits.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let gate = gate.clone();
            tokio::spawn(async move {
                let mut buffer = [0u8; 2048];
                let _ = socket.read(&mut buffer).await;
                gate.acquire().await.unwrap().forget();
                let reply = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    (port, permits)
}

/// Logs a line, waits at the gate, logs another.
async fn gated_run(app: &TestApp, port: u16) -> String {
    let source = format!(
        r#"export default async () => {{
            console.log("before the gate");
            await sdk.http.get("http://127.0.0.1:{port}/wait");
            sdk.log.warn("after the gate", {{ n: 2 }});
            return "through";
        }}"#
    );
    let body = json!({ "name": "Gated", "type": "oneoff", "source": source });
    let (status, created) = parts(app.post("/api/v1/scripts", &app.admin, &body).await).await;
    assert_eq!(status, 201, "{created}");
    let script = created["id"].as_str().unwrap();
    let run = json!({ "mode": "async" });
    let path = format!("/api/v1/scripts/{script}/execute");
    let (status, queued) = parts(app.post(&path, &app.admin, &run).await).await;
    assert_eq!(status, 202, "{queued}");
    queued["id"].as_str().unwrap().to_owned()
}

/// Reads server-sent events from a response, skipping comments and fields other than
/// `event` and `data`.
struct Events {
    response: reqwest::Response,
    text: String,
}

impl Events {
    async fn open(base: &str, token: &str, id: &str) -> Self {
        let response = reqwest::Client::new()
            .get(format!("{base}/api/v1/executions/{id}/stream"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self {
            response,
            text: String::new(),
        }
    }

    /// The next event's name and data; `None` once the stream ended.
    async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            while let Some(at) = self.text.find("\n\n") {
                let block: String = self.text.drain(..at + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|line| line.strip_prefix(name).map(str::to_owned))
                };
                if let (Some(event), Some(data)) = (field("event: "), field("data: ")) {
                    return Some((event, serde_json::from_str(&data).unwrap()));
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(20), self.response.chunk())
                .await
                .expect("an event within 20 s")
                .unwrap()?;
            self.text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    async fn expect(&mut self, name: &str) -> Value {
        let (event, data) = self.next().await.expect("the stream goes on");
        assert_eq!(event, name, "{data}");
        data
    }
}

async fn status(app: &TestApp, id: &str) -> Value {
    let (_, execution) = parts(
        app.get(&format!("/api/v1/executions/{id}"), &app.admin)
            .await,
    )
    .await;
    execution["status"].clone()
}

/// Follows a gated run from `base`: the first line while it waits, the rest once released.
async fn follow_gated_run(app: &TestApp, base: &str, id: &str, gate: &Semaphore) {
    let mut events = Events::open(base, &app.admin, id).await;
    let first = events.expect("log").await;
    assert_eq!(
        (&first["seq"], &first["level"], &first["message"]),
        (&json!(1), &json!("info"), &json!("before the gate")),
        "{first}"
    );
    assert!(first["ts"].is_string(), "{first}");
    assert_eq!(
        status(app, id).await,
        "running",
        "the line came only at the end"
    );
    gate.add_permits(1);
    let second = events.expect("log").await;
    assert_eq!(
        (
            &second["seq"],
            &second["level"],
            &second["message"],
            &second["metadata"]
        ),
        (
            &json!(2),
            &json!("warn"),
            &json!("after the gate"),
            &json!({ "n": 2 })
        ),
        "{second}"
    );
    let end = events.expect("end").await;
    let (_, stored) = parts(
        app.get(&format!("/api/v1/executions/{id}"), &app.admin)
            .await,
    )
    .await;
    assert_eq!(end, stored);
    assert_eq!(
        (&end["status"], &end["output"]),
        (&json!("completed"), &json!("through"))
    );
    assert!(
        events.next().await.is_none(),
        "the stream goes on after its end"
    );
}

#[tokio::test]
async fn a_run_is_followed_as_it_logs_then_ends_with_its_record() {
    let (port, gate) = gate().await;
    each_backend(|db| {
        let gate = gate.clone();
        async move {
            let app =
                spawn_app_with(&db, |s| s.http_client.allow = format!("127.0.0.1:{port}")).await;
            let id = gated_run(&app, port).await;
            follow_gated_run(&app, &app.base, &id, &gate).await;

            // Finished: its stored lines and its record, at once.
            let mut events = Events::open(&app.base, &app.admin, &id).await;
            let lines = [events.expect("log").await, events.expect("log").await];
            assert_eq!(
                lines.map(|l| (l["seq"].clone(), l["message"].clone())),
                [
                    (json!(1), json!("before the gate")),
                    (json!(2), json!("after the gate"))
                ]
            );
            assert_eq!(events.expect("end").await["status"], "completed");
            assert!(events.next().await.is_none());

            // Another tenant's execution is not found; nor is a malformed id.
            let path = format!("/api/v1/executions/{id}/stream");
            assert_eq!(app.get(&path, &app.other_tenant).await.status(), 404);
            let bad = app.get("/api/v1/executions/nope/stream", &app.admin).await;
            assert_eq!(bad.status(), 404);
            assert_eq!(app.get(&path, "not-a-token").await.status(), 401);
            app.stop().await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_run_on_one_node_is_followed_from_another() {
    let (port, gate) = gate().await;
    each_backend(|db| {
        let gate = gate.clone();
        async move {
            if db.backend != Backend::Postgres {
                return; // SQLite has one node.
            }
            let app =
                spawn_app_with(&db, |s| s.http_client.allow = format!("127.0.0.1:{port}")).await;
            // The second node takes no jobs: the run goes on the first.
            let mut settings = Settings::default();
            settings.database.url = db.url.clone();
            settings.server.bind = "127.0.0.1:0".into();
            settings.server.workers = 1;
            settings.sandbox.program = env!("CARGO_BIN_EXE_iota-scripts").into();
            settings.scheduler.enabled = false;
            settings.jobs.enabled = false;
            let components = Components::build(&settings).await.unwrap();
            let second = Application::build(&settings, components).await.unwrap();
            let base = format!("http://127.0.0.1:{}", second.port());
            let handle = second.handle();
            tokio::spawn(second.run_until_stopped());

            let id = gated_run(&app, port).await;
            follow_gated_run(&app, &base, &id, &gate).await;
            handle.stop(false).await;
            app.stop().await;
        }
    })
    .await;
}
