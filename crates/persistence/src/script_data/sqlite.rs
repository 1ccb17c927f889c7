//! `sdk.db` statements on SQLite: sqlx runs them directly on a pooled connection, whose
//! progress handler stops a statement at its deadline, and turns the rows into JSON.

use domain::script_data::{SqlBounds, SqlFailure, SqlOutcome, SqlStatement};
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::sqlite::{Sqlite, SqliteRow};
use sea_orm::sqlx::{Column, Row, TypeInfo, ValueRef};
use serde_json::{Map, Value};
use std::time::Instant;

pub(super) fn sqlite_error(error: sea_orm::sqlx::Error) -> SqlFailure {
    let text = error.to_string();
    if text.contains("interrupted") {
        return SqlFailure::new(
            "QUERY_TIMEOUT",
            "the statement ran longer than its time limit and was stopped",
        );
    }
    let message = text
        .rsplit("error returned from database: ")
        .next()
        .unwrap_or(&text)
        .to_owned();
    SqlFailure::new("SQL_ERROR", message)
}

fn sqlite_row_to_json(row: &SqliteRow) -> Map<String, Value> {
    let mut map = Map::new();
    for (index, column) in row.columns().iter().enumerate() {
        let value = match row.try_get_raw(index) {
            Ok(raw) if raw.is_null() => Value::Null,
            Ok(raw) => match raw.type_info().name() {
                "INTEGER" => row
                    .try_get::<i64, _>(index)
                    .map(Value::from)
                    .unwrap_or(Value::Null),
                "REAL" => row
                    .try_get::<f64, _>(index)
                    .map(Value::from)
                    .unwrap_or(Value::Null),
                "BLOB" => row
                    .try_get::<Vec<u8>, _>(index)
                    .map(|b| Value::from(b.iter().map(|x| format!("{x:02x}")).collect::<String>()))
                    .unwrap_or(Value::Null),
                _ => row
                    .try_get::<String, _>(index)
                    .map(Value::from)
                    .unwrap_or(Value::Null),
            },
            Err(_) => Value::Null,
        };
        map.insert(column.name().to_owned(), value);
    }
    map
}

/// Runs one statement on a SQLite connection; its progress handler stops it at the deadline.
pub(super) async fn sqlite_statement(
    connection: &mut PoolConnection<Sqlite>,
    statement: &SqlStatement,
    bounds: SqlBounds,
) -> Result<SqlOutcome, SqlFailure> {
    let deadline = Instant::now() + bounds.timeout;
    connection
        .lock_handle()
        .await
        .map_err(sqlite_error)?
        .set_progress_handler(1_000, move || Instant::now() < deadline);
    let sql = if statement.is_query {
        format!(
            "SELECT * FROM ({}) AS iota_rows LIMIT {}",
            statement.sql,
            bounds.max_rows + 1
        )
    } else {
        statement.sql.clone()
    };
    // The SQL was checked and rewritten by the SQL guard; values are bound, never inlined.
    let mut query = sea_orm::sqlx::query(sea_orm::sqlx::AssertSqlSafe(sql));
    for param in &statement.params {
        query = match param {
            Value::Null => query.bind(None::<String>),
            Value::Bool(b) => query.bind(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => query.bind(i),
                None => query.bind(n.as_f64()),
            },
            Value::String(text) => query.bind(text.clone()),
            other => query.bind(other.to_string()),
        };
    }
    let outcome = if statement.returns_rows {
        query
            .fetch_all(&mut **connection)
            .await
            .map_err(sqlite_error)
            .and_then(|rows| {
                if rows.len() > bounds.max_rows {
                    return Err(SqlFailure::new(
                        "ROW_LIMIT",
                        format!("the statement returns more than {} rows", bounds.max_rows),
                    ));
                }
                let rows: Vec<_> = rows.iter().map(sqlite_row_to_json).collect();
                Ok(SqlOutcome {
                    affected: rows.len() as u64,
                    rows,
                })
            })
    } else {
        query
            .execute(&mut **connection)
            .await
            .map(|r| SqlOutcome {
                rows: Vec::new(),
                affected: r.rows_affected(),
            })
            .map_err(sqlite_error)
    };
    if let Ok(mut handle) = connection.lock_handle().await {
        handle.remove_progress_handler();
    }
    outcome
}

pub(super) async fn sqlite_exec(
    connection: &mut PoolConnection<Sqlite>,
    sql: &'static str,
) -> Result<(), SqlFailure> {
    sea_orm::sqlx::query(sql)
        .execute(&mut **connection)
        .await
        .map(|_| ())
        .map_err(sqlite_error)
}
