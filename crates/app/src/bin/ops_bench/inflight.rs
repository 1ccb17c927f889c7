//! Executions in flight at once: N runs of one script, each awaiting an `sdk.http` call to a
//! slow local server (`bench/node/slow-server.mjs`, which answers after a delay longer than it
//! takes to start them all); all must complete. Reports the peak of runs going at once and
//! the peak memory of the server process and its sandbox workers: resident (each process's
//! own, summed) and proportional (shared pages counted once).

use crate::memory;
use crate::node::{self, BenchNode};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use services::RunRequest;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Runs one worker holds at once here: waiting runs hold no thread (they are parked), so a
/// worker takes many, and the load fits in 8 workers (each worker's own memory, about 9 MiB
/// resident, is paid once per worker).
pub const RUNS_PER_WORKER: usize = 1_250;

pub struct InFlight {
    pub executions: usize,
    /// Outcomes by status (`completed`, or the error code).
    pub outcomes: BTreeMap<String, usize>,
    /// The most runs going at once.
    pub peak_running: usize,
    /// Resident memory of the server process and its workers before, and at the peak.
    pub baseline_rss: u64,
    pub peak_rss: u64,
    /// The same as proportional set sizes (pages shared by processes counted once).
    pub baseline_pss: u64,
    pub peak_pss: u64,
    /// At the peak of the resident total: the server's own, and its workers' with their count.
    pub peak_split: (u64, u64, usize),
    pub wall: Duration,
    pub upstream_delay_ms: u64,
}

/// This process's and its child processes' (the sandbox workers') memory, except `skip`'s
/// (the slow server).
#[derive(Clone, Copy, Default)]
struct Sample {
    server: u64,
    workers: u64,
    workers_count: usize,
    pss: u64,
}

impl Sample {
    fn rss(&self) -> u64 {
        self.server + self.workers
    }
}

fn sample(skip: u32) -> Sample {
    let all = memory::resident(std::process::id());
    let upstream = memory::resident(skip);
    Sample {
        server: all.own,
        workers: all.children.saturating_sub(upstream.own),
        workers_count: all.child_count.saturating_sub(1),
        pss: (all.own_pss + all.children_pss).saturating_sub(upstream.own_pss),
    }
}

/// The highest samples: of the resident total (with its split) and of the proportional one.
#[derive(Default)]
struct Peaks {
    rss: Sample,
    pss: u64,
}

fn slow_server(root: &Path, delay_ms: u64) -> Result<(std::process::Child, u16)> {
    let script = root.join("bench").join("node").join("slow-server.mjs");
    let mut child = Command::new("node")
        .arg(&script)
        .arg(delay_ms.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("start node {}", script.display()))?;
    let mut port = String::new();
    if let Some(stdout) = child.stdout.take() {
        BufReader::new(stdout).read_line(&mut port)?;
    }
    let port = port
        .trim()
        .parse()
        .context("the slow server printed no port")?;
    Ok((child, port))
}

pub async fn measure(root: &Path, url: &str, executions: usize) -> Result<InFlight> {
    // Long enough that the first run still waits when the last one starts.
    let upstream_delay_ms = 20_000 + executions as u64;
    let (mut upstream, port) = slow_server(root, upstream_delay_ms)?;
    let mut settings = node::settings(url);
    settings.engine.max_concurrent_executions = executions + 64;
    settings.engine.max_concurrent_per_tenant = executions + 64;
    settings.sandbox.runs_per_worker = RUNS_PER_WORKER;
    settings.scripts.limit_bounds.max_concurrent_runs = [1, executions as u64 + 64];
    settings.scripts.limit_bounds.max_api_calls_per_minute = [1, 10 * executions as u64 + 64];
    settings.scripts.limit_bounds.max_execution_time_ms = [10, 600_000];
    settings.http_client.allow = "127.0.0.1".into();
    let node = BenchNode::start(&settings).await?;
    let token = node.tenant("flight").await?;
    let actor = node.components.accounts.authenticate_token(&token).await?;
    let id = node
        .script(
            &token,
            &json!({
                "name": "Waits", "type": "oneoff",
                "limits": {
                    "maxConcurrentRuns": executions + 64,
                    "maxApiCallsPerMinute": 10 * executions + 64,
                    "maxExecutionTimeMs": 600_000,
                },
                "source": format!("export default async () => (await sdk.http.get('http://127.0.0.1:{port}/slow', {{ timeout: 600000 }})).status"),
            }),
        )
        .await?;
    let id = id
        .parse()
        .map_err(|_| anyhow::anyhow!("bad script id {id}"))?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let baseline = sample(upstream.id());

    let engine = node.components.engine.clone();
    let done = Arc::new(AtomicBool::new(false));
    let (peaks, peak_running) = (
        Arc::new(Mutex::new(Peaks::default())),
        Arc::new(AtomicUsize::new(0)),
    );
    let sampler = {
        let (done, peaks, peak_running) = (done.clone(), peaks.clone(), peak_running.clone());
        let skip = upstream.id();
        tokio::spawn(async move {
            while !done.load(Ordering::Acquire) {
                let now = sample(skip);
                if let Ok(mut peaks) = peaks.lock() {
                    if now.rss() > peaks.rss.rss() {
                        peaks.rss = now;
                    }
                    peaks.pss = peaks.pss.max(now.pss);
                }
                peak_running.fetch_max(engine.running(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let started = Instant::now();
    let mut runs = tokio::task::JoinSet::new();
    for _ in 0..executions {
        let (executions, actor) = (node.components.executions.clone(), actor.clone());
        runs.spawn(async move {
            executions
                .run(&actor, id, RunRequest::api(&actor, Value::Null))
                .await
        });
    }
    let mut outcomes = BTreeMap::new();
    while let Some(joined) = runs.join_next().await {
        let outcome = match joined? {
            Ok(execution) => match &execution.error {
                Some(error) => error.code.clone(),
                None => execution.status.as_str().to_owned(),
            },
            Err(error) => format!("refused: {error}"),
        };
        *outcomes.entry(outcome).or_insert(0) += 1;
    }
    let wall = started.elapsed();
    done.store(true, Ordering::Release);
    let _ = sampler.await;
    node.stop().await;
    let _ = upstream.kill();
    let _ = upstream.wait();
    if outcomes.is_empty() {
        bail!("no run ended");
    }
    let peak = peaks
        .lock()
        .map(|p| Peaks {
            rss: p.rss,
            pss: p.pss,
        })
        .unwrap_or_default();
    Ok(InFlight {
        executions,
        outcomes,
        peak_running: peak_running.load(Ordering::Relaxed),
        baseline_rss: baseline.rss(),
        peak_rss: peak.rss.rss(),
        baseline_pss: baseline.pss,
        peak_pss: peak.pss,
        peak_split: (peak.rss.server, peak.rss.workers, peak.rss.workers_count),
        wall,
        upstream_delay_ms,
    })
}
