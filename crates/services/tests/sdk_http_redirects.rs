//! Redirects followed by `sdk.http`, against real servers on 127.0.0.1: a hop to another origin
//! never carries the script's credentials, and methods and bodies change as in browsers.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{Seen, TestServer, gateway, later, serve};

const CREDENTIALS: [&str; 2] = ["authorization", "cookie"];

/// What the final server must have received.
struct Expected {
    method: &'static str,
    body: &'static str,
    credentials: bool,
}

struct Case {
    method: &'static str,
    status: u16,
    cross_origin: bool,
    expected: Expected,
}

const fn case(
    method: &'static str,
    status: u16,
    cross_origin: bool,
    expected: (&'static str, &'static str, bool),
) -> Case {
    Case {
        method,
        status,
        cross_origin,
        expected: Expected {
            method: expected.0,
            body: expected.1,
            credentials: expected.2,
        },
    }
}

/// Sends `method` (with a body unless it is a GET), credentials and a custom header to `first`, which redirects.
async fn send(first: &TestServer, method: &str, status: u16, to: &str) -> Value {
    let gateway = gateway(&[first.port, port_of(to)]);
    let mut headers = json!({
        "Authorization": "Bearer secret-token",
        "Cookie": "session=secret",
        "X-Trace": "kept",
    });
    let body = if method == "GET" {
        Value::Null
    } else {
        headers["Content-Type"] = json!("text/plain");
        json!("the body")
    };
    let url = first.url(&format!("/redirect/{status}?to={to}"));
    let args = json!([method, url, body, { "headers": headers }]);
    gateway.request(&args, later()).await.unwrap()
}

fn port_of(url: &str) -> u16 {
    url::Url::parse(url).unwrap().port().unwrap()
}

fn last_recorded(server: &TestServer) -> Seen {
    let seen = server.seen();
    seen.into_iter()
        .rev()
        .find(|s| s.target == "/record")
        .expect("the redirect reached /record")
}

#[tokio::test]
async fn redirects_drop_credentials_across_origins_and_change_methods_like_browsers() {
    // Regression: a redirect to another origin re-sent Authorization and Cookie.
    let cases = [
        // 301/302 turn a POST into a GET without a body; other methods stay.
        case("GET", 302, true, ("GET", "", false)),
        case("POST", 301, true, ("GET", "", false)),
        case("POST", 302, true, ("GET", "", false)),
        case("PUT", 302, true, ("PUT", "the body", false)),
        // 303 always turns into a GET without a body.
        case("PUT", 303, true, ("GET", "", false)),
        case("DELETE", 303, false, ("GET", "", true)),
        // 307/308 keep the method and the body, never the credentials of another origin.
        case("POST", 307, true, ("POST", "the body", false)),
        case("PATCH", 308, true, ("PATCH", "the body", false)),
        // Within one origin the credentials stay.
        case("GET", 302, false, ("GET", "", true)),
        case("POST", 307, false, ("POST", "the body", true)),
        case("POST", 303, false, ("GET", "", true)),
    ];
    for case in cases {
        let first = serve().await;
        let second = serve().await;
        let target = if case.cross_origin { &second } else { &first };
        let response = send(&first, case.method, case.status, &target.url("/record")).await;
        assert_eq!(response["body"], "recorded");
        let seen = last_recorded(target);
        let what = format!(
            "{} {} (cross-origin: {})",
            case.method, case.status, case.cross_origin
        );
        let expected = &case.expected;
        assert_eq!(seen.method, expected.method, "{what}");
        assert_eq!(seen.body, expected.body, "{what}");
        for name in CREDENTIALS {
            assert_eq!(
                seen.header(name).is_some(),
                expected.credentials,
                "{what}: {name}"
            );
        }
        assert_eq!(seen.header("x-trace"), Some("kept"), "{what}");
        let typed = seen.header("content-type").is_some();
        assert_eq!(typed, !expected.body.is_empty(), "{what}: content-type");
    }
}

#[tokio::test]
async fn credentials_dropped_on_one_hop_do_not_come_back() {
    let first = serve().await;
    let second = serve().await;
    // first → second → first again: the last hop is back at the first origin, yet the
    // credentials were dropped when the request left it.
    let back = first.url("/record");
    let via_second = second.url(&format!("/redirect/307?to={back}"));
    let response = send(&first, "POST", 307, &via_second).await;
    assert_eq!(response["body"], "recorded");
    let seen = last_recorded(&first);
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.body, "the body");
    for name in CREDENTIALS {
        assert_eq!(seen.header(name), None, "{name}");
    }
    assert_eq!(first.seen().len(), 2, "the redirect and the final request");
    let hop = &second.seen()[0];
    assert_eq!(hop.header("authorization"), None);
}

#[tokio::test]
async fn statuses_that_are_not_redirects_are_returned_as_they_are() {
    let first = serve().await;
    let second = serve().await;
    let gateway = gateway(&[first.port, second.port]);
    for status in [300, 304, 305] {
        let url = first.url(&format!("/redirect/{status}?to={}", second.url("/record")));
        let response = gateway
            .request(&json!(["GET", url, null, null]), later())
            .await
            .unwrap();
        assert_eq!(response["status"], status);
    }
    assert!(second.seen().is_empty(), "no status above was followed");
}
