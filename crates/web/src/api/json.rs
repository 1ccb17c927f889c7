//! Strict JSON bodies that report every problem at once: a syntax error is one 400; otherwise
//! each unknown field and each value of the wrong type gets its own message, keyed by field.

use super::errors::ApiError;
use actix_web::HttpRequest;
use actix_web::http::header;
use domain::ValidationErrors;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Parses the body of a request as a JSON object.
pub fn object(request: &HttpRequest, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        return Err(ApiError::UnsupportedMediaType(
            "send the body as Content-Type: application/json".into(),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::MalformedJson(
            "the body must be a JSON object".into(),
        )),
        Err(error) => Err(ApiError::MalformedJson(format!("malformed JSON: {error}"))),
    }
}

/// Takes typed fields out of a JSON object, recording a message for each bad one.
pub struct FieldReader<'e> {
    map: Map<String, Value>,
    prefix: String,
    errors: &'e mut ValidationErrors,
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'e> FieldReader<'e> {
    pub fn new(map: Map<String, Value>, prefix: &str, errors: &'e mut ValidationErrors) -> Self {
        Self {
            map,
            prefix: prefix.to_owned(),
            errors,
        }
    }

    fn key(&self, field: &str) -> String {
        if self.prefix.is_empty() {
            field.to_owned()
        } else {
            format!("{}.{field}", self.prefix)
        }
    }

    /// The field as `T`; absent or `null` is `None`, a wrong type is an error naming `expected`.
    pub fn take<T: DeserializeOwned>(&mut self, field: &str, expected: &str) -> Option<T> {
        let value = self.map.remove(field)?;
        if value.is_null() {
            return None;
        }
        let found = type_name(&value);
        match serde_json::from_value(value) {
            Ok(parsed) => Some(parsed),
            Err(_) => {
                let key = self.key(field);
                self.errors
                    .add(key, format!("must be {expected}, not {found}"));
                None
            }
        }
    }

    /// A nested object, read with its own reader.
    pub fn object(&mut self, field: &str) -> Option<Map<String, Value>> {
        self.take::<Map<String, Value>>(field, "an object")
    }

    pub fn errors(&mut self) -> &mut ValidationErrors {
        self.errors
    }

    /// Reports every field that was not taken as unknown.
    pub fn finish(self) {
        for field in self.map.keys() {
            let key = if self.prefix.is_empty() {
                field.clone()
            } else {
                format!("{}.{field}", self.prefix)
            };
            self.errors.add(key, "is not a known field");
        }
    }
}
