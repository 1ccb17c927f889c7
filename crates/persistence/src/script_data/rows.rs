//! JSON to and from sea-orm values on the PostgreSQL path: the statement's bound parameters
//! in, its result rows out as JSON objects.

use sea_orm::QueryResult;
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

pub(super) fn row_to_json(row: &QueryResult) -> Map<String, Value> {
    row.column_names()
        .into_iter()
        .enumerate()
        .map(|(index, name)| (name, column_to_json(row, index)))
        .collect()
}
