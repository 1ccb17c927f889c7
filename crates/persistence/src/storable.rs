//! Script-made JSON made storable on both databases: PostgreSQL `text` and `jsonb` cannot hold
//! U+0000, so every U+0000 in a string or an object key is stored as U+FFFD (the replacement
//! character), on SQLite too, so that a record reads back the same on either database.

use serde_json::{Map, Value};

const NUL: char = '\u{0}';
const REPLACEMENT: &str = "\u{FFFD}";

fn text(value: &str) -> String {
    value.replace(NUL, REPLACEMENT)
}

/// `value` with every U+0000 replaced by U+FFFD; a value without one is returned as it is.
pub(crate) fn storable(value: &Value) -> Value {
    match value {
        Value::String(s) if s.contains(NUL) => Value::String(text(s)),
        Value::Array(items) => Value::Array(items.iter().map(storable).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (text(k), storable(v)))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_becomes_the_replacement_character_everywhere() {
        let cases = [
            (json!("a\u{0}b"), json!("a\u{FFFD}b")),
            (
                json!({"k\u{0}": ["\u{0}", 1, null]}),
                json!({"k\u{FFFD}": ["\u{FFFD}", 1, null]}),
            ),
            (
                json!({"plain": "text", "n": 1.5}),
                json!({"plain": "text", "n": 1.5}),
            ),
        ];
        for (given, stored) in cases {
            assert_eq!(storable(&given), stored);
        }
    }
}
