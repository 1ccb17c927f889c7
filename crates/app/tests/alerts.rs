//! Failure alerts end to end on SQLite and PostgreSQL: an alert email reaches a real SMTP
//! server listening on 127.0.0.1, once per throttle window however many runs fail, and the
//! first success after it sends "recovered" naming the alerts held back; a dead letter alerts
//! the webhook (through the `sdk.http` address policy) even when failures alone would not.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{TestApp, parts, spawn_app_with};
use testkit::each_backend;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// The messages a minimal SMTP server received: (recipients, data).
type Inbox = Arc<Mutex<Vec<(Vec<String>, String)>>>;

/// Speaks enough SMTP for one client at a time: greeting, EHLO, MAIL, RCPT, DATA, RSET, NOOP
/// and QUIT, keeping each message it is given.
async fn smtp_server() -> (u16, Inbox) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox: Inbox = Arc::default();
    let kept = inbox.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 test ESMTP\r\n").await.unwrap();
                let mut recipients = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250 test\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        recipients.push(line[8..].trim().to_owned());
                        b"250 OK\r\n"
                    } else if upper.starts_with("DATA") {
                        write.write_all(b"354 go on\r\n").await.unwrap();
                        let mut data = String::new();
                        while let Ok(Some(line)) = lines.next_line().await {
                            if line == "." {
                                break;
                            }
                            data.push_str(&line);
                            data.push('\n');
                        }
                        // Undo quoted-printable's soft line breaks.
                        let data = data.replace("=\n", "");
                        kept.lock()
                            .unwrap()
                            .push((std::mem::take(&mut recipients), data));
                        b"250 queued\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 OK\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, inbox)
}

async fn enqueue(app: &TestApp, script: &str, fail: bool) {
    let path = format!("/api/v1/scripts/{script}/execute");
    let body = json!({ "mode": "async", "input": { "fail": fail } });
    let (status, queued) = parts(app.post(&path, &app.admin, &body).await).await;
    assert_eq!(status, 202, "{queued}");
}

/// Polls until `script` has `count` executions in a final status.
async fn finished(app: &TestApp, script: &str, count: usize) -> Vec<Value> {
    let path = format!("/api/v1/scripts/{script}/executions?limit=100");
    for _ in 0..600 {
        let (_, page) = parts(app.get(&path, &app.admin).await).await;
        let items = page["items"].as_array().unwrap().clone();
        let done = items
            .iter()
            .filter(|e| !["pending", "running"].contains(&e["status"].as_str().unwrap()))
            .count();
        if done >= count {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{script} did not finish {count} runs");
}

/// Waits until the inbox holds `count` messages (and a little longer, to see no more come).
async fn messages(inbox: &Inbox, count: usize) -> Vec<(Vec<String>, String)> {
    for _ in 0..400 {
        if inbox.lock().unwrap().len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    inbox.lock().unwrap().clone()
}

#[tokio::test]
async fn an_alert_email_arrives_once_per_window_then_recovered() {
    each_backend(|db| async move {
        let (port, inbox) = smtp_server().await;
        let app = spawn_app_with(&db, |s| {
            s.alerts.smtp_host = "127.0.0.1".into();
            s.alerts.smtp_port = port;
            s.alerts.smtp_tls = "none".into();
        })
        .await;
        let body = json!({ "name": "Nightly export", "type": "oneoff",
            "alerts": { "emails": ["Ops@Example.com", "oncall@example.com"] },
            "source": "export default async (input) => { if (input.fail) throw new Error('export broke'); return 'ok'; }" });
        let (status, created) = parts(app.post("/api/v1/scripts", &app.admin, &body).await).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(
            created["alerts"],
            json!({ "emails": ["ops@example.com", "oncall@example.com"], "webhookUrl": null, "afterFailures": 1, "throttleMinutes": 15 })
        );
        let script = created["id"].as_str().unwrap().to_owned();

        // Three failures inside one window: one alert, to each address.
        for expected in 1..=3 {
            enqueue(&app, &script, true).await;
            finished(&app, &script, expected).await;
        }
        let sent = messages(&inbox, 2).await;
        assert_eq!(sent.len(), 2, "{sent:?}");
        let mut to: Vec<_> = sent.iter().flat_map(|(r, _)| r.clone()).collect();
        to.sort();
        assert_eq!(to, vec!["<oncall@example.com>", "<ops@example.com>"]);
        let (_, first) = &sent[0];
        assert!(first.contains("Subject: [IOTA Scripts] Script \"Nightly export\" failed"), "{first}");
        assert!(first.contains("export broke"), "{first}");

        // The first success after it: "recovered", naming the two held back.
        enqueue(&app, &script, false).await;
        finished(&app, &script, 4).await;
        let sent = messages(&inbox, 4).await;
        assert_eq!(sent.len(), 4, "{sent:?}");
        let (_, recovered) = &sent[3];
        assert!(recovered.contains("recovered"), "{recovered}");
        assert!(recovered.contains("2 more alert(s) were held back"), "{recovered}");

        // Another success sends nothing.
        enqueue(&app, &script, false).await;
        finished(&app, &script, 5).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(inbox.lock().unwrap().len(), 4);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_dead_letter_alerts_the_webhook() {
    each_backend(|db| async move {
        let hook = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = hook.local_addr().unwrap().port();
        let received: Arc<Mutex<Vec<String>>> = Arc::default();
        let kept = received.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = hook.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 4096];
                    loop {
                        let n = tokio::io::AsyncReadExt::read(&mut stream, &mut buffer).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        request.extend_from_slice(&buffer[..n]);
                        let text = String::from_utf8_lossy(&request);
                        if let Some((head, body)) = text.split_once("\r\n\r\n") {
                            let length = head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap())).unwrap_or(0);
                            if body.len() >= length {
                                kept.lock().unwrap().push(body.to_owned());
                                break;
                            }
                        }
                    }
                    let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n").await;
                });
            }
        });
        let app = spawn_app_with(&db, |s| {
            s.http_client.allow = format!("127.0.0.1:{port}");
        })
        .await;
        let body = json!({ "name": "Payment hook", "type": "event", "status": "active", "eventTypes": ["payment.failed"],
            "retry": { "maxAttempts": 2, "baseDelayMs": 10, "maxDelayMs": 20 },
            "alerts": { "webhookUrl": format!("http://127.0.0.1:{port}/alerts"), "afterFailures": 1000 },
            "source": "export default async () => { throw new Error('card declined') }" });
        let (status, created) = parts(app.post("/api/v1/scripts", &app.admin, &body).await).await;
        assert_eq!(status, 201, "{created}");
        let script = created["id"].as_str().unwrap().to_owned();
        let (status, _) = parts(app.post("/api/v1/events", &app.admin, &json!({ "type": "payment.failed", "payload": {} })).await).await;
        assert_eq!(status, 202);
        finished(&app, &script, 2).await;
        for _ in 0..400 {
            if !received.lock().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let alerts: Vec<Value> = received.lock().unwrap().iter().map(|b| serde_json::from_str(b).unwrap()).collect();
        assert_eq!(alerts.len(), 1, "the failures alone must not alert: {alerts:?}");
        let alert = &alerts[0];
        assert_eq!((&alert["kind"], &alert["eventType"], &alert["attempts"]), (&json!("dead_letter"), &json!("payment.failed"), &json!(2)), "{alert}");
        assert_eq!(alert["scriptId"], json!(script));
        assert!(alert["message"].as_str().unwrap().contains("card declined"), "{alert}");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_alert_webhook_to_a_private_address_is_refused() {
    each_backend(|db| async move {
        // A listener on loopback that the operator did not allow: a tenant must not reach it
        // through its alert webhook, as it could not through sdk.http.
        let hook = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = hook.local_addr().unwrap().port();
        let reached = Arc::new(Mutex::new(0usize));
        let count = reached.clone();
        tokio::spawn(async move {
            while let Ok((_stream, _)) = hook.accept().await {
                *count.lock().unwrap() += 1;
            }
        });
        let app = spawn_app_with(&db, |_| {}).await;
        let body = json!({ "name": "Probe", "type": "oneoff",
            "alerts": { "webhookUrl": format!("http://127.0.0.1:{port}/internal") },
            "source": "export default async () => { throw new Error('fail on purpose') }" });
        let (status, created) = parts(app.post("/api/v1/scripts", &app.admin, &body).await).await;
        assert_eq!(status, 201, "{created}");
        let script = created["id"].as_str().unwrap().to_owned();
        enqueue(&app, &script, true).await;
        finished(&app, &script, 1).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            *reached.lock().unwrap(),
            0,
            "the alert webhook reached a private address"
        );
        app.stop().await;
    })
    .await;
}
