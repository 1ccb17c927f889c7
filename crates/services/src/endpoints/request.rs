//! The request object an `http` script's entry point receives (SPEC §5): `method`, `path`
//! (relative to the endpoint prefix), `headers`, `query`, `params`, `body` (parsed JSON, form
//! data, or text, by content type) and `rawBody` (the text, for signature checks).

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A request as the HTTP layer read it, body included (already within the size cap).
#[derive(Clone, Debug, Default)]
pub struct IncomingRequest {
    /// As sent, upper-cased.
    pub method: String,
    /// The path after `/api/scripts` or `/hooks/{slug}`, with its leading `/`.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Header names and values in arrival order (names in any case).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A body whose content type says JSON but which does not parse.
#[derive(Debug, thiserror::Error)]
#[error("the body is not valid JSON: {0}")]
pub struct MalformedBody(pub String);

/// Headers that carry the caller's platform credentials: never given to a script that runs
/// for an authenticated caller (its input is stored and readable by the tenant's people).
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "cookie", "proxy-authorization"];

/// Adds `value` under `key`, turning repeated keys into arrays.
fn push(map: &mut Map<String, Value>, key: String, value: String) {
    match map.get_mut(&key) {
        None => {
            map.insert(key, Value::String(value));
        }
        Some(Value::Array(values)) => values.push(Value::String(value)),
        Some(first) => {
            let first = first.take();
            map.insert(key, Value::Array(vec![first, Value::String(value)]));
        }
    }
}

/// `a=1&b=2&b=3` → `{"a": "1", "b": ["2", "3"]}`.
pub fn form_map(text: &[u8]) -> Value {
    let mut map = Map::new();
    for (key, value) in url::form_urlencoded::parse(text) {
        push(&mut map, key.into_owned(), value.into_owned());
    }
    Value::Object(map)
}

fn media_type(headers: &[(String, String)]) -> String {
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| {
            value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// The body as the script sees it: `null` when empty, parsed JSON for `application/json`
/// (and `…+json`), form data for `application/x-www-form-urlencoded`, else text.
fn body_value(incoming: &IncomingRequest) -> Result<Value, MalformedBody> {
    if incoming.body.is_empty() {
        return Ok(Value::Null);
    }
    let media = media_type(&incoming.headers);
    if media == "application/json" || media.ends_with("+json") {
        return serde_json::from_slice(&incoming.body).map_err(|e| MalformedBody(e.to_string()));
    }
    if media == "application/x-www-form-urlencoded" {
        return Ok(form_map(&incoming.body));
    }
    Ok(Value::String(
        String::from_utf8_lossy(&incoming.body).into_owned(),
    ))
}

/// Builds the request object; with `strip_credentials`, the caller's credential headers are
/// left out.
pub fn request_object(
    incoming: &IncomingRequest,
    params: &BTreeMap<String, String>,
    strip_credentials: bool,
) -> Result<Value, MalformedBody> {
    let mut headers = Map::new();
    for (name, value) in &incoming.headers {
        let name = name.to_ascii_lowercase();
        if strip_credentials && CREDENTIAL_HEADERS.contains(&name.as_str()) {
            continue;
        }
        match headers.get_mut(&name) {
            Some(Value::String(joined)) => {
                joined.push_str(", ");
                joined.push_str(value);
            }
            _ => {
                headers.insert(name, Value::String(value.clone()));
            }
        }
    }
    let raw_body = match incoming.body.is_empty() {
        true => Value::Null,
        false => Value::String(String::from_utf8_lossy(&incoming.body).into_owned()),
    };
    Ok(serde_json::json!({
        "method": incoming.method,
        "path": incoming.path,
        "headers": headers,
        "query": form_map(incoming.query.as_bytes()),
        "params": params,
        "body": body_value(incoming)?,
        "rawBody": raw_body,
    }))
}
