//! `cargo xtask bench ops`: the operational benchmarks of the product, each beside its goal —
//! start to ready on SQLite, a noisy neighbour's effect on another tenant's endpoint, ten
//! thousand executions in flight at once awaiting `sdk.http`, and listing and search with
//! 100,000 scripts and 10,000,000 executions on PostgreSQL. Writes Markdown to stdout and to
//! the file given with `--write`. Sizes: `IOTA_SCRIPTS_BENCH_INFLIGHT`,
//! `IOTA_SCRIPTS_BENCH_SCRIPTS`, `IOTA_SCRIPTS_BENCH_EXECUTIONS`. `IOTA_SCRIPTS_BENCH_OPS`
//! (a comma-separated list of `ready`, `neighbour`, `inflight`, `listing`) runs only those
//! parts, and then writes nothing: the record is always a whole run.

#[path = "bench_support/postgres.rs"]
mod bench_pg;
#[path = "ops_bench/inflight.rs"]
mod inflight;
#[path = "ops_bench/listing.rs"]
mod listing;
#[path = "bench_support/memory.rs"]
mod memory;
#[path = "ops_bench/neighbour.rs"]
mod neighbour;
#[path = "bench_support/node.rs"]
mod node;
#[path = "ops_bench/ready.rs"]
mod ready;
#[path = "bench_support/wrk.rs"]
mod wrk;

use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

fn size(variable: &str, default: u64) -> u64 {
    std::env::var(variable)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn verdict(met: bool) -> &'static str {
    if met { "**met**" } else { "**not met**" }
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// The parts `IOTA_SCRIPTS_BENCH_OPS` asks for (every part when it is unset).
fn wanted(part: &str) -> bool {
    std::env::var("IOTA_SCRIPTS_BENCH_OPS")
        .map(|parts| parts.split(',').any(|p| p.trim() == part))
        .unwrap_or(true)
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

fn sqlite_file(name: &str) -> (String, PathBuf) {
    let file = std::env::temp_dir().join(format!("iota-{name}-{}.db", std::process::id()));
    (format!("sqlite://{}?mode=rwc", file.display()), file)
}

fn remove_sqlite(file: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
}

async fn bench() -> Result<()> {
    wrk::ensure_wrk()?;
    let write_to = std::env::args().skip_while(|a| a != "--write").nth(1);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut out = String::new();
    writeln!(out, "# Benchmarks: operations\n")?;
    writeln!(
        out,
        "Measured by `cargo xtask bench ops` (release build) on one machine ({cores} cores), all traffic on 127.0.0.1.\n"
    )?;

    if wanted("ready") {
        ready_part(&mut out).await?;
    }
    if wanted("neighbour") {
        neighbour_part(&mut out).await?;
    }
    if wanted("inflight") {
        inflight_part(&mut out, &root).await?;
    }
    if wanted("listing") {
        listing_part(&mut out).await?;
    }
    writeln!(out, "Reproduce with `cargo xtask bench ops`.")?;
    print!("{out}");
    match write_to {
        Some(_) if std::env::var("IOTA_SCRIPTS_BENCH_OPS").is_ok() => {
            eprintln!("only some parts were run: nothing written");
        }
        Some(path) => std::fs::write(&path, &out).with_context(|| format!("write {path}"))?,
        None => {}
    }
    Ok(())
}

async fn ready_part(out: &mut String) -> Result<()> {
    eprintln!("start to ready");
    writeln!(out, "## Start to ready (SQLite)\n")?;
    match ready::measure(5).await {
        Ok(r) => {
            let worst = r
                .cold
                .iter()
                .chain(&r.warm)
                .max()
                .copied()
                .unwrap_or_default();
            writeln!(
                out,
                "The real `iota-scripts serve` process, from spawn to the first 200 of `/health/ready`, 5 times each. Goal: under 1 s — {}.\n\n| case | median | worst |\n|---|---|---|\n| floor: `iota-scripts --version` (start and exit) | {} | {} |\n| new database (created, migrated, first admin) | {} | {} |\n| existing database | {} | {} |\n",
                verdict(worst < Duration::from_secs(1)),
                ms(median(&r.floor)),
                ms(r.floor.iter().max().copied().unwrap_or_default()),
                ms(median(&r.cold)),
                ms(r.cold.iter().max().copied().unwrap_or_default()),
                ms(median(&r.warm)),
                ms(r.warm.iter().max().copied().unwrap_or_default()),
            )?;
        }
        Err(error) => writeln!(out, "failed: {error:#}\n")?,
    }
    Ok(())
}

async fn neighbour_part(out: &mut String) -> Result<()> {
    eprintln!("noisy neighbour");
    writeln!(out, "## Noisy neighbour (SQLite)\n")?;
    let (url, file) = sqlite_file("neighbour-bench");
    let measured = neighbour::measure(&url).await;
    remove_sqlite(&file);
    match measured {
        Ok(n) => {
            let ratio = n.noisy.p99_ms / n.alone.p99_ms.max(0.001);
            writeln!(
                out,
                "Tenant B's public endpoint (a trivial script) under `wrk -c8 -d{}s`, alone and while tenant A keeps {} CPU-bound runs going (two-second busy loops, started again as they end; {} of them ended during B's measurement). Goal: B's p99 at most 3× its p99 alone, without errors — {} ({ratio:.2}×).\n\n| tenant B | req/s | p50 | p99 | errors |\n|---|---|---|---|---|\n| alone | {:.0} | {:.2} ms | {:.2} ms | {} |\n| beside A's loops | {:.0} | {:.2} ms | {:.2} ms | {} |\n",
                wrk::seconds(),
                neighbour::LOOPS,
                n.busy_runs,
                verdict(ratio <= 3.0 && n.alone.failed + n.noisy.failed == 0),
                n.alone.requests_per_second,
                n.alone.p50_ms,
                n.alone.p99_ms,
                n.alone.failed,
                n.noisy.requests_per_second,
                n.noisy.p50_ms,
                n.noisy.p99_ms,
                n.noisy.failed,
            )?;
        }
        Err(error) => writeln!(out, "failed: {error:#}\n")?,
    }
    Ok(())
}

async fn inflight_part(out: &mut String, root: &std::path::Path) -> Result<()> {
    let count = size("IOTA_SCRIPTS_BENCH_INFLIGHT", 10_000) as usize;
    eprintln!("{count} executions in flight");
    writeln!(out, "## Executions in flight (SQLite)\n")?;
    let (url, file) = sqlite_file("inflight-bench");
    let measured = inflight::measure(root, &url, count).await;
    remove_sqlite(&file);
    match measured {
        Ok(f) => {
            let completed = f.outcomes.get("completed").copied().unwrap_or(0);
            let each = f.peak_rss.saturating_sub(f.baseline_rss) / f.executions.max(1) as u64;
            let each_pss = f.peak_pss.saturating_sub(f.baseline_pss) / f.executions.max(1) as u64;
            let (server, workers, worker_count) = f.peak_split;
            writeln!(
                out,
                "{} runs of one script started at once, each awaiting `sdk.http.get` to a local server that answers after {} s (`bench/node/slow-server.mjs`). A sandbox worker holds up to {} runs of its tenant (`sandbox.runs_per_worker`); a run that only waits is parked in it with no thread. Memory is the server process plus its sandbox workers, sampled every 250 ms: resident (each process's resident set, summed) and proportional (the same with pages shared between processes, such as the program's text, counted once: the memory the machine gives them). Goal: all complete, under 2 GiB resident — {}.\n\n| runs | completed | outcomes | most going at once | resident before | resident peak (server + workers) | per run | proportional peak | per run | wall time |\n|---|---|---|---|---|---|---|---|---|---|\n| {} | {completed} | {:?} | {} | {} | {} ({} + {} in {worker_count}) | {:.0} KiB | {} | {:.0} KiB | {:.1} s |\n",
                f.executions,
                f.upstream_delay_ms / 1000,
                inflight::RUNS_PER_WORKER,
                verdict(completed == f.executions && f.peak_rss < 2 << 30),
                f.executions,
                f.outcomes,
                f.peak_running,
                mib(f.baseline_rss),
                mib(f.peak_rss),
                mib(server),
                mib(workers),
                each as f64 / 1024.0,
                mib(f.peak_pss),
                each_pss as f64 / 1024.0,
                f.wall.as_secs_f64(),
            )?;
        }
        Err(error) => writeln!(out, "failed: {error:#}\n")?,
    }
    Ok(())
}

async fn listing_part(out: &mut String) -> Result<()> {
    let (scripts, executions) = (
        size("IOTA_SCRIPTS_BENCH_SCRIPTS", 100_000),
        size("IOTA_SCRIPTS_BENCH_EXECUTIONS", 10_000_000),
    );
    eprintln!("listing with {scripts} scripts and {executions} executions");
    writeln!(out, "## Listing and search at scale (PostgreSQL)\n")?;
    match bench_pg::create("iota_listing_bench").await {
        Some((url, name)) => {
            let measured = listing::measure(&url, scripts, executions).await;
            bench_pg::drop(&name).await;
            match measured {
                Ok(l) => {
                    let worst = l.queries.iter().map(|q| q.2).max().unwrap_or_default();
                    writeln!(
                        out,
                        "One tenant with {} scripts and {} executions (generated in SQL in {:.0} s, then `VACUUM ANALYZE` as autovacuum would after such a load), each request asked 200 times in a row over HTTP with its token (the time includes the HTTP round trip). A list's `total` is counted up to 10,000 (`totalExact` says whether it was reached). Goal: p95 under 20 ms — {}.\n\n| request | p50 | p95 |\n|---|---|---|",
                        l.scripts,
                        l.executions,
                        l.generated_in.as_secs_f64(),
                        verdict(worst < Duration::from_millis(20)),
                    )?;
                    for (what, p50, p95) in &l.queries {
                        writeln!(out, "| {what} | {} | {} |", ms(*p50), ms(*p95))?;
                    }
                    writeln!(out)?;
                }
                Err(error) => writeln!(out, "failed: {error:#}\n")?,
            }
        }
        None => writeln!(out, "PostgreSQL is not reachable: not measured.\n")?,
    }
    Ok(())
}
