//! How `sdk.http` follows a redirect, as browsers do (the Fetch standard's "HTTP-redirect
//! fetch"): only 301, 302, 303, 307 and 308 are followed; 303 (and 301/302 after a POST) turns
//! the request into a GET without a body; 307/308 keep the method and the body; and the
//! script's credentials never cross to another origin.

use super::http_request::Body;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use url::Url;

/// Headers that carry credentials: dropped for good once a redirect leaves the origin they
/// were sent to (scheme, host or port differs), as browsers and curl do.
const CREDENTIALS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// Headers that describe the body: dropped with it (Fetch's "request-body-header names").
const BODY_HEADERS: [&str; 4] = [
    "content-type",
    "content-encoding",
    "content-language",
    "content-location",
];

/// One hop of a script's request: what is sent, and where.
pub(super) struct Hop {
    pub method: Method,
    pub url: Url,
    pub body: Body,
    pub headers: HeaderMap,
}

/// Whether a response with this status is followed; any other (300, 304, 305, …) is the answer.
pub(super) fn is_followed(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

impl Hop {
    /// Turns this hop into the next one, after a redirect with `status` to `next`.
    pub(super) fn redirect(&mut self, status: StatusCode, next: Url) {
        let status = status.as_u16();
        let to_get = match status {
            303 => self.method != Method::HEAD,
            301 | 302 => self.method == Method::POST,
            _ => false,
        };
        if to_get {
            self.method = Method::GET;
        }
        if to_get || status == 303 {
            self.body = Body::Empty;
            for name in BODY_HEADERS {
                self.headers.remove(name);
            }
        }
        if self.url.origin() != next.origin() {
            for name in CREDENTIALS {
                self.headers.remove(name);
            }
        }
        self.url = next;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use reqwest::header::{self, HeaderName, HeaderValue};

    fn hop(method: Method, url: &str) -> Hop {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("authorization", "Bearer t"),
            ("cookie", "a=b"),
            ("proxy-authorization", "Basic x"),
            ("content-type", "text/plain"),
            ("x-trace", "1"),
        ] {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        Hop {
            method,
            url: Url::parse(url).unwrap(),
            body: Body::Text("body".into()),
            headers,
        }
    }

    #[test]
    fn methods_and_bodies_change_as_in_browsers() {
        // (method, status, method after, body kept)
        let cases = [
            (Method::GET, 301, Method::GET, true),
            (Method::POST, 301, Method::GET, false),
            (Method::POST, 302, Method::GET, false),
            (Method::PUT, 302, Method::PUT, true),
            (Method::DELETE, 301, Method::DELETE, true),
            (Method::POST, 303, Method::GET, false),
            (Method::PUT, 303, Method::GET, false),
            (Method::GET, 303, Method::GET, false),
            (Method::HEAD, 303, Method::HEAD, false),
            (Method::POST, 307, Method::POST, true),
            (Method::PATCH, 308, Method::PATCH, true),
        ];
        for (method, status, after, kept) in cases {
            let mut hop = hop(method.clone(), "https://a.example/");
            let next = Url::parse("https://a.example/next").unwrap();
            hop.redirect(StatusCode::from_u16(status).unwrap(), next);
            assert_eq!(hop.method, after, "{method} {status}");
            assert_eq!(!matches!(hop.body, Body::Empty), kept, "{method} {status}");
            let typed = hop.headers.contains_key(header::CONTENT_TYPE);
            assert_eq!(typed, kept, "{method} {status}: content-type");
            assert!(
                hop.headers.contains_key(header::AUTHORIZATION),
                "same origin"
            );
        }
    }

    #[test]
    fn credentials_stay_within_their_origin() {
        // (from, to, same origin)
        let cases = [
            ("https://a.example/x", "https://a.example/y?z", true),
            ("https://a.example/", "https://A.EXAMPLE:443/", true),
            ("http://a.example/", "http://a.example:80/", true),
            ("https://a.example/", "http://a.example/", false),
            ("https://a.example/", "https://a.example:8443/", false),
            ("https://a.example/", "https://b.example/", false),
            ("https://a.example/", "https://sub.a.example/", false),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8081/", false),
            ("http://127.0.0.1/", "http://localhost/", false),
        ];
        for status in [301, 302, 303, 307, 308] {
            for (from, to, same) in cases {
                let mut hop = hop(Method::POST, from);
                hop.redirect(
                    StatusCode::from_u16(status).unwrap(),
                    Url::parse(to).unwrap(),
                );
                for name in CREDENTIALS {
                    let kept = hop.headers.contains_key(name);
                    assert_eq!(kept, same, "{status} {from} → {to}: {name}");
                }
                assert!(hop.headers.contains_key("x-trace"), "{from} → {to}");
                assert_eq!(hop.url.as_str(), Url::parse(to).unwrap().as_str());
            }
        }
    }

    #[test]
    fn only_redirect_statuses_are_followed() {
        for (status, followed) in [
            (200, false),
            (300, false),
            (301, true),
            (302, true),
            (303, true),
            (304, false),
            (305, false),
            (306, false),
            (307, true),
            (308, true),
            (404, false),
        ] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(is_followed(status), followed, "{status}");
        }
    }
}
