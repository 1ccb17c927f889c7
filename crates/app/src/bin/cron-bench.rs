//! `cargo xtask bench cron`: how late cron ticks fire and their runs start when 10,000
//! scheduled scripts fall due at the same instant, and when they fall due spread over one
//! minute, on SQLite (and PostgreSQL when `IOTA_SCRIPTS_BENCH_PG` or the local default
//! answers). The scheduler runs on a clock moved forward to two seconds before the first
//! instant; its claims, the queued runs and the job workers are the product's own. Writes
//! the figures as Markdown to stdout and to the file given with `--write`.

#[path = "bench_support/postgres.rs"]
mod bench_pg;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Duration as Span, Utc};
use domain::ExecutionId;
use domain::jobs::{Job, JobHandler, JobQueue, QueueError};
use domain::repository::{ExecutionRepository, ScheduleRepository, ScriptRepository};
use domain::script::{Script, ScriptInput, ScriptRules, ScriptVersion};
use iota_scripts::{Components, Settings};
use persistence::{SeaExecutionRepository, SeaScheduleRepository, SeaScriptRepository};
use services::{Clock, Scheduler, SchedulerConfig, SystemClock};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Scripts due at once, unless `IOTA_SCRIPTS_BENCH_SCRIPTS` says otherwise.
const SCRIPTS: usize = 10_000;

fn scripts() -> usize {
    std::env::var("IOTA_SCRIPTS_BENCH_SCRIPTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(SCRIPTS)
}

/// The system clock moved by an offset set once the scripts exist.
struct Shifted(Mutex<Span>);

impl Clock for Shifted {
    fn now(&self) -> DateTime<Utc> {
        SystemClock.now() + *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The node's job handler, counting the queued runs it finished.
struct Counting {
    inner: Arc<dyn JobHandler>,
    done: AtomicUsize,
}

#[async_trait::async_trait]
impl JobHandler for Counting {
    async fn handle(&self, job: Job) -> Result<(), QueueError> {
        let run = matches!(job, Job::Run(_));
        let result = self.inner.handle(job).await;
        if run && result.is_ok() {
            self.done.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

/// The node's queue, noting when each queued run's job was stored (its tick fired).
struct Recording {
    inner: Arc<dyn JobQueue>,
    queued: Mutex<HashMap<ExecutionId, DateTime<Utc>>>,
}

impl Recording {
    fn note(&self, jobs: &[Job]) {
        let at = SystemClock.now();
        let mut queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        for job in jobs {
            if let Job::Run(run) = job {
                queued.entry(run.execution_id).or_insert(at);
            }
        }
    }
}

#[async_trait::async_trait]
impl JobQueue for Recording {
    async fn push(&self, job: Job, delay: Duration) -> Result<(), QueueError> {
        self.inner.push(job.clone(), delay).await?;
        self.note(&[job]);
        Ok(())
    }

    async fn push_many(&self, jobs: Vec<Job>) -> Result<(), QueueError> {
        self.inner.push_many(jobs.clone()).await?;
        self.note(&jobs);
        Ok(())
    }
}

struct Figures {
    backend: &'static str,
    fired: Vec<i64>,
    start: Vec<i64>,
    completed: usize,
    count: usize,
    all_done_ms: i64,
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn seconds(ms: i64) -> String {
    format!("{:.2} s", ms as f64 / 1000.0)
}

/// How the ticks fall due.
#[derive(Clone, Copy)]
enum Due {
    /// Every script `* * * * *`: all at one instant.
    AtOnce,
    /// Script `n` at second `n % 60` of the minute (`S * * * * *`).
    Spread,
}

impl Due {
    fn label(self) -> &'static str {
        match self {
            Due::AtOnce => "all at one instant",
            Due::Spread => "spread over a minute",
        }
    }
}

async fn measure(backend: &'static str, url: &str, how: Due) -> Result<Figures> {
    let count = scripts();
    let mut settings = Settings::default();
    settings.database.url = url.to_owned();
    settings.scheduler.enabled = false;
    let components = Components::build(&settings)
        .await
        .context("build the components")?;
    let database = components.database.clone();
    let tenant = components
        .accounts
        .create_tenant("Cron bench", Some("cron-bench"))
        .await?;
    let rules = ScriptRules {
        cron_syntax: domain::script::CronSyntax::WithSeconds,
        ..ScriptRules::default()
    };
    let scripts = SeaScriptRepository::new(database.clone());
    let now = SystemClock.now();
    // Far enough ahead that no tick falls due while the scripts are written.
    let due =
        DateTime::from_timestamp((now.timestamp() / 60 + 60) * 60, 0).context("a due instant")?;
    let mut ids = Vec::with_capacity(count);
    for index in 0..count {
        let input = ScriptInput {
            name: format!("Every minute {index}"),
            source: "export default async () => 1".into(),
            script_type: "scheduled".into(),
            status: Some("active".into()),
            cron_expression: Some(match how {
                Due::AtOnce => "* * * * *".into(),
                Due::Spread => format!("{} * * * * *", index % 60),
            }),
            timezone: Some("UTC".into()),
            ..ScriptInput::default()
        };
        let spec = rules.parse(&input).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut script = Script::create(tenant.id, spec.clone(), None, now);
        script.next_run_at = Some(match how {
            Due::AtOnce => due,
            Due::Spread => due + Span::seconds((index % 60) as i64),
        });
        let version = ScriptVersion {
            script_id: script.id,
            tenant_id: tenant.id,
            version: 1,
            spec,
            created_at: now,
            created_by: None,
            change_summary: "Created".into(),
        };
        scripts.create(&script, &version).await?;
        ids.push(script.id);
    }
    let handler = Arc::new(Counting {
        inner: components.deliveries.clone() as Arc<dyn JobHandler>,
        done: AtomicUsize::new(0),
    });
    let workers = components
        .queue
        .run(&components.node, handler.clone(), std::future::pending());
    let clock = Arc::new(Shifted(Mutex::new(Span::zero())));
    let offset = due - Span::seconds(2) - SystemClock.now();
    *clock.0.lock().unwrap_or_else(|p| p.into_inner()) = offset;
    let recording = Arc::new(Recording {
        inner: Arc::new(components.queue.clone()),
        queued: Mutex::new(HashMap::new()),
    });
    let queue: Arc<dyn JobQueue> = recording.clone();
    let scheduler = Arc::new(
        Scheduler::new(
            Arc::new(SeaScheduleRepository::new(database.clone())),
            Arc::new(SeaScriptRepository::new(database.clone())),
            components.executions.clone(),
            clock.clone(),
            SchedulerConfig {
                node: components.node.clone(),
                ..SchedulerConfig::default()
            },
        )
        .with_queue(queue),
    )
    .spawn(services::Drain::new());
    let started = SystemClock.now();
    let limit = Duration::from_secs(600);
    let mut firing = true;
    while handler.done.load(Ordering::Relaxed) < count {
        // Every first tick fired: no second round (a spread script fires again a minute on).
        if firing
            && recording
                .queued
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .len()
                >= count
        {
            scheduler.abort();
            firing = false;
        }
        if (SystemClock.now() - started).to_std().unwrap_or_default() > limit {
            bail!(
                "{backend}: only {} of {count} runs finished in {limit:?}",
                handler.done.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all_done_ms = (SystemClock.now() + offset - due).num_milliseconds();
    scheduler.abort();
    workers.abort();
    let ticks = SeaScheduleRepository::new(database.clone());
    let executions = SeaExecutionRepository::new(database.clone());
    let queued = std::mem::take(&mut *recording.queued.lock().unwrap_or_else(|p| p.into_inner()));
    let (mut fired, mut start, mut completed) = (Vec::new(), Vec::new(), 0);
    for id in ids {
        // The first tick (a spread script may have fired again a minute later).
        let tick = ticks.ticks(tenant.id, id, 10).await?;
        let Some(tick) = tick.last() else { continue };
        let Some(execution) = tick.execution_id else {
            continue;
        };
        let Some(run) = executions.get(tenant.id, execution).await? else {
            continue;
        };
        if let Some(at) = queued.get(&execution) {
            fired.push((*at + offset - tick.scheduled_for).num_milliseconds());
        }
        if let Some(at) = run.started_at {
            start.push((at + offset - tick.scheduled_for).num_milliseconds());
        }
        if run.status == domain::execution::ExecutionStatus::Completed {
            completed += 1;
        }
    }
    if fired.len() != count {
        bail!(
            "{backend}: {} of {count} ticks were seen firing",
            fired.len()
        );
    }
    start.sort_unstable();
    fired.sort_unstable();
    Ok(Figures {
        backend,
        fired,
        start,
        completed,
        count,
        all_done_ms,
    })
}

fn main() -> Result<()> {
    // Started as a sandbox worker: serve the supervisor and exit.
    runtime::run_worker_if_requested();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(bench())
}

async fn bench() -> Result<()> {
    let write_to = std::env::args().skip_while(|a| a != "--write").nth(1);
    let file = std::env::temp_dir().join(format!("iota-cron-bench-{}.db", std::process::id()));
    let sqlite_url = format!("sqlite://{}?mode=rwc", file.display());
    let mut runs = Vec::new();
    for how in [Due::AtOnce, Due::Spread] {
        runs.push((how, measure("SQLite", &sqlite_url, how).await));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
        match bench_pg::create("iota_cron_bench").await {
            Some((url, name)) => {
                runs.push((how, measure("PostgreSQL", &url, how).await));
                bench_pg::drop(&name).await;
            }
            None => eprintln!("PostgreSQL is not reachable: measuring SQLite only"),
        }
    }
    let mut out = String::new();
    writeln!(out, "# Benchmarks: cron\n")?;
    writeln!(
        out,
        "Measured by `cargo xtask bench cron` (release build). {} active scripts of one tenant fall due on one node, either all at the same instant (`* * * * *`) or spread over a minute (script n at second n mod 60, `n * * * * *`), with the default settings (a scheduler pass at the earliest due tick and at least every 500 ms, {} job workers, the default concurrency limits); each run is a trivial script. A tick has fired when its claim, its tick and its run's `pending` execution are stored and the run's durable job is queued: from then on it is done whatever happens to the node. Its run then starts at once on the claiming node when a slot is free, otherwise when a job worker of any node gets a slot; with every script in one tenant, run starts are paced by that tenant's concurrency limits and by the runs themselves (each run is recorded), not by the scheduler. Lateness is from the instant the tick fell due. Goal: fired p99 ≤ 1 s.\n",
        scripts(),
        iota_scripts::Settings::default().jobs.concurrency
    )?;
    writeln!(
        out,
        "| database | ticks due | fired p50 | fired p99 | last fired | run started p50 | run started p99 | last run done | completed |\n|---|---|---|---|---|---|---|---|---|"
    )?;
    for (how, run) in runs {
        let figures = run?;
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {}/{} |",
            figures.backend,
            how.label(),
            seconds(percentile(&figures.fired, 50.0)),
            seconds(percentile(&figures.fired, 99.0)),
            seconds(figures.fired.last().copied().unwrap_or_default()),
            seconds(percentile(&figures.start, 50.0)),
            seconds(percentile(&figures.start, 99.0)),
            seconds(figures.all_done_ms),
            figures.completed,
            figures.count,
        )?;
    }
    writeln!(out, "\nReproduce with `cargo xtask bench cron`.")?;
    print!("{out}");
    if let Some(path) = write_to {
        std::fs::write(&path, &out).with_context(|| format!("write {path}"))?;
    }
    Ok(())
}
