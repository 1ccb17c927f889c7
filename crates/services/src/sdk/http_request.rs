//! The bounds of what a script sends through `sdk.http`: the URL, the headers and the body are
//! checked and encoded before any address is resolved or any connection made, so that a huge
//! body or ten thousand headers end in a clean error instead of a large allocation, and a
//! connection-level header (`Host`, `Transfer-Encoding`, …) is refused before it can mislead
//! the server.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use runtime::{HostError, HostErrorCode};
use serde_json::{Map, Value};
use std::io::Write;
use url::Url;

/// How much a script may send in one request.
#[derive(Clone, Copy, Debug)]
pub struct RequestLimits {
    /// Bytes of the body as sent (a string as is, anything else as JSON).
    pub max_body_bytes: usize,
    /// Headers the script sets.
    pub max_headers: usize,
    /// Bytes of all header names and values together.
    pub max_header_bytes: usize,
    /// Bytes of the URL, query parameters included.
    pub max_url_bytes: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 5 * 1024 * 1024,
            max_headers: 64,
            max_header_bytes: 32 * 1024,
            max_url_bytes: 16 * 1024,
        }
    }
}

/// A request body, encoded.
pub(super) enum Body {
    Empty,
    Text(String),
    Json(Vec<u8>),
}

fn failure(code: HostErrorCode, message: impl Into<String>) -> HostError {
    HostError::new(code, message)
}

/// Headers that belong to the connection or the message framing, which the HTTP client sets
/// itself: a script setting them could address another virtual host than the URL names
/// (`Host`), smuggle a second request through the framing, or talk to a proxy.
const FORBIDDEN_HEADERS: [&str; 8] = [
    "host",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "te",
    "trailer",
    "upgrade",
];

/// Whether a script may not set this header: one of [`FORBIDDEN_HEADERS`] or any `Proxy-*`.
pub fn is_forbidden_header(name: &HeaderName) -> bool {
    let name = name.as_str();
    FORBIDDEN_HEADERS.contains(&name) || name.starts_with("proxy-")
}

/// A writer that refuses to hold more than `max` bytes.
struct Capped {
    bytes: Vec<u8>,
    max: usize,
}

impl Write for Capped {
    fn write(&mut self, piece: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + piece.len() > self.max {
            return Err(std::io::Error::other("over the limit"));
        }
        self.bytes.extend_from_slice(piece);
        Ok(piece.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl RequestLimits {
    /// The body as it will be sent; JSON is encoded into a buffer that stops at the limit.
    pub(super) fn body(&self, value: &Value) -> Result<Body, HostError> {
        let max = self.max_body_bytes;
        let too_large = || {
            failure(
                HostErrorCode::RequestTooLarge,
                format!("the request body is larger than {max} bytes"),
            )
        };
        match value {
            Value::Null => Ok(Body::Empty),
            Value::String(text) if text.len() > max => Err(too_large()),
            Value::String(text) => Ok(Body::Text(text.clone())),
            other => {
                let mut out = Capped {
                    bytes: Vec::new(),
                    max,
                };
                serde_json::to_writer(&mut out, other).map_err(|_| too_large())?;
                Ok(Body::Json(out.bytes))
            }
        }
    }

    /// The headers the script set, within the count and size limits, each a valid HTTP header
    /// and none that only the client may set (see [`is_forbidden_header`]).
    pub(super) fn headers(
        &self,
        given: Option<&Map<String, Value>>,
    ) -> Result<HeaderMap, HostError> {
        let Some(given) = given else {
            return Ok(HeaderMap::new());
        };
        if given.len() > self.max_headers {
            return Err(failure(
                HostErrorCode::HeadersTooLarge,
                format!("the request has more than {} headers", self.max_headers),
            ));
        }
        let mut total = 0usize;
        let mut headers = HeaderMap::with_capacity(given.len());
        for (name, value) in given {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            total += name.len() + value.len();
            if total > self.max_header_bytes {
                return Err(failure(
                    HostErrorCode::HeadersTooLarge,
                    format!(
                        "the request headers are larger than {} bytes",
                        self.max_header_bytes
                    ),
                ));
            }
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                failure(
                    HostErrorCode::InvalidRequest,
                    format!("{name:?} is not a valid header name"),
                )
            })?;
            if is_forbidden_header(&name) {
                return Err(failure(
                    HostErrorCode::ForbiddenHeader,
                    format!("scripts may not set the {name} header: the HTTP client sets it"),
                ));
            }
            let value = HeaderValue::from_str(&value).map_err(|_| {
                failure(
                    HostErrorCode::InvalidRequest,
                    format!("the value of the {name} header is not valid"),
                )
            })?;
            headers.append(name, value);
        }
        Ok(headers)
    }

    /// Refuses a URL (with its query) longer than the limit.
    pub(super) fn url(&self, url: &Url) -> Result<(), HostError> {
        if url.as_str().len() > self.max_url_bytes {
            return Err(failure(
                HostErrorCode::UrlTooLong,
                format!("the URL is longer than {} bytes", self.max_url_bytes),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn small() -> RequestLimits {
        RequestLimits {
            max_body_bytes: 10,
            max_headers: 2,
            max_header_bytes: 12,
            max_url_bytes: 30,
        }
    }

    #[test]
    fn bodies_are_refused_past_the_limit() {
        let cases = [
            (json!(null), None),
            (json!("0123456789"), None),
            (json!("0123456789a"), Some("REQUEST_TOO_LARGE")),
            (json!({"a": 1234}), None),
            (
                json!({"a": "much longer than ten"}),
                Some("REQUEST_TOO_LARGE"),
            ),
            (json!([1, 2, 3, 4, 5, 6]), Some("REQUEST_TOO_LARGE")),
        ];
        for (body, refused) in cases {
            let code = small().body(&body).err().map(|e| e.code.to_string());
            assert_eq!(code.as_deref(), refused, "{body}");
        }
    }

    #[test]
    fn headers_are_refused_past_their_count_or_size() {
        let cases = [
            (json!({}), None),
            (json!({"a": "1", "b": "2"}), None),
            (
                json!({"a": "1", "b": "2", "c": "3"}),
                Some("HEADERS_TOO_LARGE"),
            ),
            (json!({"name": "12345678"}), None),
            (json!({"name": "123456789"}), Some("HEADERS_TOO_LARGE")),
        ];
        for (headers, refused) in cases {
            let code = small()
                .headers(headers.as_object())
                .err()
                .map(|e| e.code.to_string());
            assert_eq!(code.as_deref(), refused, "{headers}");
        }
    }

    #[test]
    fn connection_level_and_invalid_headers_are_refused() {
        let limits = RequestLimits::default();
        let cases = [
            ("x-trace", "1", None),
            ("Authorization", "Bearer t", None),
            ("Cookie", "a=b", None),
            ("Content-Type", "text/plain", None),
            ("Host", "evil.example", Some("FORBIDDEN_HEADER")),
            ("hOsT", "evil.example", Some("FORBIDDEN_HEADER")),
            ("Connection", "close", Some("FORBIDDEN_HEADER")),
            ("Keep-Alive", "timeout=5", Some("FORBIDDEN_HEADER")),
            ("Transfer-Encoding", "chunked", Some("FORBIDDEN_HEADER")),
            ("Content-Length", "0", Some("FORBIDDEN_HEADER")),
            ("TE", "trailers", Some("FORBIDDEN_HEADER")),
            ("Trailer", "x", Some("FORBIDDEN_HEADER")),
            ("Upgrade", "websocket", Some("FORBIDDEN_HEADER")),
            ("Proxy-Authorization", "Basic x", Some("FORBIDDEN_HEADER")),
            ("Proxy-Connection", "keep-alive", Some("FORBIDDEN_HEADER")),
            ("proxy-anything", "x", Some("FORBIDDEN_HEADER")),
            ("Host ", "evil.example", Some("INVALID_REQUEST")),
            (":authority", "evil.example", Some("INVALID_REQUEST")),
            ("x-a\r\nHost", "evil.example", Some("INVALID_REQUEST")),
            ("", "x", Some("INVALID_REQUEST")),
            ("x-a", "b\r\nHost: evil.example", Some("INVALID_REQUEST")),
        ];
        for (name, value, refused) in cases {
            let given = json!({ name: value });
            let code = limits
                .headers(given.as_object())
                .err()
                .map(|e| e.code.to_string());
            assert_eq!(code.as_deref(), refused, "{name:?}: {value:?}");
        }
    }

    #[test]
    fn long_urls_are_refused() {
        let cases = [
            ("http://example.com/", None),
            ("http://example.com/0123456789ab", Some("URL_TOO_LONG")),
        ];
        for (url, refused) in cases {
            let code = small()
                .url(&Url::parse(url).unwrap())
                .err()
                .map(|e| e.code.to_string());
            assert_eq!(code.as_deref(), refused, "{url}");
        }
    }
}
