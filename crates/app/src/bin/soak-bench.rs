//! `cargo xtask soak --minutes N`: a release `iota-scripts serve` process on a fresh SQLite
//! database serves a public HTTP endpoint script; `wrk` measures its maximum for 10 s, then a
//! paced client holds half of it for N minutes. Every interval (a minute by default) it
//! reports the resident memory of the server and of its sandbox workers, the error rate and
//! the p50/p99 latency, then a summary; Markdown to stdout and to the file given with
//! `--write`.

#[path = "bench_support/memory.rs"]
mod memory;
#[path = "bench_support/wrk.rs"]
mod wrk;

use anyhow::{Context, Result, bail};
use domain::Role;
use iota_scripts::{Components, Settings};
use serde_json::json;
use services::NewUser;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The command line: `--minutes N`, `--interval-seconds S`, `--write PATH`.
struct Options {
    minutes: f64,
    interval: Duration,
    write_to: Option<String>,
}

fn options() -> Result<Options> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| args.iter().skip_while(|a| *a != name).nth(1).cloned();
    let minutes = match value("--minutes") {
        Some(text) => text
            .parse::<f64>()
            .ok()
            .filter(|m| *m > 0.0)
            .with_context(|| format!("--minutes takes a positive number, not `{text}`"))?,
        None => 1.0,
    };
    let interval = match value("--interval-seconds") {
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|s| *s > 0)
            .with_context(|| {
                format!("--interval-seconds takes a positive integer, not `{text}`")
            })?,
        None => 60,
    };
    Ok(Options {
        minutes,
        interval: Duration::from_secs(interval),
        write_to: value("--write"),
    })
}

/// A tenant `soak` with an admin on `url`; the admin's API token.
async fn token(url: &str) -> Result<String> {
    let mut settings = Settings::default();
    settings.database.url = url.to_owned();
    settings.scheduler.enabled = false;
    let components = Components::build(&settings).await.context("build")?;
    components
        .accounts
        .create_tenant("Soak", Some("soak"))
        .await?;
    let new = NewUser {
        tenant_slug: "soak".into(),
        email: "soak@soak.test".into(),
        password: "correct horse battery".into(),
        role: Role::Admin,
    };
    components.accounts.create_user(&new).await?;
    let (_, token) = components
        .accounts
        .create_token("soak@soak.test", "soak")
        .await?;
    components.lease.leave().await;
    Ok(token.expose().to_owned())
}

/// Starts the release server next to this binary on `url`; the child and its base URL.
fn serve(url: &str) -> Result<(Child, String)> {
    let binary = std::env::current_exe()?.with_file_name("iota-scripts");
    if !binary.exists() {
        bail!(
            "{} is missing: run this through `cargo xtask soak`",
            binary.display()
        );
    }
    let mut child = Command::new(&binary)
        .arg("serve")
        .env("IOTA_SCRIPTS__DATABASE__URL", url)
        .env("IOTA_SCRIPTS__SERVER__BIND", "127.0.0.1:0")
        .env("IOTA_SCRIPTS__LOG__LEVEL", "warn")
        .env("IOTA_SCRIPTS__SCHEDULER__ENABLED", "false")
        .env(
            "IOTA_SCRIPTS__HTTP_ENDPOINTS__TENANT_REQUESTS_PER_SECOND",
            "1000000",
        )
        .env("IOTA_SCRIPTS__HTTP_ENDPOINTS__TENANT_BURST", "1000000")
        .env(
            "IOTA_SCRIPTS__HTTP_ENDPOINTS__ENDPOINT_REQUESTS_PER_SECOND",
            "1000000",
        )
        .env("IOTA_SCRIPTS__HTTP_ENDPOINTS__ENDPOINT_BURST", "1000000")
        // As many may wait for a slot as the paced client keeps waiting (256): a burst of
        // slow answers queues rather than being refused.
        .env("IOTA_SCRIPTS__HTTP_ENDPOINTS__QUEUE_DEPTH", "256")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("start {}", binary.display()))?;
    let stdout = child.stdout.take().context("the server's stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let base = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            line.strip_prefix("IOTA Scripts listening on ")
                .map(|b| b.trim().to_owned())
        })
        .context("the server stopped before it listened")?;
    // Keep reading, so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    Ok((child, base))
}

/// The answers of one interval.
#[derive(Default)]
struct Window {
    latencies_us: Vec<u64>,
    errors: u64,
    /// Requests not sent because too many were still waiting for an answer.
    shed: u64,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index] as f64 / 1000.0
}

/// One reported interval.
struct Row {
    minute: f64,
    requests: u64,
    errors: u64,
    p50_ms: f64,
    p99_ms: f64,
    resident: memory::Resident,
}

const MIB: f64 = 1024.0 * 1024.0;

fn format_row(row: &Row) -> String {
    let total = row.requests + row.errors;
    format!(
        "| {:.1} | {} | {} | {:.3}% | {:.2} ms | {:.2} ms | {:.1} MiB | {} | {:.1} MiB | {:.1} MiB |",
        row.minute,
        row.requests,
        row.errors,
        100.0 * row.errors as f64 / (total.max(1)) as f64,
        row.p50_ms,
        row.p99_ms,
        row.resident.own as f64 / MIB,
        row.resident.child_count,
        row.resident.children as f64 / MIB,
        (row.resident.own + row.resident.children) as f64 / MIB,
    )
}

/// Sends `rate` requests per second to `url` until `until`, in batches every 10 ms, with at
/// most 256 waiting for an answer; the answers go into `window`.
async fn steady(url: String, rate: f64, until: Instant, window: Arc<Mutex<Window>>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(256)
        .build()
        .unwrap_or_default();
    let in_flight = Arc::new(tokio::sync::Semaphore::new(256));
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut owed = 0.0;
    while Instant::now() < until {
        ticker.tick().await;
        owed += rate / 100.0;
        while owed >= 1.0 {
            owed -= 1.0;
            let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                window.lock().map(|mut w| w.shed += 1).ok();
                continue;
            };
            let (client, url, window) = (client.clone(), url.clone(), window.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                let ok = match client.get(&url).send().await {
                    Ok(response) => {
                        let success = response.status().is_success();
                        response.bytes().await.is_ok() && success
                    }
                    Err(_) => false,
                };
                let elapsed = started.elapsed().as_micros() as u64;
                if let Ok(mut window) = window.lock() {
                    if ok {
                        window.latencies_us.push(elapsed);
                    } else {
                        window.errors += 1;
                    }
                }
                drop(permit);
            });
        }
    }
}

fn main() -> Result<()> {
    // Started as a sandbox worker: serve the supervisor and exit.
    runtime::run_worker_if_requested();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(soak())
}

async fn soak() -> Result<()> {
    let options = options()?;
    wrk::ensure_wrk()?;
    let file = std::env::temp_dir().join(format!("iota-soak-{}.db", std::process::id()));
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let token = token(&url).await?;
    let (mut server, base) = serve(&url)?;
    let result = measure(&options, &server, &base, &token).await;
    let _ = server.kill();
    let _ = server.wait();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    let out = result?;
    if let Some(path) = &options.write_to {
        std::fs::write(path, &out).with_context(|| format!("write {path}"))?;
    }
    Ok(())
}

async fn measure(options: &Options, server: &Child, base: &str, token: &str) -> Result<String> {
    let client = reqwest::Client::new();
    let created: serde_json::Value = client
        .post(format!("{base}/api/v1/scripts"))
        .bearer_auth(token)
        .json(&json!({
            "name": "Hello", "type": "http", "status": "active", "endpointAuth": "public",
            "httpPath": "/hello", "httpMethods": ["GET"],
            // Room for the load's bursts: the default (5 runs at once) would answer some with
            // 429 by design, which is not what a soak looks for.
            "limits": { "maxConcurrentRuns": 100 },
            "source": "export default (request) => ({ status: 200, body: { hello: 'world', path: request.path } })",
        }))
        .send()
        .await?
        .json()
        .await?;
    if created["id"].as_str().is_none() {
        bail!("the script was not created: {created}");
    }
    let hook = format!("{base}/hooks/soak/hello");
    let target = hook.clone();
    let maximum = tokio::task::spawn_blocking(move || wrk::load(&target, "64", "10")).await??;
    // The maximum counts answered requests only: a refusal (429) is quick and would inflate it.
    let answered = maximum.requests.saturating_sub(maximum.failed) as f64;
    let answered_per_second =
        maximum.requests_per_second * answered / (maximum.requests.max(1) as f64);
    let rate = (answered_per_second / 2.0).max(1.0);
    let pid = server.id();
    let mut out = String::new();
    writeln!(out, "# Benchmarks: soak\n")?;
    writeln!(
        out,
        "Measured by `cargo xtask soak --minutes {}` (release build) on 127.0.0.1, one machine ({} cores). A release `iota-scripts serve` on a fresh SQLite database serves the public endpoint script `export default (request) => ({{ status: 200, body: {{ hello: 'world', path: request.path }} }})` (up to 100 runs at once; the rate limits raised out of the way and up to 256 requests waiting for a slot, as many as the paced client keeps waiting), every execution recorded. `wrk -t1 -c64 -d10s` measured its maximum: **{:.0} req/s** answered with 200 (p99 {:.2} ms, {} refused of {}); a paced client then sent half of it, **{rate:.0} req/s**, for the whole run. Memory is the resident set of the server process and of its sandbox worker processes.\n",
        options.minutes,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        answered_per_second,
        maximum.p99_ms,
        maximum.failed,
        maximum.requests,
    )?;
    writeln!(
        out,
        "| minute | answered | errors | error rate | p50 | p99 | server RSS | workers | workers RSS | total RSS |\n|---|---|---|---|---|---|---|---|---|---|"
    )?;
    print!("{out}");
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(options.minutes * 60.0);
    let window = Arc::new(Mutex::new(Window::default()));
    let load = tokio::spawn(steady(hook, rate, until, window.clone()));
    let mut rows = Vec::new();
    let (mut all, mut errors, mut shed) = (Vec::new(), 0, 0);
    loop {
        let remaining = until.saturating_duration_since(Instant::now());
        let last = remaining <= options.interval;
        tokio::time::sleep(remaining.min(options.interval)).await;
        if last {
            // The answers still on their way count in the last interval.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let taken = window
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default();
        let mut latencies = taken.latencies_us;
        latencies.sort_unstable();
        let row = Row {
            minute: started.elapsed().as_secs_f64() / 60.0,
            requests: latencies.len() as u64,
            errors: taken.errors + taken.shed,
            p50_ms: percentile(&latencies, 0.50),
            p99_ms: percentile(&latencies, 0.99),
            resident: memory::resident(pid),
        };
        println!("{}", format_row(&row));
        writeln!(out, "{}", format_row(&row))?;
        all.extend(latencies);
        errors += taken.errors;
        shed += taken.shed;
        rows.push(row);
        if last {
            break;
        }
    }
    load.await?;
    all.sort_unstable();
    let total_of = |row: &Row| (row.resident.own + row.resident.children) as f64 / MIB;
    let first = rows.first().map_or(0.0, total_of);
    let final_rss = rows.last().map_or(0.0, total_of);
    let peak = rows.iter().map(total_of).fold(0.0, f64::max);
    let sent = all.len() as u64 + errors + shed;
    let summary = format!(
        "\n**Summary:** {} answered of {sent} sent ({:.0} req/s over the run), {errors} failed and {shed} not sent for lack of answers (error rate {:.3}%); p50 {:.2} ms, p99 {:.2} ms over the run; total RSS {first:.1} MiB after the first interval, {final_rss:.1} MiB at the end ({:+.1}%), peak {peak:.1} MiB.\n\nReproduce with `cargo xtask soak --minutes {}`.\n",
        all.len(),
        all.len() as f64 / started.elapsed().as_secs_f64(),
        100.0 * (errors + shed) as f64 / sent.max(1) as f64,
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        100.0 * (final_rss - first) / first.max(1.0),
        options.minutes,
    );
    print!("{summary}");
    out.push_str(&summary);
    Ok(out)
}
