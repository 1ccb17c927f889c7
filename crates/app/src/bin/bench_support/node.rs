//! A node of the product in the benchmark's process, on port 0 of 127.0.0.1, with tenants and
//! tokens made through the services and scripts made through the API.

#![allow(dead_code)]

use anyhow::{Context, Result, bail};
use domain::Role;
use iota_scripts::{Application, Components, Settings};
use serde_json::Value;
use services::NewUser;

pub struct BenchNode {
    pub base: String,
    pub client: reqwest::Client,
    pub components: Components,
    handle: actix_web::dev::ServerHandle,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// The settings of a benchmark node on `url`: port 0, no cron, and the tenants' request rates
/// (a tenant's policy, not the platform's capacity) out of the way.
pub fn settings(url: &str) -> Settings {
    let mut settings = Settings::default();
    settings.database.url = url.to_owned();
    settings.server.bind = "127.0.0.1:0".into();
    settings.scheduler.enabled = false;
    let endpoints = &mut settings.http_endpoints;
    endpoints.tenant_requests_per_second = 1_000_000;
    endpoints.tenant_burst = 1_000_000;
    endpoints.endpoint_requests_per_second = 1_000_000;
    endpoints.endpoint_burst = 1_000_000;
    settings
}

impl BenchNode {
    pub async fn start(settings: &Settings) -> Result<Self> {
        let components = Components::build(settings).await.context("build")?;
        let application = Application::build(settings, components.clone()).await?;
        let base = format!("http://127.0.0.1:{}", application.port());
        let handle = application.handle();
        let server = tokio::spawn(application.run_until_stopped());
        Ok(Self {
            base,
            client: reqwest::Client::new(),
            components,
            handle,
            server,
        })
    }

    /// Makes tenant `slug` with an admin; the admin's API token.
    pub async fn tenant(&self, slug: &str) -> Result<String> {
        let accounts = &self.components.accounts;
        accounts.create_tenant(slug, Some(slug)).await?;
        let email = format!("admin@{slug}.test");
        let new = NewUser {
            tenant_slug: slug.into(),
            email: email.clone(),
            password: "correct horse battery".into(),
            role: Role::Admin,
        };
        accounts.create_user(&new).await?;
        let (_, token) = accounts.create_token(&email, "bench").await?;
        Ok(token.expose().to_owned())
    }

    /// Creates a script with `body` over the API; its id.
    pub async fn script(&self, token: &str, body: &Value) -> Result<String> {
        let created: Value = self
            .client
            .post(format!("{}/api/v1/scripts", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await?
            .json()
            .await?;
        match created["id"].as_str() {
            Some(id) => Ok(id.to_owned()),
            None => bail!("the script was not created: {created}"),
        }
    }

    /// `GET` of an API path with `token`: the status and the JSON body.
    pub async fn get(&self, token: &str, path: &str) -> Result<(u16, Value)> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.server.await;
    }
}
