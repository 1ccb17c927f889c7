//! A small HTTP/1.1 server on 127.0.0.1 for the `sdk.http` tests: it answers a few fixed
//! routes, redirects with any status, and records what each request carried.

#![allow(clippy::expect_used, clippy::unwrap_used, dead_code)]

use serde_json::json;
use services::sdk::http::{HttpGateway, HttpSettings};
use services::sdk::http_policy::{AddressPolicy, AllowRule};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub target: String,
    /// Header names in lower case, in the order they came.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A running server: its port and every request it received.
#[derive(Clone)]
pub struct TestServer {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The requests received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Starts a server with the routes `/json`, `/echo` (the request line and body back), `/big`,
/// `/slow`, `/record`, `/redirect?to=URL` (302) and `/redirect/STATUS?to=URL`.
pub async fn serve() -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = TestServer {
        port: listener.local_addr().unwrap().port(),
        seen: Arc::default(),
    };
    let seen = server.seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(answer(socket, seen.clone()));
        }
    });
    server
}

async fn read_request(socket: &mut TcpStream) -> Option<Seen> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let mut words = request_line.split_whitespace();
    let method = words.next().unwrap_or_default().to_owned();
    let target = words.next().unwrap_or("/").to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = socket.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buffer[head_end..]).to_string();
    Some(Seen {
        method,
        target,
        headers,
        body,
    })
}

async fn answer(mut socket: TcpStream, seen: Arc<Mutex<Vec<Seen>>>) {
    let Some(request) = read_request(&mut socket).await else {
        return;
    };
    seen.lock().unwrap().push(request.clone());
    let target = request.target.as_str();
    let redirect = target
        .strip_prefix("/redirect?to=")
        .map(|to| ("302", to))
        .or_else(|| {
            let rest = target.strip_prefix("/redirect/")?;
            let (status, to) = rest.split_once("?to=")?;
            Some((status, to))
        });
    let (status, headers, reply) = if target.starts_with("/json") {
        (
            "200 OK".to_owned(),
            "content-type: application/json\r\nx-test: yes\r\n".to_owned(),
            json!({"ok": true, "target": target}).to_string(),
        )
    } else if target.starts_with("/echo") {
        (
            "200 OK".to_owned(),
            "content-type: text/plain\r\n".to_owned(),
            format!("{} {} HTTP/1.1 {}", request.method, target, request.body),
        )
    } else if target.starts_with("/big") {
        ("200 OK".to_owned(), String::new(), "x".repeat(64 * 1024))
    } else if target.starts_with("/slow") {
        tokio::time::sleep(Duration::from_secs(10)).await;
        ("200 OK".to_owned(), String::new(), String::new())
    } else if target.starts_with("/record") {
        ("200 OK".to_owned(), String::new(), "recorded".to_owned())
    } else if let Some((status, to)) = redirect {
        (
            format!("{status} Redirect"),
            format!("location: {to}\r\n"),
            String::new(),
        )
    } else {
        ("404 Not Found".to_owned(), String::new(), String::new())
    };
    let response = format!(
        "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{reply}",
        reply.len()
    );
    let _ = socket.write_all(response.as_bytes()).await;
}

/// A gateway whose allow list lets requests reach 127.0.0.1 on these ports only.
pub fn gateway(allowed_ports: &[u16]) -> HttpGateway {
    let rules = allowed_ports
        .iter()
        .map(|port| AllowRule::HostPort("127.0.0.1".into(), *port))
        .collect();
    HttpGateway::new(HttpSettings {
        policy: AddressPolicy::new(rules),
        max_response_bytes: 16 * 1024,
        ..HttpSettings::default()
    })
}

pub fn later() -> Instant {
    Instant::now() + Duration::from_secs(30)
}
