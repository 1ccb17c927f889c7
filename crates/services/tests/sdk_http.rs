//! `sdk.http` against real servers on 127.0.0.1: allowed targets work, every forbidden address
//! form is refused with `SSRF_BLOCKED`, and so are redirects and names that lead to them.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use serde_json::{Value, json};
use services::sdk::http::{HttpGateway, HttpSettings};
use services::sdk::http_policy::{AddressPolicy, AllowRule};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A small HTTP server: `/json`, `/echo` (the request body back), `/big`, `/slow`,
/// `/redirect?to=URL`. Returns its port.
async fn serve() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap_or(0))
                    })
                    .unwrap_or(0);
                while buffer.len() < head_end + length {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                }
                let body = String::from_utf8_lossy(&buffer[head_end..]).to_string();
                let target = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (status, headers, reply) = if target.starts_with("/json") {
                    (
                        "200 OK",
                        "content-type: application/json\r\nx-test: yes\r\n".to_owned(),
                        json!({"ok": true, "target": target}).to_string(),
                    )
                } else if target.starts_with("/echo") {
                    (
                        "200 OK",
                        "content-type: text/plain\r\n".to_owned(),
                        format!("{} {body}", head.lines().next().unwrap_or("")),
                    )
                } else if target.starts_with("/big") {
                    ("200 OK", String::new(), "x".repeat(64 * 1024))
                } else if target.starts_with("/slow") {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    ("200 OK", String::new(), String::new())
                } else if let Some(to) = target.strip_prefix("/redirect?to=") {
                    ("302 Found", format!("location: {to}\r\n"), String::new())
                } else {
                    ("404 Not Found", String::new(), String::new())
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{reply}",
                    reply.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    port
}

fn gateway(allowed_port: u16) -> HttpGateway {
    let rules = vec![AllowRule::HostPort("127.0.0.1".into(), allowed_port)];
    HttpGateway::new(HttpSettings {
        policy: AddressPolicy::new(rules),
        max_response_bytes: 16 * 1024,
        ..HttpSettings::default()
    })
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

async fn get(gateway: &HttpGateway, url: &str) -> Result<Value, runtime::HostError> {
    gateway
        .request(&json!(["GET", url, null, null]), later())
        .await
}

#[tokio::test]
async fn allowed_targets_answer_with_status_headers_and_parsed_json() {
    let allowed = serve().await;
    let gateway = gateway(allowed);
    let response = gateway
        .request(&json!(["GET", format!("http://127.0.0.1:{allowed}/json"), null, {"query": {"q": "a b", "n": 2}}]), later())
        .await
        .unwrap();
    assert_eq!(response["status"], 200);
    assert_eq!(response["headers"]["x-test"], "yes");
    assert_eq!(response["body"]["ok"], true);
    assert_eq!(response["body"]["target"], "/json?n=2&q=a+b");
    let echoed = gateway
        .request(
            &json!(["POST", format!("http://127.0.0.1:{allowed}/echo"), {"a": 1}, null]),
            later(),
        )
        .await
        .unwrap();
    assert_eq!(echoed["body"], "POST /echo HTTP/1.1 {\"a\":1}");
    let missing = get(&gateway, &format!("http://127.0.0.1:{allowed}/nothing"))
        .await
        .unwrap();
    assert_eq!(
        missing["status"], 404,
        "HTTP errors are responses, not failures"
    );
    let local_redirect = format!("http://127.0.0.1:{allowed}/redirect?to=/json");
    assert_eq!(
        get(&gateway, &local_redirect).await.unwrap()["body"]["ok"],
        true
    );
}

#[tokio::test]
async fn every_forbidden_address_form_is_refused() {
    let allowed = serve().await;
    let forbidden = serve().await;
    let gateway = gateway(allowed);
    let targets = [
        format!("http://127.0.0.1:{forbidden}/json"),
        format!("http://2130706433:{forbidden}/json"),
        format!("http://0177.0.0.1:{forbidden}/json"),
        format!("http://0x7f.0.0.1:{forbidden}/json"),
        format!("http://127.1:{forbidden}/json"),
        format!("http://[::1]:{forbidden}/json"),
        format!("http://[::ffff:127.0.0.1]:{forbidden}/json"),
        format!("http://[::ffff:7f00:1]:{forbidden}/json"),
        format!("http://0.0.0.0:{forbidden}/json"),
        format!("http://localhost:{forbidden}/json"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[fd00:ec2::254]/latest/meta-data/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        "http://172.16.5.4/".to_owned(),
        "http://192.168.0.1/".to_owned(),
        "http://100.64.0.1/".to_owned(),
        "http://[fe80::1]/".to_owned(),
        "http://[fc00::1]/".to_owned(),
        "http://224.0.0.1/".to_owned(),
        "http://[ff02::1]/".to_owned(),
        "http://[::]/".to_owned(),
        format!("http://127.0.0.1:{allowed}/redirect?to=http://127.0.0.1:{forbidden}/json"),
        format!("http://127.0.0.1:{allowed}/redirect?to=http://169.254.169.254/"),
        format!("http://127.0.0.1:{allowed}/redirect?to=http://localhost:{forbidden}/json"),
    ];
    for target in &targets {
        let error = get(&gateway, target).await.expect_err(target);
        assert_eq!(error.code, "SSRF_BLOCKED", "{target}: {error}");
    }
    assert_eq!(gateway.blocked_count(), targets.len() as u64);
    let error = get(&gateway, "file:///etc/passwd").await.unwrap_err();
    assert_eq!(error.code, "INVALID_URL");
    let error = get(
        &gateway,
        &format!("http://127.0.0.1:{allowed}/redirect?to=file:///etc/passwd"),
    )
    .await
    .unwrap_err();
    assert_eq!(error.code, "SSRF_BLOCKED");
}

#[tokio::test]
async fn responses_are_capped_and_time_is_bounded() {
    let allowed = serve().await;
    let gateway = gateway(allowed);
    let error = get(&gateway, &format!("http://127.0.0.1:{allowed}/big"))
        .await
        .unwrap_err();
    assert_eq!(error.code, "RESPONSE_TOO_LARGE");
    let slow = json!(["GET", format!("http://127.0.0.1:{allowed}/slow"), null, {"timeout": 200}]);
    assert_eq!(
        gateway.request(&slow, later()).await.unwrap_err().code,
        "TIMEOUT"
    );
    // The execution's own deadline caps the request even without a timeout option.
    let slow = json!([
        "GET",
        format!("http://127.0.0.1:{allowed}/slow"),
        null,
        null
    ]);
    assert_eq!(
        gateway
            .request(&slow, Instant::now() + Duration::from_millis(200))
            .await
            .unwrap_err()
            .code,
        "TIMEOUT"
    );
}

#[tokio::test]
async fn oversized_requests_are_refused_before_anything_is_sent() {
    let allowed = serve().await;
    let forbidden = serve().await;
    let gateway = gateway(allowed);
    let many_headers: serde_json::Map<String, Value> = (0..10_000)
        .map(|i| (format!("x-h{i}"), json!("v")))
        .collect();
    let huge = "x".repeat(100 * 1024 * 1024);
    // The target is forbidden: a request that got as far as the address check would be
    // SSRF_BLOCKED, so each code shows the request was refused before that.
    let target = format!("http://127.0.0.1:{forbidden}/echo");
    let cases = [
        (json!(["POST", target, huge, null]), "REQUEST_TOO_LARGE"),
        (
            json!(["POST", target, [huge.as_str(), huge.as_str()], null]),
            "REQUEST_TOO_LARGE",
        ),
        (
            json!(["GET", target, null, {"headers": many_headers}]),
            "HEADERS_TOO_LARGE",
        ),
        (
            json!(["GET", target, null, {"headers": {"x-big": "v".repeat(64 * 1024)}}]),
            "HEADERS_TOO_LARGE",
        ),
        (
            json!(["GET", target, null, {"query": {"q": "q".repeat(64 * 1024)}}]),
            "URL_TOO_LONG",
        ),
    ];
    for (args, code) in cases {
        let error = gateway.request(&args, later()).await.unwrap_err();
        assert_eq!(error.code, code, "{error}");
    }
    assert_eq!(
        gateway.blocked_count(),
        0,
        "nothing reached the address check"
    );
    // Within the limits, a JSON body still goes out as JSON.
    let echoed = gateway
        .request(
            &json!(["POST", format!("http://127.0.0.1:{allowed}/echo"), [1, 2], {"headers": {"x-a": "b"}}]),
            later(),
        )
        .await
        .unwrap();
    assert_eq!(echoed["body"], "POST /echo HTTP/1.1 [1,2]");
}
