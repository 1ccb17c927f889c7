//! `sdk.http` against real servers on 127.0.0.1: allowed targets work, every forbidden address
//! form is refused with `SSRF_BLOCKED`, and so are redirects and names that lead to them; an
//! HTTPS server's certificate is checked (`openssl` plays the server).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use services::sdk::http::HttpGateway;
use std::time::{Duration, Instant};
use support::{gateway, later, serve};

async fn get(gateway: &HttpGateway, url: &str) -> Result<Value, runtime::HostError> {
    gateway
        .request(&json!(["GET", url, null, null]), later())
        .await
}

#[tokio::test]
async fn allowed_targets_answer_with_status_headers_and_parsed_json() {
    let allowed = serve().await.port;
    let gateway = gateway(&[allowed]);
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
    let allowed = serve().await.port;
    let forbidden = serve().await.port;
    let gateway = gateway(&[allowed]);
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
        // Regression: embedded and tunnelled forms that used to get through.
        format!("http://[::ffff:0:127.0.0.1]:{forbidden}/json"),
        format!("http://[64:ff9b:1::7f00:1]:{forbidden}/json"),
        format!("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{forbidden}/json"),
        "http://[::ffff:0:a9fe:a9fe]/latest/meta-data/".to_owned(),
        "http://[3fff::1]/".to_owned(),
        "http://[5f00::1]/".to_owned(),
        "http://168.63.129.16/machine?comp=goalstate".to_owned(),
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
    let allowed = serve().await.port;
    let gateway = gateway(&[allowed]);
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
    let allowed = serve().await.port;
    let forbidden = serve().await.port;
    let gateway = gateway(&[allowed]);
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

#[tokio::test]
async fn connection_level_headers_are_refused_before_anything_is_resolved() {
    // Regression: a script-set `Host` reached the server as given.
    let allowed = serve().await;
    let forbidden = serve().await.port;
    let gateway = gateway(&[allowed.port]);
    let names = [
        "Host",
        "host",
        "HOST",
        "Connection",
        "Transfer-Encoding",
        "content-length",
        "Upgrade",
        "TE",
        "Trailer",
        "Keep-Alive",
        "Proxy-Authorization",
        "proxy-connection",
        "Proxy-Anything",
    ];
    for name in names {
        for target in [
            allowed.url("/echo"),
            format!("http://127.0.0.1:{forbidden}/echo"),
        ] {
            let args = json!(["POST", target, "body", {"headers": {name: "evil.example"}}]);
            let error = gateway.request(&args, later()).await.unwrap_err();
            assert_eq!(
                error.code, "FORBIDDEN_HEADER",
                "{name} to {target}: {error}"
            );
        }
    }
    let bad_names = ["bad name", "x-a\r\nhost", ":authority", ""];
    for name in bad_names {
        let args = json!(["GET", allowed.url("/echo"), null, {"headers": {name: "v"}}]);
        let error = gateway.request(&args, later()).await.unwrap_err();
        assert_eq!(error.code, "INVALID_REQUEST", "{name:?}: {error}");
    }
    let args = json!(["GET", allowed.url("/echo"), null, {"headers": {"x-a": "v\r\nhost: evil"}}]);
    let error = gateway.request(&args, later()).await.unwrap_err();
    assert_eq!(error.code, "INVALID_REQUEST", "{error}");
    assert!(allowed.seen().is_empty(), "nothing was sent");
    assert_eq!(
        gateway.blocked_count(),
        0,
        "nothing reached the address check"
    );
    // Ordinary headers still go out as given.
    let args = json!(["GET", allowed.url("/record"), null, {"headers": {"X-Trace": "1", "Accept": "text/plain"}}]);
    gateway.request(&args, later()).await.unwrap();
    let seen = allowed.seen();
    assert_eq!(seen[0].header("x-trace"), Some("1"));
    assert_eq!(seen[0].header("accept"), Some("text/plain"));
    assert_eq!(
        seen[0].header("host"),
        Some(format!("127.0.0.1:{}", allowed.port).as_str())
    );
}

/// A TLS server on 127.0.0.1 with a certificate no root vouches for (`openssl s_server`),
/// and its port; the process ends with the returned guard.
struct TlsServer {
    child: std::process::Child,
    port: u16,
    files: std::path::PathBuf,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.files);
    }
}

fn self_signed_tls_server() -> TlsServer {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = std::env::temp_dir().join(format!("iota-tls-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args([
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args([
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-days",
            "1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(made.success(), "openssl made a certificate");
    let mut child = Command::new("openssl")
        .args(["s_server", "-accept", "127.0.0.1:0", "-www", "-cert"])
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("ACCEPT 127.0.0.1:")?.trim().parse().ok())
        .expect("s_server says where it listens");
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    TlsServer {
        child,
        port,
        files: dir,
    }
}

/// The TLS configuration every request shares still checks the server's certificate.
#[tokio::test]
async fn an_https_server_with_an_unknown_certificate_is_refused() {
    let server = self_signed_tls_server();
    let gateway = gateway(&[server.port]);
    let url = format!("https://127.0.0.1:{}/", server.port);
    for _ in 0..2 {
        let refused = get(&gateway, &url).await.unwrap_err();
        assert_eq!(refused.code, runtime::HostErrorCode::HttpError);
        assert!(
            refused.message.contains("certificate") || refused.message.contains("UnknownIssuer"),
            "{}",
            refused.message
        );
    }
}
