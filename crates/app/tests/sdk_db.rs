//! `sdk.db` through the whole application, on SQLite and PostgreSQL, with two tenants' rows in
//! the same tables: a tenant's scripts see, count, change and add only their own rows, however
//! the statement is written; what is not a plain statement on an allowed table is refused.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use persistence::Backend;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use services::sdk::ServiceRegistry;
use support::{TestApp, parts, spawn_app_full};
use testkit::{TestDatabaseRef, each_backend};

async fn create_tables(db: &TestDatabaseRef) {
    let connection = sea_orm::Database::connect(&db.url).await.unwrap();
    let tenant_type = if db.backend == Backend::Postgres {
        "uuid"
    } else {
        "text"
    };
    for sql in [
        format!(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, tenant_id {tenant_type} NOT NULL, name TEXT NOT NULL)"
        ),
        format!(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id {tenant_type} NOT NULL, customer_id INTEGER, total INTEGER NOT NULL, note TEXT)"
        ),
    ] {
        connection.execute_unprepared(&sql).await.unwrap();
    }
    connection.close().await.unwrap();
}

async fn seed(db: &TestDatabaseRef, a: &str, b: &str) {
    let connection = sea_orm::Database::connect(&db.url).await.unwrap();
    for sql in [
        format!(
            "INSERT INTO customers (id, tenant_id, name) VALUES (1, '{a}', 'Ada'), (2, '{b}', 'Bob')"
        ),
        format!(
            "INSERT INTO orders (id, tenant_id, customer_id, total, note) VALUES (10, '{a}', 1, 100, 'a1'), (11, '{a}', 1, 50, 'a2'), (20, '{b}', 2, 999, 'b1'), (21, '{b}', 2, 1, 'b2')"
        ),
    ] {
        connection.execute_unprepared(&sql).await.unwrap();
    }
    connection.close().await.unwrap();
}

async fn run(app: &TestApp, token: &str, name: &str, source: &str) -> Value {
    let body = json!({ "name": name, "type": "oneoff", "source": source, "limits": { "maxApiCallsPerMinute": 1000 } });
    let (status, created) = parts(app.post("/api/v1/scripts", token, &body).await).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (_, execution) = parts(
        app.post(&format!("/api/v1/scripts/{id}/execute"), token, &json!({}))
            .await,
    )
    .await;
    execution
}

/// Runs each statement as a script of tenant A and returns what came back, or the error code.
async fn attempts(app: &TestApp, statements: &[(&str, &str)]) -> Vec<Value> {
    let list = serde_json::to_string(
        &statements
            .iter()
            .map(|(method, sql)| json!([method, sql]))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let source = format!(
        "export default async () => {{
            const out = [];
            for (const [method, sql] of {list}) {{
                try {{ out.push(await sdk.db[method](sql, [])); }} catch (e) {{ out.push({{ code: e.code, message: e.message }}); }}
            }}
            return out;
        }}"
    );
    let execution = run(
        app,
        &app.admin,
        &format!("Attempts {}", uuid::Uuid::new_v4()),
        &source,
    )
    .await;
    assert_eq!(execution["status"], "completed", "{execution}");
    execution["output"].as_array().unwrap().clone()
}

fn ids(value: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = value
        .as_array()
        .unwrap_or_else(|| panic!("rows expected, got {value}"))
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn tenants_see_and_touch_only_their_own_rows() {
    each_backend(|db| async move {
        create_tables(&db).await;
        let app = spawn_app_full(&db, |s| s.sdk_db.tables = "orders,customers".into(), ServiceRegistry::new()).await;
        let a = app.components.accounts.authenticate_token(&app.admin).await.unwrap().tenant_id.to_string();
        let b = app.components.accounts.authenticate_token(&app.other_tenant).await.unwrap().tenant_id.to_string();
        seed(&db, &a, &b).await;
        let qualified = if db.backend == Backend::Postgres { "public.orders" } else { "main.orders" };
        let qualified_sql = format!("SELECT id FROM {qualified}");
        let reads: Vec<(&str, &str)> = vec![
            ("query", "SELECT id FROM orders"),
            ("query", "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id"),
            ("query", "SELECT id FROM orders WHERE customer_id IN (SELECT id FROM customers)"),
            ("query", "WITH mine AS (SELECT * FROM orders) SELECT id FROM mine"),
            ("query", "SELECT id FROM orders UNION SELECT id + 1000 FROM orders"),
            ("query", "SELECT \"id\" FROM \"orders\" AS x /* all of them */ -- really\n"),
            ("query", &qualified_sql),
            ("query", "SELECT id FROM orders WHERE tenant_id IS NOT NULL OR 1 = 1"),
            ("queryOne", "SELECT count(*) AS id FROM orders"),
            ("queryOne", "SELECT sum(total) AS id FROM orders"),
        ];
        let results = attempts(&app, &reads).await;
        assert_eq!(ids(&results[0]), vec![10, 11]);
        assert_eq!(ids(&results[1]), vec![10, 11]);
        assert_eq!(ids(&results[2]), vec![10, 11]);
        assert_eq!(ids(&results[3]), vec![10, 11]);
        assert_eq!(ids(&results[4]), vec![10, 11, 1010, 1011]);
        assert_eq!(ids(&results[5]), vec![10, 11]);
        assert_eq!(ids(&results[6]), vec![10, 11]);
        assert_eq!(ids(&results[7]), vec![10, 11]);
        assert_eq!(results[8]["id"].as_i64(), Some(2), "{}", results[8]);
        assert_eq!(results[9]["id"].as_i64(), Some(150), "{}", results[9]);

        let refused: Vec<(&str, &str)> = vec![
            ("query", "SELECT id FROM orders; DELETE FROM orders"),
            ("execute", "DROP TABLE orders"),
            ("execute", "CREATE TABLE stolen (x int)"),
            ("query", "SELECT * FROM information_schema.tables"),
            ("query", "SELECT * FROM pg_catalog.pg_tables"),
            ("query", "SELECT * FROM sqlite_master"),
            ("query", "SELECT * FROM users"),
            ("query", "SELECT * FROM other.orders"),
            ("execute", "PRAGMA foreign_keys = OFF"),
            ("execute", "ATTACH DATABASE 'x.db' AS x"),
            ("execute", "UPDATE orders SET tenant_id = NULL"),
            ("query", "SELECT current_setting('iota.tenant_id') AS id"),
        ];
        for (index, result) in attempts(&app, &refused).await.iter().enumerate() {
            let code = result["code"].as_str().unwrap_or_else(|| panic!("{:?} was not refused: {result}", refused[index]));
            assert!(code == "UNAUTHORIZED_OPERATION" || code == "INVALID_SQL", "{:?}: {result}", refused[index]);
        }

        let writes: Vec<(&str, &str)> = vec![
            ("execute", "UPDATE orders SET note = 'changed'"),
            ("execute", "DELETE FROM orders WHERE total < 60"),
            ("execute", "INSERT INTO orders (id, customer_id, total, note) VALUES (12, 1, 7, 'new'), (13, 1, 8, 'new')"),
            ("query", "SELECT id, note FROM orders ORDER BY id"),
        ];
        let results = attempts(&app, &writes).await;
        assert_eq!(results[0], json!(2), "only A's two rows change");
        assert_eq!(results[1], json!(1), "only A's cheap order goes");
        assert_eq!(results[2], json!(2));
        assert_eq!(ids(&results[3]), vec![10, 12, 13]);

        // Tenant B's rows are as they were, and the new rows belong to A.
        let connection = sea_orm::Database::connect(&db.url).await.unwrap();
        let rows = connection
            .query_all_raw(sea_orm::Statement::from_string(connection.get_database_backend(), "SELECT id, tenant_id, note FROM orders ORDER BY id"))
            .await
            .unwrap();
        let seen: Vec<(i32, String, String)> = rows
            .iter()
            .map(|r| {
                let tenant: String = if db.backend == Backend::Postgres {
                    r.try_get::<uuid::Uuid>("", "tenant_id").unwrap().to_string()
                } else {
                    r.try_get("", "tenant_id").unwrap()
                };
                (r.try_get("", "id").unwrap(), tenant, r.try_get("", "note").unwrap())
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                (10, a.clone(), "changed".into()),
                (12, a.clone(), "new".into()),
                (13, a.clone(), "new".into()),
                (20, b.clone(), "b1".into()),
                (21, b.clone(), "b2".into()),
            ]
        );
        connection.close().await.unwrap();

        // On PostgreSQL, row-level security confines even a statement that skipped the rewrite.
        if db.backend == Backend::Postgres {
            use domain::script_data::{ScriptDatabase, SqlBounds, SqlStatement};
            let config = persistence::ScriptDataConfig { tables: vec!["orders".into(), "customers".into()], ..Default::default() };
            let direct = persistence::SeaScriptDatabase::connect(app.components.database.clone(), config).await.unwrap();
            direct.prepare().await;
            let tenant: domain::TenantId = a.parse().unwrap();
            let raw = SqlStatement { sql: "SELECT id FROM orders".into(), params: vec![], returns_rows: true, is_query: true };
            let bounds = SqlBounds { timeout: std::time::Duration::from_secs(5), max_rows: 100, sizes: Default::default() };
            let outcome = direct.run(tenant, domain::ExecutionId::new(), None, raw, bounds).await.unwrap();
            let mut seen: Vec<i64> = outcome.rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
            seen.sort();
            assert_eq!(seen, vec![10, 12, 13], "row-level security shows only tenant A's rows");
            let insert = SqlStatement {
                sql: format!("INSERT INTO orders (id, tenant_id, total) VALUES (99, '{b}', 1)"),
                params: vec![],
                returns_rows: false,
                is_query: false,
            };
            assert!(direct.run(tenant, domain::ExecutionId::new(), None, insert, bounds).await.is_err(), "cannot write another tenant's row");
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn transactions_row_limit_and_timeout_hold() {
    each_backend(|db| async move {
        create_tables(&db).await;
        let app = spawn_app_full(
            &db,
            |s| {
                s.sdk_db.tables = "orders,customers".into();
                s.sdk_db.max_rows = 5;
                s.sdk_db.statement_timeout_ms = 300;
            },
            ServiceRegistry::new(),
        )
        .await;
        let source = "export default async () => {
            let failed = null;
            try {
                await sdk.db.transaction(async (tx) => {
                    await tx.execute('INSERT INTO orders (id, total) VALUES ($1, $2)', [1, 10]);
                    await tx.execute('INSERT INTO orders (id, total) VALUES (?, ?)', [2, 20]);
                    throw new Error('changed my mind');
                });
            } catch (e) { failed = e.message; }
            const afterRollback = await sdk.db.query('SELECT id FROM orders');
            const kept = await sdk.db.transaction(async (tx) => {
                for (let i = 1; i <= 6; i++) await tx.execute('INSERT INTO orders (id, total) VALUES ($1, $1)', [i]);
                return tx.queryOne('SELECT count(*) AS n FROM orders');
            });
            let limit = null;
            try { await sdk.db.query('SELECT id FROM orders'); } catch (e) { limit = e.code; }
            const five = await sdk.db.query('SELECT id FROM orders WHERE id <= $1', [5]);
            let slow = null;
            try {
                await sdk.db.query('WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) AS c FROM n');
            } catch (e) { slow = e.code; }
            const after = await sdk.db.query('SELECT id FROM orders WHERE id = 1');
            return { failed, afterRollback, kept: Number(kept.n), limit, five: five.length, slow, after: after.length };
        }";
        let execution = run(&app, &app.admin, "Transactions", source).await;
        let output = &execution["output"];
        assert_eq!(execution["status"], "completed", "{execution}");
        assert_eq!(output["failed"], "changed my mind");
        assert_eq!(output["afterRollback"], json!([]), "a failed transaction leaves nothing behind");
        assert_eq!((output["kept"].as_i64(), output["limit"].as_str(), output["five"].as_i64()), (Some(6), Some("ROW_LIMIT"), Some(5)));
        assert_eq!(output["slow"], "QUERY_TIMEOUT");
        assert_eq!(output["after"], 1, "the database serves the next statement after a cancelled one");
        app.stop().await;
    })
    .await;
}
