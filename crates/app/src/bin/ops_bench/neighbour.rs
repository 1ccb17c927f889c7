//! The noisy neighbour: tenant B's public endpoint under `wrk` alone, then while tenant A keeps
//! eight CPU-bound runs going (each a two-second busy loop, started again as soon as it ends).

use crate::node::{self, BenchNode};
use crate::wrk::{self, Load};
use anyhow::Result;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Runs of tenant A at once.
pub const LOOPS: usize = 8;
/// wrk's connections to B's endpoint.
const CONNECTIONS: &str = "8";

pub struct Neighbour {
    pub alone: Load,
    pub noisy: Load,
    /// A's busy runs that completed while B was measured.
    pub busy_runs: u64,
}

pub async fn measure(url: &str) -> Result<Neighbour> {
    let node = BenchNode::start(&node::settings(url)).await?;
    let quiet = node.tenant("quiet").await?;
    let noisy = node.tenant("noisy").await?;
    node.script(
        &quiet,
        &json!({
            "name": "Ping", "type": "http", "status": "active", "endpointAuth": "public",
            "httpPath": "/ping", "httpMethods": ["GET"],
            "source": "export default (request) => ({ status: 200, body: { pong: true } })",
        }),
    )
    .await?;
    let busy = node
        .script(
            &noisy,
            &json!({
                "name": "Busy", "type": "oneoff",
                "limits": { "maxConcurrentRuns": LOOPS, "maxExecutionTimeMs": 10000 },
                "source": "export default () => { const end = Date.now() + 2000; let n = 0; while (Date.now() < end) { n++; } return n; }",
            }),
        )
        .await?;
    let hook = format!("{}/hooks/quiet/ping", node.base);
    let url = hook.clone();
    let alone = tokio::task::spawn_blocking(move || wrk::load(&url, CONNECTIONS, &wrk::seconds()))
        .await??;

    let stop = Arc::new(AtomicBool::new(false));
    let completed = Arc::new(AtomicU64::new(0));
    let mut loops = Vec::new();
    for _ in 0..LOOPS {
        let (client, stop, completed) = (node.client.clone(), stop.clone(), completed.clone());
        let execute = format!("{}/api/v1/scripts/{busy}/execute", node.base);
        let token = noisy.clone();
        loops.push(tokio::spawn(async move {
            while !stop.load(Ordering::Acquire) {
                let sent = client
                    .post(&execute)
                    .bearer_auth(&token)
                    .json(&json!({}))
                    .send()
                    .await;
                if sent.is_ok_and(|response| response.status().is_success()) {
                    completed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    // Let the loops take the CPU before measuring.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let before = completed.load(Ordering::Relaxed);
    let url = hook.clone();
    let noisy_load =
        tokio::task::spawn_blocking(move || wrk::load(&url, CONNECTIONS, &wrk::seconds()))
            .await??;
    let busy_runs = completed.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Release);
    for running in loops {
        let _ = running.await;
    }
    node.stop().await;
    Ok(Neighbour {
        alone,
        noisy: noisy_load,
        busy_runs,
    })
}
