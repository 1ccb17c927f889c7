//! `spawn_app`: the real application on port 0 over a fresh database, with tenants, users and
//! tokens to call it with.

#![allow(clippy::expect_used, clippy::unwrap_used, dead_code)]

pub mod browser;
pub mod cluster;
pub mod process;
pub mod sql;

use domain::Role;
use iota_scripts::{Application, Components, Settings};
use reqwest::{Client, RequestBuilder, Response};
use serde_json::Value;
use services::NewUser;
use testkit::TestDatabaseRef;

pub struct TestApp {
    pub base: String,
    pub client: Client,
    /// Tokens of tenant A by role, and of tenant B's admin.
    pub admin: String,
    pub developer: String,
    pub viewer: String,
    pub other_tenant: String,
    pub components: Components,
    handle: actix_web::dev::ServerHandle,
}

async fn user_token(components: &Components, tenant: &str, email: &str, role: Role) -> String {
    let new = NewUser {
        tenant_slug: tenant.into(),
        email: email.into(),
        password: "correct horse battery".into(),
        role,
    };
    components
        .accounts
        .create_user(&new)
        .await
        .expect("create user");
    let (_, secret) = components
        .accounts
        .create_token(email, "test")
        .await
        .expect("create token");
    secret.expose().to_owned()
}

pub async fn spawn_app(db: &TestDatabaseRef) -> TestApp {
    spawn_app_with(db, |_| {}).await
}

pub async fn spawn_app_with(
    db: &TestDatabaseRef,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    spawn_app_full(db, configure, services::sdk::ServiceRegistry::new()).await
}

pub async fn spawn_app_full(
    db: &TestDatabaseRef,
    configure: impl FnOnce(&mut Settings),
    registry: services::sdk::ServiceRegistry,
) -> TestApp {
    let mut settings = Settings::default();
    settings.database.url = db.url.clone();
    settings.server.bind = "127.0.0.1:0".into();
    settings.server.workers = 1;
    // Scripts run in workers started from the product's own binary, as in production.
    settings.sandbox.program = env!("CARGO_BIN_EXE_iota-scripts").into();
    // Cron fires only where a test drives the scheduler (or turns it back on).
    settings.scheduler.enabled = false;
    configure(&mut settings);
    let components = Components::build_with(&settings, registry)
        .await
        .expect("components");
    for (name, slug) in [("Tenant A", "tenant-a"), ("Tenant B", "tenant-b")] {
        components
            .accounts
            .create_tenant(name, Some(slug))
            .await
            .expect("tenant");
    }
    let admin = user_token(&components, "tenant-a", "admin@a.test", Role::Admin).await;
    let developer = user_token(&components, "tenant-a", "dev@a.test", Role::Developer).await;
    let viewer = user_token(&components, "tenant-a", "viewer@a.test", Role::Viewer).await;
    let other_tenant = user_token(&components, "tenant-b", "admin@b.test", Role::Admin).await;
    let application = Application::build(&settings, components.clone())
        .await
        .expect("build app");
    let base = format!("http://127.0.0.1:{}", application.port());
    let handle = application.handle();
    tokio::spawn(application.run_until_stopped());
    TestApp {
        base,
        client: Client::new(),
        admin,
        developer,
        viewer,
        other_tenant,
        components,
        handle,
    }
}

impl TestApp {
    pub fn request(&self, method: reqwest::Method, path: &str, token: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(reqwest::Method::GET, path, token)
            .send()
            .await
            .expect("request")
    }

    /// Waits (up to about ten seconds) until script `id` has a run in progress.
    pub async fn until_running(&self, id: &str) {
        let running = format!("/api/v1/scripts/{id}/executions?status=running");
        for _ in 0..1000 {
            let (_, list) = parts(self.get(&running, &self.admin).await).await;
            if !list["items"].as_array().expect("items").is_empty() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Response {
        self.request(method, path, token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.send_json(reqwest::Method::POST, path, token, body)
            .await
    }

    pub async fn put(&self, path: &str, token: &str, body: &Value) -> Response {
        self.send_json(reqwest::Method::PUT, path, token, body)
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.request(reqwest::Method::DELETE, path, token)
            .send()
            .await
            .expect("request")
    }

    /// The number of scripts tenant A has, as its admin sees them.
    pub async fn script_count(&self) -> u64 {
        let body: Value = self
            .get("/api/v1/scripts", &self.admin)
            .await
            .json()
            .await
            .expect("json");
        body["total"].as_u64().expect("total")
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// Status and JSON body of a response.
pub async fn parts(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}
