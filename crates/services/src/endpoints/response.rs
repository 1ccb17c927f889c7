//! The response mapping of `http` scripts (SPEC §5): an object with a numeric `status` gives
//! the status, `headers` and `body` (a string as is, anything else as JSON); any other value is
//! sent as `200` JSON. A script never sets the platform's own headers: connection-level ones,
//! the execution id, or a cookie named like the platform's session cookie are dropped.

use serde_json::Value;

/// Cookie names the platform itself sets (the web pages' session and language): a script's
/// `Set-Cookie` naming one of them is dropped, so that an endpoint on the same origin can never
/// plant a session.
pub const PLATFORM_COOKIES: &[&str] = &[
    crate::sessions::SESSION_COOKIE,
    crate::sessions::LANG_COOKIE,
];

/// The header that carries the execution's id on every response a run produced.
pub const EXECUTION_ID_HEADER: &str = "x-execution-id";

/// Headers that belong to the connection or to the platform, never to a script.
const PLATFORM_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
    "host",
    "date",
    EXECUTION_ID_HEADER,
];

const MAX_HEADERS: usize = 100;
const MAX_HEADER_VALUE_BYTES: usize = 8 * 1024;

#[derive(Clone, Debug, PartialEq)]
pub enum ResponseBody {
    Empty,
    /// Sent as is (`text/plain; charset=utf-8` unless the script set a content type).
    Text(String),
    /// Sent as JSON (`application/json` unless the script set a content type).
    Json(Value),
}

#[derive(Clone, Debug, PartialEq)]
pub struct EndpointResponse {
    pub status: u16,
    /// Lower-case names, valid names and values; a name may repeat (`set-cookie`).
    pub headers: Headers,
    pub body: ResponseBody,
    /// Headers the script set that were not sent, for the log.
    pub dropped: Vec<String>,
}

/// Why a script's return value cannot be sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidResponse {
    #[error("status {0} is not between 200 and 599")]
    Status(String),
    #[error("headers must be an object of strings")]
    HeadersShape,
    #[error("header name {0:?} is not a valid token")]
    HeaderName(String),
    #[error("the value of header {0:?} is not valid (visible ASCII, at most 8 KiB)")]
    HeaderValue(String),
    #[error("more than {MAX_HEADERS} headers")]
    TooManyHeaders,
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_header_value(value: &str) -> bool {
    value.len() <= MAX_HEADER_VALUE_BYTES
        && value
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
}

fn names_platform_cookie(set_cookie: &str) -> bool {
    let name = set_cookie.split('=').next().unwrap_or("").trim();
    PLATFORM_COOKIES
        .iter()
        .any(|platform| platform.eq_ignore_ascii_case(name))
}

fn header_values(value: &Value) -> Result<Vec<String>, InvalidResponse> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(InvalidResponse::HeadersShape),
    };
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(values) => values.iter().map(one).collect(),
        single => Ok(vec![one(single)?]),
    }
}

/// Header names and values, in order.
type Headers = Vec<(String, String)>;

fn headers_of(value: Option<&Value>) -> Result<(Headers, Vec<String>), InvalidResponse> {
    let object = match value {
        None | Some(Value::Null) => return Ok((Vec::new(), Vec::new())),
        Some(Value::Object(object)) => object,
        Some(_) => return Err(InvalidResponse::HeadersShape),
    };
    let (mut headers, mut dropped) = (Vec::new(), Vec::new());
    for (name, value) in object {
        if !is_token(name) {
            return Err(InvalidResponse::HeaderName(name.clone()));
        }
        let lower = name.to_ascii_lowercase();
        for value in header_values(value)? {
            if !is_header_value(&value) {
                return Err(InvalidResponse::HeaderValue(name.clone()));
            }
            let platform = PLATFORM_HEADERS.contains(&lower.as_str())
                || (lower == "set-cookie" && names_platform_cookie(&value));
            if platform {
                dropped.push(lower.clone());
            } else {
                headers.push((lower.clone(), value));
            }
        }
        if headers.len() > MAX_HEADERS {
            return Err(InvalidResponse::TooManyHeaders);
        }
    }
    Ok((headers, dropped))
}

/// Maps a script's output (its awaited return value) to the response to send.
pub fn map_output(output: Option<&Value>) -> Result<EndpointResponse, InvalidResponse> {
    let plain = |value: Value| EndpointResponse {
        status: 200,
        headers: Vec::new(),
        body: ResponseBody::Json(value),
        dropped: Vec::new(),
    };
    let Some(Value::Object(object)) = output else {
        return Ok(plain(output.cloned().unwrap_or(Value::Null)));
    };
    let Some(Value::Number(status)) = object.get("status") else {
        return Ok(plain(Value::Object(object.clone())));
    };
    let status = status
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (200..=599).contains(s))
        .ok_or_else(|| InvalidResponse::Status(status.to_string()))?;
    let (headers, dropped) = headers_of(object.get("headers"))?;
    let body = match object.get("body") {
        None | Some(Value::Null) => ResponseBody::Empty,
        Some(Value::String(text)) => ResponseBody::Text(text.clone()),
        Some(other) => ResponseBody::Json(other.clone()),
    };
    Ok(EndpointResponse {
        status,
        headers,
        body,
        dropped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_script_cannot_set_the_platforms_session_or_language_cookie() {
        let output = json!({
            "status": 200,
            "headers": { "Set-Cookie": ["iota_session=planted; Path=/", "LANG=ru", "theirs=1"] }
        });
        let response = map_output(Some(&output)).expect("valid response");
        assert_eq!(
            response.headers,
            vec![("set-cookie".to_owned(), "theirs=1".to_owned())]
        );
        assert_eq!(response.dropped, vec!["set-cookie", "set-cookie"]);
    }
}
