//! A host application that embeds IOTA Scripts: it registers a service of its own, stores a
//! script, and calls it with typed input and output.
//!
//! Run with `cargo run -p iota-scripts --example embedded_host`.
//!
//! Scripts run in sandbox worker processes started from this very binary: `main` hands over
//! to the worker first thing when it was started as one, before any runtime or setting exists.

use domain::Actor;
use domain::script::ScriptInput;
use iota_scripts::{Components, Settings};
use serde::{Deserialize, Serialize};
use serde_json::json;
use services::sdk::{ServiceCall, ServiceRegistry};

#[derive(Serialize)]
struct Order {
    client: String,
    total: u32,
}

#[derive(Debug, Deserialize)]
struct Decision {
    approved: bool,
    reason: String,
}

fn main() -> anyhow::Result<()> {
    runtime::run_worker_if_requested();
    tokio::runtime::Runtime::new()?.block_on(host())
}

async fn host() -> anyhow::Result<()> {
    // The host's own service: scripts call it as `services.clients.creditLimit(name)`.
    let mut registry = ServiceRegistry::new();
    registry.register("clients", "creditLimit", |call: ServiceCall| async move {
        let name = call
            .args
            .first()
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        Ok(json!(if name == "Ada" { 500 } else { 100 }))
    });

    let mut settings = Settings::default();
    let path = std::env::temp_dir().join(format!("iota-example-{}.db", uuid::Uuid::new_v4()));
    settings.database.url = format!("sqlite://{}?mode=rwc", path.display());
    let components = Components::build_with(&settings, registry).await?;

    let tenant = components
        .accounts
        .create_tenant("Example", Some("example"))
        .await?;
    let host = Actor::system(tenant.id);
    let rule = ScriptInput {
        name: "Credit check".into(),
        script_type: "embedded".into(),
        source: "export default async (order) => {
            const limit = await services.clients.creditLimit(order.client);
            return { approved: order.total <= limit, reason: `limit ${limit}` };
        }"
        .into(),
        ..ScriptInput::default()
    };
    let script = components.scripts.create(&host, &rule).await?;

    for order in [
        Order {
            client: "Ada".into(),
            total: 300,
        },
        Order {
            client: "Bob".into(),
            total: 300,
        },
    ] {
        let outcome = components
            .scripts
            .execute::<_, Decision>(&host, script.id, &order)
            .await?;
        match outcome.result {
            Ok(decision) => println!(
                "{}: approved {} ({})",
                order.client, decision.approved, decision.reason
            ),
            Err(error) => println!(
                "{}: the rule failed: {} {}",
                order.client, error.code, error.message
            ),
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(())
}
