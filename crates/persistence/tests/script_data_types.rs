//! Every column type a script may read through `sdk.db` comes back with its value, on SQLite
//! and on PostgreSQL. Regression: a PostgreSQL NUMERIC (and every type without a decoder)
//! came back as `null`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use domain::script_data::{ScriptDatabase, SqlBounds, SqlStatement};
use domain::{ExecutionId, TenantId};
use persistence::{Backend, ScriptDataConfig, SeaScriptDatabase};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use std::time::Duration;
use testkit::each_backend;

/// (column type, the value inserted as SQL, what a script reads)
fn postgres_cases() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("smallint", "7", json!(7)),
        ("integer", "-42", json!(-42)),
        ("bigint", "42", json!(42)),
        ("bigint", "9007199254740993", json!("9007199254740993")),
        ("real", "1.5", json!(1.5)),
        ("double precision", "2.25", json!(2.25)),
        ("double precision", "'NaN'", json!("NaN")),
        ("numeric(12,4)", "12.34", json!("12.3400")),
        ("numeric", "-0.000001", json!("-0.000001")),
        (
            "numeric",
            "123456789012345678901234567890.5",
            json!("123456789012345678901234567890.5"),
        ),
        ("decimal(5,0)", "10000", json!("10000")),
        ("numeric", "'NaN'", json!("NaN")),
        ("money", "12.34", json!("12.34")),
        ("boolean", "true", json!(true)),
        ("text", "'héllo'", json!("héllo")),
        ("varchar(10)", "'v'", json!("v")),
        ("char(3)", "'ab'", json!("ab ")),
        ("bytea", "'\\x00ff10'::bytea", json!("AP8Q")),
        ("date", "'2024-02-29'", json!("2024-02-29")),
        ("time", "'13:45:06.5'", json!("13:45:06.500")),
        ("timetz", "'13:45:06+02'", json!("13:45:06+02:00")),
        (
            "timestamp",
            "'2024-01-02 03:04:05.123456'",
            json!("2024-01-02T03:04:05.123456"),
        ),
        (
            "timestamptz",
            "'2024-01-02 03:04:05+02'",
            json!("2024-01-02T01:04:05Z"),
        ),
        (
            "interval",
            "'1 year 2 months 3 days 04:05:06.5'",
            json!("P1Y2M3DT4H5M6.5S"),
        ),
        (
            "uuid",
            "'0b7e9a52-1c2d-4e5f-8a9b-0c1d2e3f4a5b'",
            json!("0b7e9a52-1c2d-4e5f-8a9b-0c1d2e3f4a5b"),
        ),
        ("json", "'{\"a\": [1, 2]}'", json!({"a": [1, 2]})),
        ("jsonb", "'{\"b\": true}'", json!({"b": true})),
        ("inet", "'192.168.0.1'", json!("192.168.0.1")),
        ("inet", "'10.0.0.0/8'", json!("10.0.0.0/8")),
        ("inet", "'::1'", json!("::1")),
        ("cidr", "'10.0.0.0/8'", json!("10.0.0.0/8")),
        ("macaddr", "'08:00:2b:01:02:03'", json!("08:00:2b:01:02:03")),
        ("integer[]", "'{1,2,NULL}'", json!([1, 2, null])),
        (
            "text[][]",
            "'{{a,b},{c,d}}'",
            json!([["a", "b"], ["c", "d"]]),
        ),
        ("numeric[]", "'{1.5,2}'", json!(["1.5", "2"])),
        ("mood", "'happy'", json!("happy")),
        ("xml", "'<a/>'", json!("<a/>")),
        ("point", "'(1,2.5)'", json!("(1,2.5)")),
        ("text", "NULL", Value::Null),
    ]
}

fn sqlite_cases() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("INTEGER", "42", json!(42)),
        ("INTEGER", "9007199254740993", json!("9007199254740993")),
        ("REAL", "1.5", json!(1.5)),
        ("NUMERIC", "12.5", json!(12.5)),
        ("TEXT", "'héllo'", json!("héllo")),
        ("BLOB", "x'00ff10'", json!("AP8Q")),
        ("BOOLEAN", "1", json!(true)),
        ("BOOLEAN", "0", json!(false)),
        (
            "DATETIME",
            "'2024-01-02 03:04:05'",
            json!("2024-01-02 03:04:05"),
        ),
        ("TEXT", "'{\"a\":1}'", json!("{\"a\":1}")),
        ("TEXT", "NULL", Value::Null),
    ]
}

#[tokio::test]
async fn every_column_type_comes_back_with_its_value() {
    each_backend(|db| async move {
        let postgres = db.backend == Backend::Postgres;
        let cases = if postgres {
            postgres_cases()
        } else {
            sqlite_cases()
        };
        let connection = sea_orm::Database::connect(&db.url).await.unwrap();
        if postgres {
            connection
                .execute_unprepared("CREATE TYPE mood AS ENUM ('sad', 'happy')")
                .await
                .unwrap();
        }
        let columns: Vec<String> = cases
            .iter()
            .enumerate()
            .map(|(i, (kind, _, _))| format!("c{i} {kind}"))
            .collect();
        let values: Vec<&str> = cases.iter().map(|(_, value, _)| *value).collect();
        for sql in [
            format!("CREATE TABLE typed ({})", columns.join(", ")),
            format!("INSERT INTO typed VALUES ({})", values.join(", ")),
        ] {
            connection.execute_unprepared(&sql).await.unwrap();
        }
        connection.close().await.unwrap();

        let door = SeaScriptDatabase::connect(db.database.clone(), ScriptDataConfig::default())
            .await
            .unwrap();
        let statement = SqlStatement {
            sql: "SELECT * FROM typed".into(),
            params: vec![],
            returns_rows: true,
            is_query: true,
        };
        let bounds = SqlBounds {
            timeout: Duration::from_secs(5),
            max_rows: 10,
            sizes: Default::default(),
        };
        let outcome = door
            .run(TenantId::new(), ExecutionId::new(), None, statement, bounds)
            .await
            .unwrap();
        let row = &outcome.rows[0];
        for (i, (kind, value, expected)) in cases.iter().enumerate() {
            assert_eq!(
                &row[&format!("c{i}")],
                expected,
                "{kind} {value} ({:?})",
                db.backend
            );
        }
    })
    .await;
}
