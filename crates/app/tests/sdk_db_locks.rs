//! Regressions of one tenant stalling another through `sdk.db`: a write transaction held
//! across a timer (SQLite's single write lock), runs that hold connections until the pool is
//! gone, and transactions left open by a run that timed out, each on SQLite and PostgreSQL.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use persistence::Backend;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};
use services::sdk::ServiceRegistry;
use std::time::Duration;
use support::{TestApp, parts, spawn_app_full};
use testkit::{TestDatabaseRef, each_backend};

async fn setup(db: &TestDatabaseRef) -> TestApp {
    let connection = sea_orm::Database::connect(&db.url).await.unwrap();
    let tenant_type = if db.backend == Backend::Postgres {
        "uuid"
    } else {
        "text"
    };
    connection
        .execute_unprepared(&format!(
            "CREATE TABLE clients (id INTEGER PRIMARY KEY, tenant_id {tenant_type} NOT NULL, \
             name TEXT NOT NULL)"
        ))
        .await
        .unwrap();
    connection.close().await.unwrap();
    spawn_app_full(
        db,
        |s| {
            s.sdk_db.tables = "clients".into();
            s.engine.max_concurrent_per_tenant = 16;
        },
        ServiceRegistry::new(),
    )
    .await
}

/// Saves `source` as a script of the tenant of `token`; its id.
async fn create(app: &TestApp, token: &str, source: &str) -> String {
    let name = format!("Locks {}", uuid::Uuid::new_v4());
    let body = json!({ "name": name, "type": "oneoff", "source": source,
        "limits": { "maxApiCallsPerMinute": 1000, "maxExecutionTimeMs": 60000, "maxConcurrentRuns": 16 } });
    let (status, created) = parts(app.post("/api/v1/scripts", token, &body).await).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// Runs script `id` in the background; its HTTP status and execution when it ends.
fn start(app: &TestApp, token: &str, id: &str) -> tokio::task::JoinHandle<(u16, Value)> {
    let request = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/scripts/{id}/execute"),
            token,
        )
        .json(&json!({ "input": {} }));
    tokio::spawn(async move { parts(request.send().await.unwrap()).await })
}

/// Cancels every running execution of script `id`.
async fn cancel_all(app: &TestApp, token: &str, id: &str) {
    let (_, list) = parts(
        app.get(&format!("/api/v1/scripts/{id}/executions"), token)
            .await,
    )
    .await;
    for execution in list["items"].as_array().into_iter().flatten() {
        if execution["status"] == "running" {
            let path = format!(
                "/api/v1/executions/{}/cancel",
                execution["id"].as_str().unwrap()
            );
            app.post(&path, token, &json!({})).await;
        }
    }
}

/// Whether a writer could take SQLite's write lock at once (no waiting).
async fn sqlite_lock_free(url: &str) -> bool {
    let probe = sea_orm::Database::connect(url).await.unwrap();
    probe
        .execute_unprepared("PRAGMA busy_timeout = 0")
        .await
        .unwrap();
    let free = probe.execute_unprepared("BEGIN IMMEDIATE").await.is_ok();
    if free {
        probe.execute_unprepared("ROLLBACK").await.unwrap();
    }
    probe.close().await.unwrap();
    free
}

/// Sessions of the scripts' pool on PostgreSQL that sit inside a transaction.
async fn pg_open_transactions(connection: &DatabaseConnection) -> i64 {
    let row = connection
        .query_one_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
             AND application_name = 'iota-scripts sdk.db' AND state LIKE 'idle in transaction%'",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// Polls `check` every 20 ms for at most `limit`; whether it became true.
async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let polls = limit.as_millis() / 20;
    for _ in 0..polls {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

const HOLD_WRITE: &str = "export default async () => {
    try {
        return await sdk.db.transaction(async (tx) => {
            await tx.execute(\"UPDATE clients SET name = 'held' WHERE id = 1\");
            await new Promise((resolve) => setTimeout(resolve, 25000));
            return 'kept';
        });
    } catch (e) { return e.code; }
};";

#[tokio::test]
async fn a_write_transaction_held_across_a_timer_stalls_no_other_tenant() {
    each_backend(|db| async move {
        let app = setup(&db).await;
        let seed = create(&app, &app.admin, "export default async () => sdk.db.execute(\"INSERT INTO clients (id, name) VALUES (1, 'a')\")").await;
        let (status, seeded) = parts(app.post(&format!("/api/v1/scripts/{seed}/execute"), &app.admin, &json!({})).await).await;
        assert_eq!((status, &seeded["status"]), (200, &json!("completed")), "{seeded}");

        let holder = create(&app, &app.admin, HOLD_WRITE).await;
        let held = start(&app, &app.admin, &holder);
        if db.backend == Backend::Sqlite {
            // The attack: tenant A's script holds SQLite's write lock and waits 25 s.
            assert!(
                eventually(Duration::from_secs(20), || async { !sqlite_lock_free(&db.url).await }).await,
                "the script never took the write lock"
            );
        }
        // Tenant B writes through the product meanwhile: it waits a moment, never fails.
        let body = json!({ "name": "B during the hold", "type": "oneoff",
            "source": "export default () => 1" });
        let (status, created) = parts(app.post("/api/v1/scripts", &app.other_tenant, &body).await).await;
        assert_eq!(status, 201, "tenant B's write failed while A held a transaction: {created}");
        if db.backend == Backend::Sqlite {
            // The product's own background writes (the job queue's polls and beats) may hold
            // the lock for a moment; A's hold would last the whole 25 s of its timer.
            assert!(
                eventually(Duration::from_secs(5), || async { sqlite_lock_free(&db.url).await }).await,
                "the lock is still held while A's run waits"
            );
        } else {
            let connection = sea_orm::Database::connect(&db.url).await.unwrap();
            let opened = eventually(Duration::from_secs(20), || async {
                pg_open_transactions(&connection).await > 0
            })
            .await;
            assert!(opened, "the script never opened its transaction");
            let closed = eventually(Duration::from_secs(20), || async {
                pg_open_transactions(&connection).await == 0
            })
            .await;
            connection.close().await.unwrap();
            assert!(closed, "a script's transaction is still open past its limit");
        }
        assert!(!held.is_finished(), "the run was meant to be still waiting");
        cancel_all(&app, &app.admin, &holder).await;
        let (_, execution) = held.await.unwrap();
        assert_eq!(execution["status"], "cancelled", "{execution}");

        // The held update was rolled back, and using the transaction after its limit fails.
        let late = create(&app, &app.admin, "export default async () => {
            const outcome = {};
            try {
                await sdk.db.transaction(async (tx) => {
                    await tx.execute(\"UPDATE clients SET name = 'late' WHERE id = 1\");
                    await new Promise((resolve) => setTimeout(resolve, 6000));
                    try { await tx.execute(\"UPDATE clients SET name = 'later' WHERE id = 1\"); outcome.use = 'ok'; }
                    catch (e) { outcome.use = e.code; }
                });
                outcome.commit = 'ok';
            } catch (e) { outcome.commit = e.code; }
            outcome.name = (await sdk.db.queryOne('SELECT name FROM clients WHERE id = 1')).name;
            return outcome;
        }").await;
        let (_, execution) = parts(app.post(&format!("/api/v1/scripts/{late}/execute"), &app.admin, &json!({})).await).await;
        assert_eq!(
            execution["output"],
            json!({ "use": "TRANSACTION_EXPIRED", "commit": "TRANSACTION_EXPIRED", "name": "a" }),
            "{execution}"
        );
        app.stop().await;
    })
    .await;
}

const HOLD_CONNECTION: &str = "export default async () => {
    try {
        return await sdk.db.transaction(async (tx) => {
            await tx.query('SELECT 1 AS one');
            await new Promise((resolve) => setTimeout(resolve, 25000));
            return 'kept';
        });
    } catch (e) { return e.code; }
};";

#[tokio::test]
async fn runs_holding_connections_take_neither_the_products_nor_other_tenants() {
    each_backend(|db| async move {
        let app = setup(&db).await;
        let holder = create(&app, &app.admin, HOLD_CONNECTION).await;
        // Nine runs of tenant A try to hold a connection each: more than the product's own
        // pool had, and more than A's share of the scripts' pool.
        let mut pending: Vec<_> = (0..9).map(|_| start(&app, &app.admin, &holder)).collect();
        // Those past A's share are refused once they have waited their turn.
        let mut refused = 0;
        let mut waited = 0;
        while refused < 5 && waited < 1000 {
            let (done, left): (Vec<_>, Vec<_>) = pending.into_iter().partition(|r| r.is_finished());
            pending = left;
            for run in done {
                let (_, execution) = run.await.unwrap();
                assert_eq!(execution["output"], "DATABASE_BUSY", "{execution}");
                refused += 1;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            waited += 1;
        }
        assert_eq!(refused, 5, "runs past the tenant's share were not refused");
        assert_eq!(pending.len(), 4, "the tenant's share of connections is held");

        // Tenant B's scripts, and the product itself, carry on.
        let reader = create(&app, &app.other_tenant, "export default async () => (await sdk.db.query('SELECT count(*) AS n FROM clients'))[0].n").await;
        let (status, execution) = parts(app.post(&format!("/api/v1/scripts/{reader}/execute"), &app.other_tenant, &json!({})).await).await;
        assert_eq!((status, &execution["status"]), (200, &json!("completed")), "{execution}");
        let (status, _) = parts(app.get("/api/v1/scripts", &app.other_tenant).await).await;
        assert_eq!(status, 200);
        let ready = app.client.get(format!("{}/health/ready", app.base)).send().await.unwrap();
        assert_eq!(ready.status(), 200);

        cancel_all(&app, &app.admin, &holder).await;
        for run in pending {
            let (_, execution) = run.await.unwrap();
            assert_eq!(execution["status"], "cancelled", "{execution}");
        }
        app.stop().await;
    })
    .await;
}
