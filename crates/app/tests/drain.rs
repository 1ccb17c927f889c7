//! SIGTERM drains a real `iota-scripts serve` process, on SQLite and PostgreSQL: readiness
//! answers 503 at once and new runs are refused with `Retry-After`, the runs going on finish,
//! and the process exits 0 by itself; runs still going past `[server] shutdown_grace_ms` are
//! interrupted and their durable work (an asynchronous run, an event delivery) runs again on
//! the next process.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use reqwest::Client;
use serde_json::{Value, json};
use std::time::Duration;
use support::process::{Api, ServerProcess, admin_token};
use testkit::each_backend;

fn script(name: &str, kind: &str, wait_ms: u64) -> Value {
    let source = format!(
        "export default async () => {{ await new Promise((r) => setTimeout(r, {wait_ms})); return 'done'; }}"
    );
    let mut body = json!({ "name": name, "type": kind, "status": "active", "source": source });
    if kind == "event" {
        body["eventTypes"] = json!(["slow.started"]);
    }
    body
}

/// Creates the scripts, starts an async run and publishes an event; their ids once both runs
/// are going.
async fn start_slow_runs(
    api: &Api,
    server: &ServerProcess,
    wait_ms: u64,
) -> (String, String, String) {
    let mut ids = Vec::new();
    for (name, kind) in [("Slow run", "oneoff"), ("Slow subscriber", "event")] {
        let (status, created) = api
            .post(server, "/api/v1/scripts", &script(name, kind, wait_ms))
            .await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let (status, queued) = api
        .post(
            server,
            &format!("/api/v1/scripts/{}/execute", ids[0]),
            &json!({ "mode": "async" }),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    let run = queued["id"].as_str().unwrap().to_owned();
    let (status, event) = api
        .post(
            server,
            "/api/v1/events",
            &json!({ "type": "slow.started", "payload": {} }),
        )
        .await;
    assert_eq!(status, 202, "{event}");
    for _ in 0..600 {
        let (_, execution) = api.get(server, &format!("/api/v1/executions/{run}")).await;
        let delivered = api.executions(server, &ids[1]).await;
        if execution["status"] == "running" && delivered.iter().any(|e| e["status"] == "running") {
            return (run, ids.remove(0), ids.remove(0));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the slow runs did not start");
}

#[tokio::test]
async fn sigterm_refuses_new_work_and_exits_once_the_runs_finished() {
    each_backend(|db| async move {
        let api = Api {
            client: Client::new(),
            token: admin_token(&db.url).await,
        };
        let mut server = ServerProcess::start(&db.url, &[("SERVER__SHUTDOWN_GRACE_MS", "60000")]);
        let (run, oneoff, subscriber) = start_slow_runs(&api, &server, 3000).await;
        // A synchronous run going on when the signal comes is answered too.
        let sync = {
            let request = api
                .client
                .post(server.url(&format!("/api/v1/scripts/{oneoff}/execute")))
                .bearer_auth(&api.token)
                .json(&json!({}));
            tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;

        server.terminate();
        let mut draining = None;
        for _ in 0..200 {
            let (status, body) = api.get(&server, "/health/ready").await;
            if status == 503 {
                draining = Some(body);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let draining = draining.expect("readiness failed while draining");
        assert_eq!(draining["status"], "draining", "{draining}");
        let refused = api
            .client
            .post(server.url(&format!("/api/v1/scripts/{oneoff}/execute")))
            .bearer_auth(&api.token)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status().as_u16(), 503);
        assert!(refused.headers().contains_key("retry-after"));
        let (status, body) = api.get(&server, "/api/scripts/anything").await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"]["code"], "DRAINING");

        let exit = server
            .wait_exit(Duration::from_secs(60))
            .await
            .expect("the server exited by itself");
        assert!(exit.success(), "{exit:?}");
        assert_eq!(sync.await.unwrap().expect("answered"), 200);

        // Everything that was going finished on the stopped node.
        let after = ServerProcess::start(&db.url, &[]);
        let (_, execution) = api.get(&after, &format!("/api/v1/executions/{run}")).await;
        assert_eq!(execution["status"], "completed", "{execution}");
        let delivered = api.executions(&after, &subscriber).await;
        assert_eq!(delivered.len(), 1, "{delivered:?}");
        assert_eq!(delivered[0]["status"], "completed");
        let runs = api.executions(&after, &oneoff).await;
        assert!(runs.iter().all(|e| e["status"] == "completed"), "{runs:?}");
        assert_eq!(runs.len(), 2, "the refused run was not stored");
    })
    .await;
}

#[tokio::test]
async fn runs_past_the_grace_are_interrupted_and_their_durable_work_runs_again() {
    each_backend(|db| async move {
        let api = Api {
            client: Client::new(),
            token: admin_token(&db.url).await,
        };
        let mut server = ServerProcess::start(&db.url, &[("SERVER__SHUTDOWN_GRACE_MS", "500")]);
        let (run, oneoff, subscriber) = start_slow_runs(&api, &server, 600_000).await;
        server.terminate();
        let exit = server
            .wait_exit(Duration::from_secs(60))
            .await
            .expect("the server exited by itself");
        assert!(exit.success(), "{exit:?}");

        // A process that takes no jobs: the queued run waits, pending; the sources change to
        // end at once. It drains with nothing going on and exits.
        let mut idle = ServerProcess::start(
            &db.url,
            &[("JOBS__ENABLED", "false"), ("SCHEDULER__ENABLED", "false")],
        );
        let (_, execution) = api.get(&idle, &format!("/api/v1/executions/{run}")).await;
        assert_eq!(
            execution["status"], "pending",
            "the interrupted queued run is queued again: {execution}"
        );
        for (id, name, kind) in [
            (&oneoff, "Slow run", "oneoff"),
            (&subscriber, "Slow subscriber", "event"),
        ] {
            let (status, body) = api
                .send(
                    reqwest::Method::PUT,
                    idle.url(&format!("/api/v1/scripts/{id}")),
                    Some(&script(name, kind, 0)),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
        idle.terminate();
        assert!(
            idle.wait_exit(Duration::from_secs(30))
                .await
                .expect("exited")
                .success()
        );

        // The next process runs the same work again.
        let next = ServerProcess::start(&db.url, &[]);
        let mut last = (Value::Null, Vec::new());
        for _ in 0..1200 {
            let (_, execution) = api.get(&next, &format!("/api/v1/executions/{run}")).await;
            let delivered = api.executions(&next, &subscriber).await;
            let done = execution["status"] == "completed"
                && delivered.iter().any(|e| e["status"] == "completed");
            last = (execution, delivered);
            if done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (execution, delivered) = last;
        assert_eq!(execution["status"], "completed", "{execution}");
        let mut statuses: Vec<(String, String)> = delivered
            .iter()
            .map(|e| {
                (
                    e["status"].as_str().unwrap().to_owned(),
                    e["error"]["code"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        statuses.sort();
        assert_eq!(
            statuses,
            [
                ("completed".to_owned(), String::new()),
                ("failed".to_owned(), "INTERRUPTED".to_owned())
            ],
            "{delivered:?}"
        );
        assert!(
            delivered.iter().all(|e| e["attempt"] == 1),
            "the interruption spent no attempt: {delivered:?}"
        );
    })
    .await;
}
