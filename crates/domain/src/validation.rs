//! Field-by-field validation errors, collected so a form or a JSON body reports every problem at once.

use std::collections::BTreeMap;
use std::fmt;

/// Every problem found in one input, keyed by field name (the API's camelCase name, with a dot
/// for nested fields such as `limits.maxMemoryBytes`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidationErrors {
    fields: BTreeMap<String, String>,
}

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: impl Into<String>, message: impl fmt::Display) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    /// Records a problem; the first message for a field wins, as it is usually the root cause.
    pub fn add(&mut self, field: impl Into<String>, message: impl fmt::Display) {
        self.fields
            .entry(field.into())
            .or_insert_with(|| message.to_string());
    }

    /// Records a problem that is the root cause of whatever was recorded for `field` before.
    pub fn replace(&mut self, field: impl Into<String>, message: impl fmt::Display) {
        self.fields.insert(field.into(), message.to_string());
    }

    /// Parses with `parse`, recording its error under `field`; returns the value if it parsed.
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, parsed: Result<T, E>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field, error);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn fields(&self) -> &BTreeMap<String, String> {
        &self.fields
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .fields
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        write!(f, "invalid input ({})", parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}
