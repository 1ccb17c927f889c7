//! JSON to and from sea-orm values on the PostgreSQL path: the statement's bound parameters
//! in, its result rows out as JSON objects, each value measured before it is decoded.

use super::budget::ResultBudget;
use domain::script_data::SqlFailure;
use sea_orm::QueryResult;
use sea_orm::sqlx::{Row, TypeInfo, ValueRef};
use serde_json::{Map, Value};

pub(super) fn to_value(json: &Value) -> sea_orm::Value {
    match json {
        Value::Null => sea_orm::Value::String(None),
        Value::Bool(b) => sea_orm::Value::Bool(Some(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => sea_orm::Value::BigInt(Some(i)),
            None => sea_orm::Value::Double(n.as_f64()),
        },
        Value::String(s) => sea_orm::Value::String(Some(s.clone())),
        other => sea_orm::Value::Json(Some(Box::new(other.clone()))),
    }
}

/// One column of a row as JSON, whatever its type: the decoders are tried from the most to
/// the least specific (SQLite reports the value's own type; PostgreSQL the column's).
fn column_to_json(row: &QueryResult, index: usize) -> Value {
    macro_rules! attempt {
        ($t:ty, $map:expr) => {
            if let Ok(value) = row.try_get_by_index::<Option<$t>>(index) {
                return value.map($map).unwrap_or(Value::Null);
            }
        };
    }
    attempt!(i64, Value::from);
    attempt!(i32, Value::from);
    attempt!(i16, Value::from);
    attempt!(f64, Value::from);
    attempt!(f32, Value::from);
    attempt!(bool, Value::from);
    attempt!(String, Value::from);
    attempt!(Value, |v| v);
    attempt!(uuid::Uuid, |v| Value::from(v.to_string()));
    attempt!(chrono::DateTime<chrono::Utc>, |v| Value::from(
        v.to_rfc3339()
    ));
    attempt!(chrono::NaiveDateTime, |v| Value::from(v.to_string()));
    attempt!(chrono::NaiveDate, |v| Value::from(v.to_string()));
    attempt!(chrono::NaiveTime, |v| Value::from(v.to_string()));
    attempt!(Vec<u8>, |v| Value::from(
        v.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ));
    Value::Null
}

/// Refuses a PostgreSQL value whose bytes on the wire are already past the value limit
/// (a `bytea`, which the script receives as hex, counts twice), before it is decoded.
fn check_raw(row: &QueryResult, index: usize, budget: &ResultBudget) -> Result<(), SqlFailure> {
    let Some(raw) = row
        .try_as_pg_row()
        .and_then(|pg| pg.try_get_raw(index).ok())
    else {
        return Ok(());
    };
    if raw.is_null() {
        return Ok(());
    }
    let bytes = raw.as_bytes().map(<[u8]>::len).unwrap_or(0);
    let factor = if raw.type_info().name() == "BYTEA" {
        2
    } else {
        1
    };
    budget.check_raw(bytes.saturating_mul(factor))
}

/// One row as JSON, counted against the statement's result limits.
pub(super) fn row_to_json(
    row: &QueryResult,
    budget: &mut ResultBudget,
) -> Result<Map<String, Value>, SqlFailure> {
    let mut map = Map::new();
    for (index, name) in row.column_names().into_iter().enumerate() {
        check_raw(row, index, budget)?;
        map.insert(name, column_to_json(row, index));
    }
    budget.add_row(&map)?;
    Ok(map)
}
