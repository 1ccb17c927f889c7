//! JSON to and from sea-orm values on the PostgreSQL path: the statement's bound parameters
//! in, its result rows out as JSON objects (values decoded in `pg_values`), each value
//! measured before it is decoded.

use super::budget::ResultBudget;
use super::failures::{GENERIC, from_sqlx};
use super::pg_values;
use domain::script_data::SqlFailure;
use sea_orm::QueryResult;
use sea_orm::sqlx::postgres::{PgRow, PgTypeKind, PgValueFormat};
use sea_orm::sqlx::{Column, Row, ValueRef};
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

/// One column of a PostgreSQL row as JSON, decoded by its type (a domain by its base type),
/// refused before decoding when its bytes on the wire are already past the value limit (a
/// `bytea`, which the script receives in base64, counts as four bytes for every three).
fn column_to_json(row: &PgRow, index: usize, budget: &ResultBudget) -> Result<Value, SqlFailure> {
    let raw = row.try_get_raw(index).map_err(|e| from_sqlx(&e))?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let info = raw.type_info().into_owned();
    let bytes = raw.as_bytes().unwrap_or_default();
    let (oid, array) = match info.kind() {
        PgTypeKind::Domain(base) => (base.oid(), matches!(base.kind(), PgTypeKind::Array(_))),
        kind => (info.oid(), matches!(kind, PgTypeKind::Array(_))),
    };
    let oid = oid.map_or(0, |o| o.0);
    let wire = if oid == 17 {
        bytes.len().div_ceil(3).saturating_mul(4)
    } else {
        bytes.len()
    };
    budget.check_raw(wire)?;
    if raw.format() == PgValueFormat::Text {
        return Ok(pg_values::fallback(bytes));
    }
    Ok(if array || pg_values::is_array_oid(oid) {
        pg_values::array(bytes).unwrap_or_else(|| pg_values::fallback(bytes))
    } else {
        pg_values::decode(oid, bytes)
    })
}

/// One row as JSON, counted against the statement's result limits.
pub(super) fn row_to_json(
    row: &QueryResult,
    budget: &mut ResultBudget,
) -> Result<Map<String, Value>, SqlFailure> {
    let pg = row
        .try_as_pg_row()
        .ok_or_else(|| SqlFailure::new(GENERIC, "the database returned an unexpected row"))?;
    let mut map = Map::new();
    for (index, column) in pg.columns().iter().enumerate() {
        map.insert(column.name().to_owned(), column_to_json(pg, index, budget)?);
    }
    budget.add_row(&map)?;
    Ok(map)
}
