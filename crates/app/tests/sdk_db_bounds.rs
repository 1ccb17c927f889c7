//! `sdk.db` results past their size limits, on SQLite and PostgreSQL: a huge value, a wide
//! row or a long result ends in `RESULT_TOO_LARGE` while the rows are read (on SQLite the
//! database refuses to build the value at all), and the database keeps serving afterwards.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use persistence::Backend;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use services::sdk::ServiceRegistry;
use support::{TestApp, parts, spawn_app_full};
use testkit::each_backend;

async fn run(app: &TestApp, source: &str) -> Value {
    let body = json!({ "name": "Bounds", "type": "oneoff", "source": source, "limits": { "maxApiCallsPerMinute": 1000 } });
    let (status, created) = parts(app.post("/api/v1/scripts", &app.admin, &body).await).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (_, execution) = parts(
        app.post(
            &format!("/api/v1/scripts/{id}/execute"),
            &app.admin,
            &json!({}),
        )
        .await,
    )
    .await;
    execution
}

#[tokio::test]
async fn oversized_results_end_in_result_too_large() {
    each_backend(|db| async move {
        let connection = sea_orm::Database::connect(&db.url).await.unwrap();
        let tenant_type = if db.backend == Backend::Postgres { "uuid" } else { "text" };
        connection
            .execute_unprepared(&format!("CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id {tenant_type} NOT NULL, note TEXT)"))
            .await
            .unwrap();
        connection.close().await.unwrap();
        let app = spawn_app_full(&db, |s| s.sdk_db.tables = "orders".into(), ServiceRegistry::new()).await;
        let sqlite = db.backend == Backend::Sqlite;
        // Text of `n` (even) bytes, built by the database.
        let text = |n: usize| if sqlite { format!("hex(zeroblob({}))", n / 2) } else { format!("repeat('0', {n})") };
        let twelve = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 12)";
        let attacks = [
            // The attack: twelve 400 MB values (SQLite refuses to build even one).
            if sqlite {
                format!("{twelve} SELECT zeroblob(400000000) AS b FROM r")
            } else {
                format!("{twelve} SELECT {} AS b FROM r", text(4_000_000))
            },
            // One value over 1 MiB.
            format!("SELECT {} AS v", text(1_100_000)),
            // A blob whose base64 text is over 1 MiB.
            if sqlite { "SELECT zeroblob(800000) AS b".to_owned() } else { "SELECT decode(repeat('00', 800000), 'hex') AS b".to_owned() },
            // Three values under 1 MiB, a row over 2 MiB.
            format!("SELECT {0} AS a, {0} AS b, {0} AS c", text(900_000)),
            // Rows under 2 MiB, twenty of them over 8 MiB.
            format!("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 20) SELECT {} AS v FROM r", text(600_000)),
        ];
        let list = serde_json::to_string(&attacks).unwrap();
        let source = format!(
            "export default async () => {{
                const out = [];
                for (const sql of {list}) {{
                    try {{ await sdk.db.query(sql); out.push('returned'); }} catch (e) {{ out.push([e.code, e.message]); }}
                }}
                const fine = await sdk.db.query(\"SELECT {} AS v\");
                const count = await sdk.db.queryOne('SELECT count(*) AS n FROM orders');
                return {{ out, fine: fine[0].v.length, count: Number(count.n) }};
            }}",
            text(500_000)
        );
        let execution = run(&app, &source).await;
        assert_eq!(execution["status"], "completed", "{execution}");
        let output = &execution["output"];
        for (attack, seen) in attacks.iter().zip(output["out"].as_array().unwrap()) {
            assert_eq!(seen[0], "RESULT_TOO_LARGE", "{:?} {attack}: {seen}", db.backend);
            let message = seen[1].as_str().unwrap();
            assert!(!message.contains("orders") && !message.contains("sqlx") && !message.contains("Vec<"), "{message}");
        }
        let messages: Vec<&str> = output["out"].as_array().unwrap().iter().map(|s| s[1].as_str().unwrap()).collect();
        assert!(messages[1].contains("a value") && messages[1].contains("1048576"), "{messages:?}");
        assert!(messages[4].contains("in total") && messages[4].contains("8388608"), "{messages:?}");
        assert_eq!(output["fine"], 500_000, "a result within the limits still comes back whole");
        assert_eq!(output["count"], 0, "the database serves the next statement");
        app.stop().await;
    })
    .await;
}
