//! `cargo xtask bench listing`: how long a page of the script list takes with 10,000 scripts
//! in the tenant, each with a recorded run: the HTML page `/scripts` (signed in, its last
//! runs and next runs included) and `GET /api/v1/scripts`, on SQLite (and PostgreSQL when
//! `IOTA_SCRIPTS_BENCH_PG` or the local default answers). Requests go one at a time over
//! 127.0.0.1 to the product's own server, pages spread over the whole list; the time is the
//! client's, so it bounds the server's from above. Goal: p95 under 50 ms. Writes Markdown to
//! stdout and to the file given with `--write`.

#[path = "bench_support/postgres.rs"]
mod bench_pg;

use anyhow::{Context, Result, bail};
use domain::Role;
use domain::execution::{Execution, NewExecution, Outcome, Trigger, TriggerDetails, TriggerKind};
use domain::repository::{ExecutionRepository, ScriptRepository};
use domain::script::{Script, ScriptInput, ScriptRules, ScriptVersion};
use iota_scripts::{Application, Components, Settings};
use persistence::{SeaExecutionRepository, SeaScriptRepository};
use services::{Clock, NewUser, SystemClock};
use std::fmt::Write as _;

/// Scripts in the tenant, unless `IOTA_SCRIPTS_BENCH_SCRIPTS` says otherwise.
const SCRIPTS: usize = 10_000;
/// Requests measured per kind of page.
const REQUESTS: usize = 300;
/// The goal for a page, at p95.
const GOAL_MS: f64 = 50.0;

fn scripts() -> usize {
    std::env::var("IOTA_SCRIPTS_BENCH_SCRIPTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(SCRIPTS)
}

struct Figures {
    backend: &'static str,
    page: Vec<f64>,
    api: Vec<f64>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Writes `count` scripts of `tenant`, each with one finished run.
async fn fill(components: &Components, tenant: domain::TenantId, count: usize) -> Result<()> {
    let scripts = SeaScriptRepository::new(components.database.clone());
    let executions = SeaExecutionRepository::new(components.database.clone());
    let rules = ScriptRules::default();
    let now = SystemClock.now();
    for index in 0..count {
        let input = ScriptInput {
            name: format!("Script {index:05}"),
            description: "one of many".into(),
            source: "export default async (input) => input".into(),
            script_type: "oneoff".into(),
            status: Some("active".into()),
            ..ScriptInput::default()
        };
        let spec = rules.parse(&input).map_err(|e| anyhow::anyhow!("{e}"))?;
        let script = Script::create(tenant, spec.clone(), None, now);
        let version = ScriptVersion {
            script_id: script.id,
            tenant_id: tenant,
            version: 1,
            spec,
            created_at: now,
            created_by: None,
            change_summary: "Created".into(),
        };
        scripts.create(&script, &version).await?;
        let new = NewExecution {
            tenant_id: tenant,
            script_id: script.id,
            script_version: 1,
            trigger: Trigger {
                kind: TriggerKind::Manual,
                details: TriggerDetails::default(),
            },
            input: serde_json::json!({ "n": index }),
            attempt: 1,
        };
        let mut run = Execution::pending(new, now);
        run.start(now).ok();
        run.finish(Outcome::Completed(serde_json::json!({ "n": index })), now)
            .ok();
        executions.insert(&run).await?;
    }
    Ok(())
}

/// Times `REQUESTS` requests made by `request(n)`, in milliseconds, sorted.
async fn time_requests(request: impl Fn(usize) -> reqwest::RequestBuilder) -> Result<Vec<f64>> {
    let clock = SystemClock;
    let mut times = Vec::with_capacity(REQUESTS);
    for n in 0..REQUESTS + 10 {
        let started = clock.instant();
        let response = request(n).send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        let elapsed = clock.instant().duration_since(started);
        if !status.is_success() {
            bail!("{status}: {}", String::from_utf8_lossy(&body));
        }
        // The first ten warm the caches and connections up.
        if n >= 10 {
            times.push(elapsed.as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times)
}

async fn measure(backend: &'static str, url: &str) -> Result<Figures> {
    let count = scripts();
    let mut settings = Settings::default();
    settings.database.url = url.to_owned();
    settings.server.bind = "127.0.0.1:0".into();
    settings.scheduler.enabled = false;
    let components = Components::build(&settings).await.context("build")?;
    let tenant = components
        .accounts
        .create_tenant("Listing bench", Some("listing-bench"))
        .await?;
    let new = NewUser {
        tenant_slug: "listing-bench".into(),
        email: "bench@bench.test".into(),
        password: "correct horse battery".into(),
        role: Role::Admin,
    };
    components.accounts.create_user(&new).await?;
    let (_, token) = components
        .accounts
        .create_token("bench@bench.test", "bench")
        .await?;
    fill(&components, tenant.id, count).await?;
    let application = Application::build(&settings, components.clone()).await?;
    let base = format!("http://127.0.0.1:{}", application.port());
    let handle = application.handle();
    let server = tokio::spawn(application.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let signed_in = client
        .post(format!("{base}/login"))
        .form(&[
            ("email", "bench@bench.test"),
            ("password", "correct horse battery"),
            ("next", "/scripts"),
        ])
        .send()
        .await?;
    let Some(cookie) = signed_in
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
    else {
        bail!("signing in failed: {}", signed_in.status());
    };
    // Pages spread over the whole list (20 scripts a page), the last one included.
    let pages = count.div_ceil(20).max(1);
    let page_of = |n: usize| (n * 37) % pages + 1;
    let page = time_requests(|n| {
        client
            .get(format!("{base}/scripts?page={}", page_of(n)))
            .header(reqwest::header::COOKIE, &cookie)
    })
    .await
    .context("the list page")?;
    let api = time_requests(|n| {
        client
            .get(format!("{base}/api/v1/scripts?page={}", page_of(n)))
            .bearer_auth(token.expose())
    })
    .await
    .context("the API list")?;
    handle.stop(true).await;
    let _ = server.await;
    Ok(Figures { backend, page, api })
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
    let file = std::env::temp_dir().join(format!("iota-listing-bench-{}.db", std::process::id()));
    let sqlite_url = format!("sqlite://{}?mode=rwc", file.display());
    let mut runs = vec![measure("SQLite", &sqlite_url).await];
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    match bench_pg::create("iota_listing_bench").await {
        Some((url, name)) => {
            runs.push(measure("PostgreSQL", &url).await);
            bench_pg::drop(&name).await;
        }
        None => eprintln!("PostgreSQL is not reachable: measuring SQLite only"),
    }
    let mut out = String::new();
    writeln!(out, "# Benchmarks: script list\n")?;
    writeln!(
        out,
        "Measured by `cargo xtask bench listing` (release build). One tenant has {} active scripts, each with one recorded run. {REQUESTS} requests of each kind go one at a time over 127.0.0.1 to the product's server, for pages spread over the whole list (20 scripts a page, the last page included), after ten unmeasured ones: the signed-in HTML page `/scripts` (with each script's last run and next run) and `GET /api/v1/scripts` with a bearer token. Times are the client's, request sent to body read, so they bound the server's from above. Goal: a page in under {GOAL_MS} ms (p95).\n",
        scripts()
    )?;
    writeln!(
        out,
        "| database | request | p50 | p95 | max | goal met |\n|---|---|---|---|---|---|"
    )?;
    for run in runs {
        let figures = run?;
        for (what, times) in [
            ("HTML `/scripts`", &figures.page),
            ("`GET /api/v1/scripts`", &figures.api),
        ] {
            let p95 = percentile(times, 95.0);
            writeln!(
                out,
                "| {} | {what} | {:.1} ms | {p95:.1} ms | {:.1} ms | {} |",
                figures.backend,
                percentile(times, 50.0),
                times.last().copied().unwrap_or_default(),
                if p95 < GOAL_MS { "yes" } else { "no" },
            )?;
        }
    }
    writeln!(out, "\nReproduce with `cargo xtask bench listing`.")?;
    print!("{out}");
    if let Some(path) = write_to {
        std::fs::write(&path, &out).with_context(|| format!("write {path}"))?;
    }
    Ok(())
}
