//! Scripts using the SDK through the whole application: host services with typed results,
//! events stored in the outbox, and `sdk.http` to an allowed local server but not to others.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use domain::repository::EventOutbox;
use serde_json::{Value, json};
use services::sdk::{ServiceCall, ServiceError, ServiceRegistry};
use support::{TestApp, parts, spawn_app_full};
use testkit::each_backend;

fn registry() -> ServiceRegistry {
    let mut registry = ServiceRegistry::new();
    registry.register("clients", "list", |call: ServiceCall| async move {
        let active_only = call
            .args
            .first()
            .and_then(|f| f["active"].as_bool())
            .unwrap_or(false);
        let clients = vec![
            json!({"name": "Ada", "active": true}),
            json!({"name": "Bob", "active": false}),
        ];
        let clients: Vec<Value> = clients
            .into_iter()
            .filter(|c| !active_only || c["active"] == true)
            .collect();
        Ok(json!({ "tenant": call.tenant_id, "user": call.user_id, "clients": clients }))
    });
    registry.register("clients", "remove", |_call: ServiceCall| async move {
        Err::<Value, _>(ServiceError::new(
            "FORBIDDEN_ACTION",
            "clients cannot be removed from scripts",
        ))
    });
    registry
}

async fn run(app: &TestApp, name: &str, source: &str) -> Value {
    let body = json!({ "name": name, "type": "oneoff", "source": source });
    let (status, created) = parts(app.post("/api/v1/scripts", &app.admin, &body).await).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (_, execution) = parts(
        app.post(
            &format!("/api/v1/scripts/{id}/execute"),
            &app.admin,
            &json!({}),
        )
        .await,
    )
    .await;
    execution
}

#[tokio::test]
async fn scripts_call_host_services_and_publish_events() {
    each_backend(|db| async move {
        let app = spawn_app_full(&db, |_| {}, registry()).await;
        let source = "export default async () => {
            const { tenant, user, clients } = await services.clients.list({ active: true });
            let refused = null;
            try { await services.clients.remove('Ada'); } catch (e) { refused = e.code; }
            let missing = null;
            try { await services.billing.charge(1); } catch (e) { missing = e instanceof TypeError; }
            await events.publish('client.checked', { count: clients.length });
            let invalid = null;
            try { await events.publish('Not Valid', {}); } catch (e) { invalid = e.code; }
            return { tenant, user, names: clients.map((c) => c.name), refused, missing, invalid };
        }";
        let execution = run(&app, "Service user", source).await;
        assert_eq!(execution["status"], "completed", "{execution}");
        let output = &execution["output"];
        let admin = app.components.accounts.authenticate_token(&app.admin).await.unwrap();
        assert_eq!(output["tenant"], json!(admin.tenant_id));
        assert_eq!(output["user"], json!(admin.user_id));
        assert_eq!(output["names"], json!(["Ada"]));
        assert_eq!((output["refused"].as_str(), output["missing"].as_bool(), output["invalid"].as_str()), (Some("FORBIDDEN_ACTION"), Some(true), Some("INVALID_EVENT_TYPE")));

        let outbox = persistence::SeaEventOutbox::new(app.components.database.clone());
        let events = outbox.list_for_tenant(admin.tenant_id, 10).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].event_type.as_str(), events[0].payload.clone(), events[0].depth), ("client.checked", json!({"count": 1}), 0));
        assert_eq!(events[0].source_script_id.map(|s| s.to_string()), execution["scriptId"].as_str().map(str::to_owned));
        let other = app.components.accounts.authenticate_token(&app.other_tenant).await.unwrap();
        assert!(outbox.list_for_tenant(other.tenant_id, 10).await.unwrap().is_empty());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn sdk_http_reaches_allowed_local_servers_only() {
    let allowed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = allowed.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut socket, _)) = allowed.accept().await else {
                return;
            };
            let mut buffer = [0u8; 2048];
            let _ = socket.read(&mut buffer).await;
            let body = r#"{"pong":true}"#;
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    each_backend(|db| async move {
        let app = spawn_app_full(&db, |s| s.http_client.allow = format!("127.0.0.1:{port}"), ServiceRegistry::new()).await;
        let source = format!(
            "export default async () => {{
                const ok = await sdk.http.get('http://127.0.0.1:{port}/ping');
                let blocked = null;
                try {{ await sdk.http.get('http://localhost:1/'); }} catch (e) {{ blocked = e.code; }}
                return {{ status: ok.status, body: ok.body, blocked }};
            }}"
        );
        let execution = run(&app, "Pinger", &source).await;
        assert_eq!(execution["output"], json!({"status": 200, "body": {"pong": true}, "blocked": "SSRF_BLOCKED"}), "{execution}");
        app.stop().await;
    })
    .await;
}
