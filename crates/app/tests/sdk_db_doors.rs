//! Regressions of `sdk.db` and of execution records found with one tenant's token against two
//! tenants' rows, each on SQLite and PostgreSQL, with tenant B's rows checked afterwards.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use persistence::Backend;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use services::sdk::ServiceRegistry;
use support::{TestApp, parts, spawn_app_full};
use testkit::{TestDatabaseRef, each_backend};

async fn setup(db: &TestDatabaseRef) -> (TestApp, String, String) {
    let connection = sea_orm::Database::connect(&db.url).await.unwrap();
    let tenant_type = if db.backend == Backend::Postgres {
        "uuid"
    } else {
        "text"
    };
    connection
        .execute_unprepared(&format!(
            "CREATE TABLE clients (id INTEGER PRIMARY KEY, tenant_id {tenant_type} NOT NULL, \
             name TEXT NOT NULL, balance NUMERIC(10,2))"
        ))
        .await
        .unwrap();
    connection.close().await.unwrap();
    let app = spawn_app_full(
        db,
        |s| s.sdk_db.tables = "clients".into(),
        ServiceRegistry::new(),
    )
    .await;
    let tenant = |token: String| {
        let accounts = app.components.accounts.clone();
        async move {
            accounts
                .authenticate_token(&token)
                .await
                .unwrap()
                .tenant_id
                .to_string()
        }
    };
    let a = tenant(app.admin.clone()).await;
    let b = tenant(app.other_tenant.clone()).await;
    (app, a, b)
}

/// Runs `source` as a new script of the tenant of `token`; the HTTP status and the execution.
async fn run(app: &TestApp, token: &str, source: &str, input: Value) -> (u16, Value) {
    let name = format!("Door {}", uuid::Uuid::new_v4());
    let body = json!({ "name": name, "type": "oneoff", "source": source, "limits": { "maxApiCallsPerMinute": 1000 } });
    let (status, created) = parts(app.post("/api/v1/scripts", token, &body).await).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/scripts/{id}/execute");
    parts(app.post(&path, token, &json!({ "input": input })).await).await
}

/// Each statement as tenant A: its rows, or `{code, message}`.
async fn attempts(app: &TestApp, statements: &[&str]) -> Vec<Value> {
    let list = serde_json::to_string(statements).unwrap();
    let source = format!(
        "export default async () => {{
            const out = [];
            for (const sql of {list}) {{
                try {{ out.push(await sdk.db.query(sql)); }}
                catch (e) {{ out.push({{ code: e.code, message: e.message }}); }}
            }}
            return out;
        }}"
    );
    let (_, execution) = run(app, &app.admin, &source, json!({})).await;
    assert_eq!(execution["status"], "completed", "{execution}");
    execution["output"].as_array().unwrap().clone()
}

async fn stored_names(db: &TestDatabaseRef) -> Vec<(i64, String)> {
    let connection = sea_orm::Database::connect(&db.url).await.unwrap();
    let backend = connection.get_database_backend();
    let sql = "SELECT id, name FROM clients ORDER BY id";
    let rows = connection
        .query_all_raw(sea_orm::Statement::from_string(backend, sql))
        .await
        .unwrap();
    connection.close().await.unwrap();
    rows.iter()
        .map(|r| {
            (
                i64::from(r.try_get::<i32>("", "id").unwrap()),
                r.try_get("", "name").unwrap(),
            )
        })
        .collect()
}

/// Regression: another tenant's last insert was readable through SQLite's connection state.
#[tokio::test]
async fn connection_and_server_state_is_out_of_a_scripts_reach() {
    each_backend(|db| async move {
        let (app, _, _) = setup(&db).await;
        let insert = "export default async () => sdk.db.execute(\"INSERT INTO clients (id, name) VALUES (987654, 'Bea')\")";
        let (_, inserted) = run(&app, &app.other_tenant, insert, json!({})).await;
        assert_eq!(inserted["output"], 1, "{inserted}");
        let statements = [
            "SELECT last_insert_rowid() AS r, total_changes() AS t",
            "SELECT changes() AS c",
            "SELECT sqlite_version() AS v",
            "SELECT randomblob(8) AS v",
            "SELECT lastval() AS v",
            "SELECT current_setting('iota.tenant_id') AS v",
            "SELECT set_config('iota.tenant_id', 'x', false) AS v",
            "SELECT version() AS v",
            "SELECT inet_server_addr() AS v",
            "SELECT txid_current() AS v",
            "SELECT pg_backend_pid() AS v",
        ];
        let results = attempts(&app, &statements).await;
        for (sql, result) in statements.iter().zip(&results) {
            let function = sql.trim_start_matches("SELECT ").split('(').next().unwrap();
            assert_eq!(result["code"], "UNAUTHORIZED_OPERATION", "{sql}: {result}");
            let message = result["message"].as_str().unwrap();
            assert!(message.contains(&format!("`{function}`")), "{sql}: {message}");
        }
        assert!(!results.iter().any(|r| r.to_string().contains("987654")));
        assert_eq!(stored_names(&db).await, vec![(987654, "Bea".into())], "tenant B's row is as it was");
        app.stop().await;
    })
    .await;
}

/// Regression: a taken key answered `UNIQUE constraint failed: clients.id` / `"clients_pkey"`.
#[tokio::test]
async fn database_errors_have_codes_and_name_no_table_column_or_key() {
    each_backend(|db| async move {
        let (app, _, b) = setup(&db).await;
        let connection = sea_orm::Database::connect(&db.url).await.unwrap();
        connection
            .execute_unprepared(&format!(
                "INSERT INTO clients (id, tenant_id, name) VALUES (5, '{b}', 'Bea')"
            ))
            .await
            .unwrap();
        connection.close().await.unwrap();
        let postgres = db.backend == Backend::Postgres;
        // (the statement, its code on SQLite, on PostgreSQL)
        let cases = [
            (
                "INSERT INTO clients (id, name) VALUES (5, 'Mallory') RETURNING id",
                "CONSTRAINT_VIOLATION",
                "CONSTRAINT_VIOLATION",
            ),
            (
                "INSERT INTO clients (id) VALUES (6) RETURNING id",
                "CONSTRAINT_VIOLATION",
                "CONSTRAINT_VIOLATION",
            ),
            (
                "SELECT secret_column FROM clients",
                "INVALID_SQL",
                "INVALID_SQL",
            ),
            (
                "SELECT id FROM clients WHERE id = 'abc' || 1",
                "",
                "TYPE_MISMATCH",
            ),
        ];
        let statements: Vec<&str> = cases.iter().map(|c| c.0).collect();
        let results = attempts(&app, &statements).await;
        for ((sql, lite, pg), result) in cases.iter().zip(&results) {
            let expected = if postgres { pg } else { lite };
            if expected.is_empty() {
                assert!(result.is_array(), "{sql}: {result}");
                continue;
            }
            assert_eq!(result["code"], *expected, "{sql}: {result}");
            let message = result["message"].as_str().unwrap();
            for name in [
                "clients",
                "pkey",
                "\"id\"",
                ".id",
                "(id)",
                "\"name\"",
                ".name",
                "secret_column",
                "tenant",
                "Key",
            ] {
                assert!(!message.contains(name), "{sql}: `{name}` in {message}");
            }
        }
        assert_eq!(
            stored_names(&db).await,
            vec![(5, "Bea".into())],
            "tenant B's row is as it was"
        );
        app.stop().await;
    })
    .await;
}

/// Regression: a PostgreSQL NUMERIC came back as `null`.
#[tokio::test]
async fn numeric_values_come_back_exactly() {
    each_backend(|db| async move {
        let (app, _, _) = setup(&db).await;
        let source = "export default async () => {
            await sdk.db.execute(\"INSERT INTO clients (id, name, balance) VALUES (1, 'Ada', 12.5)\");
            return sdk.db.queryOne('SELECT balance, balance * 2 AS twice FROM clients');
        }";
        let (_, execution) = run(&app, &app.admin, source, json!({})).await;
        let expected = if db.backend == Backend::Postgres {
            json!({ "balance": "12.50", "twice": "25.00" })
        } else {
            json!({ "balance": 12.5, "twice": 25 })
        };
        assert_eq!(execution["output"], expected, "{execution}");
        app.stop().await;
    })
    .await;
}

/// Regression: a U+0000 answered 500 on PostgreSQL and left the run `running`.
#[tokio::test]
async fn nul_in_input_output_and_logs_never_leaves_a_run_running() {
    each_backend(|db| async move {
        let (app, _, _) = setup(&db).await;
        let source = "export default async (input) => {
            await sdk.db.execute(\"INSERT INTO clients (id, name) VALUES (1, 'Ada')\");
            console.log('nul \\u0000 here', input.s);
            return { text: 'a\\u0000b', echoed: input.s, ['k\\u0000']: 1 };
        }";
        let (status, execution) = run(&app, &app.admin, source, json!({ "s": "in\u{0}put" })).await;
        assert_eq!(
            (status, execution["status"].as_str()),
            (200, Some("completed")),
            "{execution}"
        );
        let stored = json!({ "text": "a\u{FFFD}b", "echoed": "in\u{FFFD}put", "k\u{FFFD}": 1 });
        let id = execution["id"].as_str().unwrap();
        let (status, read) = parts(
            app.get(&format!("/api/v1/executions/{id}"), &app.admin)
                .await,
        )
        .await;
        assert_eq!(status, 200, "{read}");
        assert_eq!(read["status"], "completed");
        assert_eq!(read["output"], stored);
        assert_eq!(read["input"], json!({ "s": "in\u{FFFD}put" }));
        let log = read["logs"][0]["message"].as_str().unwrap();
        assert!(log.contains('\u{FFFD}') && !log.contains('\u{0}'), "{log}");
        assert_eq!(
            stored_names(&db).await,
            vec![(1, "Ada".into())],
            "the script's write is committed"
        );
        app.stop().await;
    })
    .await;
}
