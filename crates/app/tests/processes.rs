//! Two real `iota-scripts serve` processes on one PostgreSQL database: a schedule every second
//! fires once per tick, 200 published events run once per subscribed script with the work
//! spread over both, a cancellation sent to one process stops a run going on the other, and
//! when one process is killed (SIGKILL) with deliveries queued and running, every event still
//! runs to completion and no execution is left running or pending.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use chrono::{DateTime, Utc};
use persistence::Backend;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use support::process::{Api, ServerProcess, admin_token, execution_counts};
use testkit::TestDatabase;

async fn api(db: &TestDatabase) -> Api {
    Api {
        client: reqwest::Client::new(),
        token: admin_token(&db.url).await,
    }
}

async fn create(api: &Api, server: &ServerProcess, body: Value) -> String {
    let (status, created) = api.post(server, "/api/v1/scripts", &body).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

fn subscriber(name: &str, wait_ms: u64) -> Value {
    let source = format!(
        "export default async (event) => {{ await new Promise((r) => setTimeout(r, {wait_ms})); return event.payload.n; }}"
    );
    json!({ "name": name, "type": "event", "status": "active", "eventTypes": ["load.*"],
        "source": source, "limits": { "maxConcurrentRuns": 8 } })
}

/// Publishes `count` events, alternating between the processes; their ids.
async fn publish(api: &Api, servers: [&ServerProcess; 2], count: usize) -> HashSet<String> {
    let mut ids = HashSet::new();
    for n in 0..count {
        let body = json!({ "type": "load.tested", "payload": { "n": n } });
        let (status, event) = api.post(servers[n % 2], "/api/v1/events", &body).await;
        assert_eq!(status, 202, "{event}");
        ids.insert(event["eventId"].as_str().unwrap().to_owned());
    }
    ids
}

/// Polls (every 250 ms, at most `within`) until every event has a completed execution of
/// `script`; its executions.
async fn delivered(
    api: &Api,
    server: &ServerProcess,
    script: &str,
    events: &HashSet<String>,
    within: Duration,
) -> Vec<Value> {
    let mut executions = Vec::new();
    for _ in 0..(within.as_millis() / 250) {
        executions = api.all_executions(server, script).await;
        let completed: HashSet<&str> = executions
            .iter()
            .filter(|e| e["status"] == "completed")
            .filter_map(|e| e["trigger"]["eventId"].as_str())
            .collect();
        let unfinished = executions
            .iter()
            .any(|e| e["status"] == "running" || e["status"] == "pending");
        if completed.len() == events.len() && !unfinished {
            return executions;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let statuses: BTreeMap<String, usize> = executions.iter().fold(BTreeMap::new(), |mut m, e| {
        *m.entry(e["status"].as_str().unwrap().to_owned())
            .or_default() += 1;
        m
    });
    panic!("script {script}: not every event was delivered in {within:?}: {statuses:?}");
}

#[tokio::test]
async fn a_schedule_every_second_fires_once_per_tick_across_two_processes() {
    let db = TestDatabase::create(Backend::Postgres).await;
    let api = api(&db).await;
    let settings = [
        ("SCHEDULER__ALLOW_SECONDS", "true"),
        ("SCHEDULER__POLL_INTERVAL_MS", "200"),
    ];
    let mut a = ServerProcess::start(&db.url, &settings);
    let mut b = ServerProcess::start(&db.url, &settings);
    let script = create(
        &api,
        &a,
        json!({ "name": "Every second", "type": "scheduled", "status": "active",
        "cronExpression": "*/1 * * * * *", "source": "export default () => 1" }),
    )
    .await;

    let connection = sea_orm::Database::connect(&db.url).await.unwrap();
    let ticks_sql = format!(
        "SELECT scheduled_for, status, node FROM schedule_ticks WHERE script_id = '{script}' ORDER BY scheduled_for"
    );
    let ticks = || async {
        let statement =
            sea_orm::Statement::from_string(connection.get_database_backend(), ticks_sql.clone());
        connection
            .query_all_raw(statement)
            .await
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row.try_get::<DateTime<Utc>>("", "scheduled_for").unwrap(),
                    row.try_get::<String>("", "status").unwrap(),
                    row.try_get::<String>("", "node").unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    for _ in 0..600 {
        if ticks().await.len() >= 31 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Both stop cleanly: the runs they started are recorded before they exit.
    a.terminate();
    b.terminate();
    assert!(
        a.wait_exit(Duration::from_secs(60))
            .await
            .expect("a exited")
            .success()
    );
    assert!(
        b.wait_exit(Duration::from_secs(60))
            .await
            .expect("b exited")
            .success()
    );

    let ticks = ticks().await;
    assert!(ticks.len() >= 31, "{} ticks", ticks.len());
    for pair in ticks.windows(2) {
        assert_eq!(
            pair[1].0 - pair[0].0,
            chrono::Duration::seconds(1),
            "a tick was lost: {pair:?}"
        );
    }
    assert!(ticks.iter().all(|t| t.1 == "started"), "{ticks:?}");
    let counts = execution_counts(&db.url, &script).await;
    let completed: i64 = counts
        .iter()
        .filter(|c| c.0 == "completed")
        .map(|c| c.2)
        .sum();
    let total: i64 = counts.iter().map(|c| c.2).sum();
    assert_eq!(
        (completed, total),
        (ticks.len() as i64, ticks.len() as i64),
        "one run per tick: {counts:?}"
    );
    let nodes: HashSet<&str> = ticks.iter().map(|t| t.2.as_str()).collect();
    eprintln!(
        "{} ticks, one run each; claimed by {} node(s): {counts:?}",
        ticks.len(),
        nodes.len()
    );
    let _ = connection.close().await;
    db.destroy().await;
}

#[tokio::test]
async fn two_hundred_events_run_once_per_subscriber_with_two_processes() {
    let db = TestDatabase::create(Backend::Postgres).await;
    let api = api(&db).await;
    let a = ServerProcess::start(&db.url, &[]);
    let b = ServerProcess::start(&db.url, &[]);
    let first = create(&api, &a, subscriber("First", 20)).await;
    let second = create(&api, &b, subscriber("Second", 20)).await;
    let events = publish(&api, [&a, &b], 200).await;
    for script in [&first, &second] {
        let executions = delivered(&api, &a, script, &events, Duration::from_secs(120)).await;
        assert_eq!(executions.len(), 200, "exactly once each");
        let counts = execution_counts(&db.url, script).await;
        eprintln!("script {script}: executions by status and node: {counts:?}");
        // Which process takes which job is up to their polling: the spread is shown, not
        // asserted; every run completed once.
        assert!(
            counts.iter().all(|(status, _, _)| status == "completed"),
            "{counts:?}"
        );
    }
    drop((a, b));
    db.destroy().await;
}

#[tokio::test]
async fn a_cancel_sent_to_one_process_stops_the_run_on_the_other() {
    let db = TestDatabase::create(Backend::Postgres).await;
    let api = api(&db).await;
    let a = ServerProcess::start(&db.url, &[]);
    let b = ServerProcess::start(&db.url, &[]);
    let script = create(&api, &a, json!({ "name": "Long", "type": "oneoff", "status": "active",
        "source": "export default async () => { await new Promise((r) => setTimeout(r, 25000)); return 'done'; }" })).await;
    let request = api
        .client
        .post(a.url(&format!("/api/v1/scripts/{script}/execute")))
        .bearer_auth(&api.token)
        .json(&json!({}));
    let run =
        tokio::spawn(async move { request.send().await.unwrap().json::<Value>().await.unwrap() });
    let mut running = None;
    for _ in 0..400 {
        running = api
            .executions(&b, &script)
            .await
            .into_iter()
            .find(|e| e["status"] == "running");
        if running.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let id = running.expect("the run started on a")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = api
        .post(&b, &format!("/api/v1/executions/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(status, 202, "{body}");
    let ended = tokio::time::timeout(Duration::from_secs(15), run)
        .await
        .expect("a's run stopped")
        .unwrap();
    assert_eq!(ended["status"], "cancelled", "{ended}");
    assert!(ended["durationMs"].as_i64().unwrap() < 20_000, "{ended}");
    drop((a, b));
    db.destroy().await;
}

#[tokio::test]
async fn killing_a_process_loses_no_event_and_leaves_nothing_running() {
    let db = TestDatabase::create(Backend::Postgres).await;
    let api = api(&db).await;
    // Beats every second: a dead process's jobs go to the other after 2 s, its runs are
    // failed after 3 s.
    let fast = [("JOBS__HEARTBEAT_MS", "1000")];
    let mut a = ServerProcess::start(&db.url, &fast);
    let b = ServerProcess::start(&db.url, &fast);
    let script = create(&api, &a, subscriber("Slow-ish", 300)).await;
    let events = publish(&api, [&a, &b], 200).await;
    // Kill a while it has deliveries running and more are queued.
    let mut counts = Vec::new();
    for _ in 0..400 {
        counts = execution_counts(&db.url, &script).await;
        let on_a_running = counts.iter().any(|c| c.0 == "running");
        let completed: i64 = counts
            .iter()
            .filter(|c| c.0 == "completed")
            .map(|c| c.2)
            .sum();
        if on_a_running && completed >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("before the kill: {counts:?}");
    a.kill();
    let executions = delivered(&api, &b, &script, &events, Duration::from_secs(120)).await;
    let abandoned = executions
        .iter()
        .filter(|e| e["error"]["code"] == "ABANDONED")
        .count();
    let completed = executions
        .iter()
        .filter(|e| e["status"] == "completed")
        .count();
    eprintln!(
        "after the kill: {} executions, {completed} completed, {abandoned} abandoned: {:?}",
        executions.len(),
        execution_counts(&db.url, &script).await
    );
    // Besides completed runs: those of the killed process (ABANDONED) and deliveries refused
    // for capacity, which wait and run again without spending an attempt.
    let other: Vec<&Value> = executions
        .iter()
        .filter(|e| e["status"] != "completed")
        .filter(|e| {
            !matches!(
                e["error"]["code"].as_str(),
                Some("ABANDONED" | "CONCURRENCY_LIMIT")
            )
        })
        .collect();
    assert!(other.is_empty(), "{other:?}");
    // Each event completed (`delivered` checked it); one that completed twice had its job
    // taken over after its run ended but before the killed process acknowledged it.
    assert!(completed >= 200, "{completed}");
    drop(b);
    db.destroy().await;
}
