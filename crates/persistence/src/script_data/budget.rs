//! The size bounds of an `sdk.db` result, counted row by row as the rows are read: a value,
//! a row or the whole result past its limit stops the read with `RESULT_TOO_LARGE`, so that
//! an oversized result never materialises in the server.

use domain::script_data::{ResultSizes, SqlFailure};
use serde_json::{Map, Value};

pub(super) const TOO_LARGE: &str = "RESULT_TOO_LARGE";

/// What a statement's rows have used of their limits so far.
pub(super) struct ResultBudget {
    sizes: ResultSizes,
    rows: usize,
    max_rows: usize,
    used: usize,
}

/// The bytes a JSON value stands for: text and blobs by their length, scalars as 8.
fn size_of(value: &Value) -> usize {
    match value {
        Value::String(text) => text.len(),
        Value::Array(items) => items.iter().map(size_of).sum(),
        Value::Object(fields) => fields.iter().map(|(k, v)| k.len() + size_of(v)).sum(),
        _ => 8,
    }
}

impl ResultBudget {
    pub(super) fn new(sizes: ResultSizes, max_rows: usize) -> Self {
        Self {
            sizes,
            rows: 0,
            max_rows,
            used: 0,
        }
    }

    /// Refuses a value by its stored size, before it is decoded.
    pub(super) fn check_raw(&self, bytes: usize) -> Result<(), SqlFailure> {
        if bytes > self.sizes.max_value_bytes {
            return Err(value_too_large(self.sizes.max_value_bytes));
        }
        Ok(())
    }

    /// Counts one decoded row against the row count, the value, row and total sizes.
    pub(super) fn add_row(&mut self, row: &Map<String, Value>) -> Result<(), SqlFailure> {
        self.rows += 1;
        if self.rows > self.max_rows {
            return Err(SqlFailure::new(
                "ROW_LIMIT",
                format!("the statement returns more than {} rows", self.max_rows),
            ));
        }
        let mut row_bytes = 0;
        for (name, value) in row {
            let bytes = size_of(value);
            if bytes > self.sizes.max_value_bytes {
                return Err(value_too_large(self.sizes.max_value_bytes));
            }
            row_bytes += name.len() + bytes;
        }
        if row_bytes > self.sizes.max_row_bytes {
            return Err(SqlFailure::new(
                TOO_LARGE,
                format!(
                    "a row of the result is larger than {} bytes",
                    self.sizes.max_row_bytes
                ),
            ));
        }
        self.used += row_bytes;
        if self.used > self.sizes.max_result_bytes {
            return Err(SqlFailure::new(
                TOO_LARGE,
                format!(
                    "the result is larger than {} bytes in total",
                    self.sizes.max_result_bytes
                ),
            ));
        }
        Ok(())
    }
}

fn value_too_large(max: usize) -> SqlFailure {
    SqlFailure::new(
        TOO_LARGE,
        format!("a value in the result is larger than {max} bytes"),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn row(value: Value) -> Map<String, Value> {
        json!({ "v": value }).as_object().unwrap().clone()
    }

    #[test]
    fn each_limit_stops_the_read_with_its_own_message() {
        let sizes = ResultSizes {
            max_value_bytes: 10,
            max_row_bytes: 15,
            max_result_bytes: 30,
        };
        // (rows read in order, the failure at the last one)
        type Case = (
            Vec<Map<String, Value>>,
            Option<(&'static str, &'static str)>,
        );
        let cases: [Case; 5] = [
            (vec![row(json!("0123456789"))], None),
            (
                vec![row(json!("0123456789a"))],
                Some((TOO_LARGE, "a value")),
            ),
            (
                vec![
                    json!({"a": "0123456789", "b": "01234"})
                        .as_object()
                        .unwrap()
                        .clone(),
                ],
                Some((TOO_LARGE, "a row")),
            ),
            (
                vec![row(json!("0123456789")); 3],
                Some((TOO_LARGE, "in total")),
            ),
            (vec![Map::new(); 5], Some(("ROW_LIMIT", "4 rows"))),
        ];
        for (rows, expected) in cases {
            let mut budget = ResultBudget::new(sizes, 4);
            let mut outcome = Ok(());
            for row in &rows {
                outcome = budget.add_row(row);
                if outcome.is_err() {
                    break;
                }
            }
            match (outcome, expected) {
                (Ok(()), None) => {}
                (Err(failure), Some((code, words))) => {
                    assert_eq!(failure.code, code, "{rows:?}");
                    assert!(failure.message.contains(words), "{failure}");
                }
                (outcome, expected) => panic!("{rows:?}: {outcome:?}, expected {expected:?}"),
            }
        }
        let budget = ResultBudget::new(sizes, 4);
        assert!(budget.check_raw(10).is_ok());
        assert_eq!(budget.check_raw(11).unwrap_err().code, TOO_LARGE);
    }
}
