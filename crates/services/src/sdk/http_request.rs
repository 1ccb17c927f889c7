//! The bounds of what a script sends through `sdk.http`: the URL, the headers and the body are
//! checked and encoded before any address is resolved or any connection made, so that a huge
//! body or ten thousand headers end in a clean error instead of a large allocation.

use runtime::HostError;
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

fn failure(code: &str, message: impl Into<String>) -> HostError {
    HostError::new(code, message)
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
                "REQUEST_TOO_LARGE",
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

    /// The headers the script set, as text, within the count and size limits.
    pub(super) fn headers(
        &self,
        given: Option<&Map<String, Value>>,
    ) -> Result<Vec<(String, String)>, HostError> {
        let Some(given) = given else {
            return Ok(Vec::new());
        };
        if given.len() > self.max_headers {
            return Err(failure(
                "HEADERS_TOO_LARGE",
                format!("the request has more than {} headers", self.max_headers),
            ));
        }
        let mut total = 0usize;
        let mut headers = Vec::with_capacity(given.len());
        for (name, value) in given {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            total += name.len() + value.len();
            if total > self.max_header_bytes {
                return Err(failure(
                    "HEADERS_TOO_LARGE",
                    format!(
                        "the request headers are larger than {} bytes",
                        self.max_header_bytes
                    ),
                ));
            }
            headers.push((name.clone(), value));
        }
        Ok(headers)
    }

    /// Refuses a URL (with its query) longer than the limit.
    pub(super) fn url(&self, url: &Url) -> Result<(), HostError> {
        if url.as_str().len() > self.max_url_bytes {
            return Err(failure(
                "URL_TOO_LONG",
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
            let code = small().body(&body).err().map(|e| e.code);
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
            let code = small().headers(headers.as_object()).err().map(|e| e.code);
            assert_eq!(code.as_deref(), refused, "{headers}");
        }
    }

    #[test]
    fn long_urls_are_refused() {
        let cases = [
            ("http://example.com/", None),
            ("http://example.com/0123456789ab", Some("URL_TOO_LONG")),
        ];
        for (url, refused) in cases {
            let code = small().url(&Url::parse(url).unwrap()).err().map(|e| e.code);
            assert_eq!(code.as_deref(), refused, "{url}");
        }
    }
}
