//! `sdk.db` statements on SQLite: sqlx runs them directly on a pooled connection, whose
//! progress handler stops a statement at its deadline and whose length limit stops it from
//! building an oversized value or row, and turns the rows into JSON as they are read.

use super::budget::ResultBudget;
use super::failures::from_sqlx;
use super::pg_values;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use domain::script_data::{SqlBounds, SqlFailure, SqlOutcome, SqlStatement};
use futures::TryStreamExt;
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::sqlite::{LockedSqliteHandle, Sqlite, SqliteRow};
use sea_orm::sqlx::{Column, Row, TypeInfo, ValueRef};
use serde_json::{Map, Value};

pub(super) fn sqlite_error(error: sea_orm::sqlx::Error) -> SqlFailure {
    from_sqlx(&error)
}

/// Sets the connection's limit on the length of a string, blob or row (`SQLITE_LIMIT_LENGTH`)
/// and returns the previous one. Past it SQLite refuses with `SQLITE_TOOBIG` instead of
/// building the value.
#[allow(unsafe_code)]
fn set_length_limit(handle: &mut LockedSqliteHandle<'_>, bytes: i32) -> i32 {
    // SAFETY: the handle is locked, so the pointer is sqlx's open connection and no other
    // thread uses it meanwhile; `sqlite3_limit` only reads or writes one limit of it.
    unsafe {
        libsqlite3_sys::sqlite3_limit(
            handle.as_raw_handle().as_ptr(),
            libsqlite3_sys::SQLITE_LIMIT_LENGTH,
            bytes,
        )
    }
}

/// Forgets the connection's last inserted rowid, so that the next user of the pooled
/// connection (another execution, maybe another tenant) cannot learn it. The guard refuses
/// `last_insert_rowid()`, `changes()` and `total_changes()` too; this is the second line.
#[allow(unsafe_code)]
fn forget_last_insert(handle: &mut LockedSqliteHandle<'_>) {
    // SAFETY: as in `set_length_limit`: the locked handle is sqlx's open connection.
    unsafe { libsqlite3_sys::sqlite3_set_last_insert_rowid(handle.as_raw_handle().as_ptr(), 0) }
}

/// One SQLite value as JSON by its storage class: integers as numbers (past 2^53 as
/// strings; in a column declared BOOLEAN as `true`/`false`), reals as numbers, text as
/// strings, blobs in base64. Each is measured in place before anything is copied out.
fn sqlite_value(
    row: &SqliteRow,
    index: usize,
    declared: &str,
    budget: &ResultBudget,
) -> Result<Value, SqlFailure> {
    let raw = row.try_get_raw(index).map_err(|e| from_sqlx(&e))?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let decoded = match raw.type_info().name() {
        "INTEGER" => {
            let integer = row.try_get::<i64, _>(index);
            match integer.map_err(|e| from_sqlx(&e))? {
                i @ (0 | 1) if declared == "BOOLEAN" => Value::Bool(i == 1),
                i => pg_values::integer(i),
            }
        }
        "REAL" => pg_values::float(row.try_get::<f64, _>(index).map_err(|e| from_sqlx(&e))?),
        storage => {
            let bytes = row.try_get_unchecked::<&[u8], _>(index).unwrap_or_default();
            if storage == "BLOB" {
                budget.check_raw(bytes.len().div_ceil(3).saturating_mul(4))?;
                Value::from(BASE64.encode(bytes))
            } else {
                budget.check_raw(bytes.len())?;
                Value::from(String::from_utf8_lossy(bytes))
            }
        }
    };
    Ok(decoded)
}

fn sqlite_row_to_json(
    row: &SqliteRow,
    budget: &mut ResultBudget,
) -> Result<Map<String, Value>, SqlFailure> {
    let mut map = Map::new();
    for (index, column) in row.columns().iter().enumerate() {
        let declared = column.type_info().name();
        let value = sqlite_value(row, index, declared, budget)?;
        map.insert(column.name().to_owned(), value);
    }
    budget.add_row(&map)?;
    Ok(map)
}

/// Runs one statement on a SQLite connection; its progress handler stops it at the deadline.
pub(super) async fn sqlite_statement(
    connection: &mut PoolConnection<Sqlite>,
    statement: &SqlStatement,
    bounds: SqlBounds,
) -> Result<SqlOutcome, SqlFailure> {
    let deadline = crate::clock::now() + bounds.timeout;
    let length_limit = i32::try_from(bounds.sizes.max_row_bytes).unwrap_or(i32::MAX);
    let previous_limit = {
        let mut handle = connection.lock_handle().await.map_err(sqlite_error)?;
        handle.set_progress_handler(1_000, move || crate::clock::now() < deadline);
        set_length_limit(&mut handle, length_limit)
    };
    let sql = if statement.is_query {
        // Materialising the rows makes SQLite build each one as a record, which its length
        // limit bounds: no row larger than that reaches the rows read below.
        format!(
            "WITH iota_rows AS MATERIALIZED (SELECT * FROM ({}) LIMIT {}) SELECT * FROM iota_rows",
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
        let mut budget = ResultBudget::new(bounds.sizes, bounds.max_rows);
        let mut rows = Vec::new();
        let mut stream = query.fetch(&mut **connection);
        let read = loop {
            match stream.try_next().await {
                Ok(Some(row)) => match sqlite_row_to_json(&row, &mut budget) {
                    Ok(json) => rows.push(json),
                    Err(failure) => break Err(failure),
                },
                Ok(None) => break Ok(()),
                Err(error) => break Err(sqlite_error(error)),
            }
        };
        drop(stream);
        read.map(|()| SqlOutcome {
            affected: rows.len() as u64,
            rows,
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
        set_length_limit(&mut handle, previous_limit);
        forget_last_insert(&mut handle);
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
