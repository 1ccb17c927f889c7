//! The health probes: readiness names each component (database, executor, scheduler, job
//! queue) and fails with the one that breaks — a database that stops taking connections, a
//! sandbox program that can no longer be started — and the node recovers with it, without a
//! restart; liveness stays up through a dependency's outage.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use persistence::Backend;
use serde_json::{Value, json};
use std::time::Duration;
use support::{TestApp, parts, spawn_app_with};
use testkit::{TestDatabase, TestDatabaseRef, each_backend};

async fn probe(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app
        .client
        .get(format!("{}{path}", app.base))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path} did not answer within 5 s: {e}"));
    parts(response).await
}

/// Polls `path` until `wanted` holds of its answer, for at most `within`.
async fn until(
    app: &TestApp,
    path: &str,
    within: Duration,
    wanted: impl Fn(u16, &Value) -> bool,
) -> (u16, Value) {
    let mut last = probe(app, path).await;
    for _ in 0..(within.as_millis() / 200) {
        if wanted(last.0, &last.1) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        last = probe(app, path).await;
    }
    assert!(wanted(last.0, &last.1), "{path} never changed: {last:?}");
    last
}

async fn spawn_full_node(db: &TestDatabaseRef, program: Option<String>) -> TestApp {
    spawn_app_with(db, |settings| {
        settings.scheduler.enabled = true;
        settings.jobs.enabled = true;
        settings.sandbox.warm_workers = 1;
        if let Some(program) = program {
            settings.sandbox.program = program;
        }
    })
    .await
}

#[tokio::test]
async fn readiness_reports_every_component_of_a_full_node() {
    each_backend(|db| async move {
        let app = spawn_full_node(&db, None).await;
        let (status, body) = probe(&app, "/health/ready").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "ok");
        for component in ["database", "executor", "scheduler", "jobQueue"] {
            assert_eq!(body["checks"][component], "ok", "{component}: {body}");
        }
        assert_eq!(body["failing"], json!([]));
        let executor = &body["details"]["executor"];
        assert!(executor["capacity"].as_u64().unwrap() > 0, "{executor}");
        assert!(executor["active"].is_u64(), "{executor}");

        let (status, body) = probe(&app, "/health/live").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["checks"]["executor"], "ok");
        assert_eq!(body["checks"]["background"], "ok");

        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_node_that_fires_no_cron_and_takes_no_jobs_is_not_judged_on_them() {
    each_backend(|db| async move {
        let app = spawn_app_with(&db, |settings| {
            settings.scheduler.enabled = false;
            settings.jobs.enabled = false;
        })
        .await;
        let (status, body) = probe(&app, "/health/ready").await;
        assert_eq!(status, 200, "{body}");
        assert!(body["checks"].get("scheduler").is_none(), "{body}");
        assert!(body["checks"].get("jobQueue").is_none(), "{body}");
        assert_eq!(body["checks"]["database"], "ok", "{body}");
        app.stop().await;
    })
    .await;
}

fn failing(body: &Value, component: &str) -> bool {
    body["failing"]
        .as_array()
        .is_some_and(|failing| failing.contains(&json!(component)))
}

/// Closes the database to new connections and ends every session on it (the server's too),
/// or opens it again.
async fn database_reachable(name: &str, reachable: bool) {
    use sea_orm::ConnectionTrait;
    let admin = sea_orm::Database::connect(testkit::admin_url())
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS {reachable}"
        ))
        .await
        .unwrap();
    if !reachable {
        admin
            .execute_unprepared(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ))
            .await
            .unwrap();
    }
    let _ = admin.close().await;
}

#[tokio::test]
async fn an_unreachable_database_fails_readiness_not_liveness_and_the_node_recovers_by_itself() {
    let db = TestDatabase::create(Backend::Postgres).await;
    let name = db.url.rsplit('/').next().unwrap().to_owned();
    let handle = TestDatabaseRef {
        backend: db.backend,
        url: db.url.clone(),
        database: db.database.clone(),
    };
    let app = spawn_full_node(&handle, None).await;
    let (status, _) = probe(&app, "/health/ready").await;
    assert_eq!(status, 200);

    database_reachable(&name, false).await;
    let (status, body) = until(&app, "/health/ready", Duration::from_secs(30), |_, body| {
        failing(body, "database")
    })
    .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable", "{body}");
    assert_eq!(body["checks"]["executor"], "ok", "{body}");
    assert!(
        body["details"]["database"]["reason"]
            .as_str()
            .is_some_and(|reason| !reason.is_empty()),
        "{body}"
    );
    // The probe is public: the database's own message (which names the database, its user,
    // its host) stays in the node's log.
    assert!(
        !body.to_string().contains(&name),
        "the probe shows the database's message: {body}"
    );
    let (status, body) = probe(&app, "/health/live").await;
    assert_eq!(
        status, 200,
        "an outage of the database is not a wedged node: {body}"
    );
    // Long enough for the job workers and the scheduler to fail against it.
    tokio::time::sleep(Duration::from_secs(3)).await;

    database_reachable(&name, true).await;
    let (status, body) = until(
        &app,
        "/health/ready",
        Duration::from_secs(30),
        |status, _| status == 200,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["database"], "ok", "{body}");

    // The job workers took up their work again: an asynchronous run (a durable job) ends.
    let created = app
        .post(
            "/api/v1/scripts",
            &app.admin,
            &json!({ "name": "after", "type": "oneoff",
                     "source": "export default async function () { return 'back' }" }),
        )
        .await;
    let (status, script) = parts(created).await;
    assert_eq!(status, 201, "{script}");
    let id = script["id"].as_str().unwrap();
    let queued = app
        .post(
            &format!("/api/v1/scripts/{id}/execute"),
            &app.admin,
            &json!({ "mode": "async" }),
        )
        .await;
    let (status, execution) = parts(queued).await;
    assert_eq!(status, 202, "{execution}");
    let path = format!("/api/v1/executions/{}", execution["id"].as_str().unwrap());
    let mut last = Value::Null;
    for _ in 0..300 {
        last = parts(app.get(&path, &app.admin).await).await.1;
        if last["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(last["status"], "completed", "{last}");
    assert_eq!(last["output"], "back");
    app.stop().await;
    db.destroy().await;
}

#[tokio::test]
async fn a_sandbox_program_that_cannot_start_fails_readiness_until_it_can() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let handle = TestDatabaseRef {
        backend: db.backend,
        url: db.url.clone(),
        database: db.database.clone(),
    };
    let dir = std::env::temp_dir().join(format!("iota-health-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let program = dir.join("iota-scripts");
    std::fs::copy(env!("CARGO_BIN_EXE_iota-scripts"), &program).unwrap();
    let app = spawn_full_node(&handle, Some(program.display().to_string())).await;
    let (status, _) = probe(&app, "/health/ready").await;
    assert_eq!(status, 200);

    // The program is gone: the next worker the supervisor starts (a run takes the warm one,
    // which it replaces) fails to start.
    std::fs::remove_file(&program).unwrap();
    // Each tenant takes a worker of its own, so the supervisor must start more.
    for token in [&app.admin, &app.other_tenant] {
        let created = app
            .post(
                "/api/v1/scripts",
                token,
                &json!({ "name": "probe", "type": "oneoff",
                         "source": "export default async function () { return 1 }" }),
            )
            .await;
        let (status, script) = parts(created).await;
        assert_eq!(status, 201, "{script}");
        let id = script["id"].as_str().unwrap();
        let _ = app
            .post(&format!("/api/v1/scripts/{id}/execute"), token, &json!({}))
            .await;
    }
    let (_, body) = until(
        &app,
        "/health/ready",
        Duration::from_secs(20),
        |status, _| status == 503,
    )
    .await;
    assert_eq!(body["failing"], json!(["executor"]), "{body}");
    let reason = body["details"]["executor"]["reason"].as_str().unwrap();
    assert!(reason.contains("cannot be started"), "{reason}");

    std::fs::copy(env!("CARGO_BIN_EXE_iota-scripts"), &program).unwrap();
    let (_, body) = until(
        &app,
        "/health/ready",
        Duration::from_secs(20),
        |status, _| status == 200,
    )
    .await;
    assert_eq!(body["checks"]["executor"], "ok", "{body}");
    app.stop().await;
    db.destroy().await;
    let _ = std::fs::remove_dir_all(&dir);
}
