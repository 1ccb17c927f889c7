//! `cargo xtask bench runtime`: measures the engine on this machine and writes the figures as
//! Markdown (to stdout, and to the file given with `--write`).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use domain::execution::Outcome;
use domain::script::{ResourceLimits, ScriptType};
use domain::{ExecutionId, ScriptId, TenantId};
use runtime::{Engine, EngineConfig, Job, NoHost, WorkerMode, bare_isolate_run};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TRIVIAL: &str = "export default () => 1 + 1";

fn job(tenant: TenantId, source: &str, input: Value) -> Job {
    Job {
        execution_id: ExecutionId::new(),
        tenant_id: tenant,
        script_id: ScriptId::new(),
        script_version: 1,
        user_id: None,
        script_type: ScriptType::OneOff,
        source: source.into(),
        limits: ResourceLimits {
            max_execution_time_ms: 120_000,
            ..ResourceLimits::default()
        },
        input: input.clone(),
        argument: input,
        trigger: json!({"type": "manual"}),
        event_depth: 0,
        live: None,
    }
}

struct Stats {
    p50: Duration,
    p95: Duration,
    p99: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    Stats {
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
    }
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn time<F: FnMut()>(iterations: usize, mut f: F) -> Vec<Duration> {
    (0..iterations)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect()
}

fn completed(outcome: &Outcome) {
    assert!(
        matches!(outcome, Outcome::Completed(_)),
        "benchmark script failed: {outcome:?}"
    );
}

/// Proportional set size of a process, in bytes (shared pages split between their users).
fn pss_bytes(pid: u32) -> u64 {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    rollup
        .lines()
        .find(|l| l.starts_with("Pss:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Memory of this process and its sandbox workers (its child processes), by PSS.
fn tree_memory_bytes() -> u64 {
    let me = std::process::id();
    let children: Vec<u32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let rest = stat.rsplit(") ").next()?.to_owned();
                    rest.split(' ').nth(1)?.parse::<u32>().ok()
                })
                == Some(me)
        })
        .collect();
    pss_bytes(me) + children.into_iter().map(pss_bytes).sum::<u64>()
}

fn main() {
    runtime::run_worker_if_requested();
    let write_to = std::env::args().skip_while(|a| a != "--write").nth(1);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let handle = tokio.handle().clone();
    let config = EngineConfig {
        max_concurrent_per_tenant: 2048,
        max_concurrent_executions: 4096,
        ..EngineConfig::default()
    };
    let mut report = String::new();
    let out = &mut report;
    writeln!(out, "# Benchmarks: the engine\n").unwrap();
    writeln!(
        out,
        "Measured by `cargo xtask bench` (release build) on a machine with {cores} cores."
    )
    .unwrap();
    writeln!(
        out,
        "Each isolate figure is one whole execution in a fresh runtime and context.\n"
    )
    .unwrap();

    // 1. Fresh isolates for a trivial script, one after another: the bare floor, then whole
    //    executions through the supervisor, a worker process and back.
    let engine = Engine::new(config.clone(), Arc::new(NoHost), handle.clone());
    let in_process = Engine::new(
        EngineConfig {
            sandbox: runtime::SandboxConfig {
                mode: WorkerMode::InProcessUnisolated,
                ..config.sandbox.clone()
            },
            ..config.clone()
        },
        Arc::new(NoHost),
        handle.clone(),
    );
    let tenant = TenantId::new();
    let script = ScriptId::new();
    let run_trivial = |engine: &Engine, script: ScriptId| {
        let mut job = job(tenant, TRIVIAL, Value::Null);
        job.script_id = script;
        completed(&tokio.block_on(engine.run(job)).unwrap().outcome);
    };
    for _ in 0..300 {
        bare_isolate_run("1 + 1");
        run_trivial(&engine, script);
        run_trivial(&in_process, script);
    }
    let iterations = 3000;
    let bare = stats(time(iterations, || assert!(bare_isolate_run("1 + 1"))));
    let cached = stats(time(iterations, || run_trivial(&engine, script)));
    let unisolated = stats(time(iterations, || run_trivial(&in_process, script)));
    let uncached = stats(time(iterations / 3, || {
        run_trivial(&engine, ScriptId::new())
    }));
    let ratio = cached.p50.as_secs_f64() / bare.p50.as_secs_f64();
    writeln!(out, "## Fresh isolate, trivial script (one caller)\n").unwrap();
    writeln!(out, "| case | p50 | p95 | p99 |\n|---|---|---|---|").unwrap();
    for (name, s) in [
        (
            "floor: bare `Runtime::new` + `Context::full` + eval, in process",
            &bare,
        ),
        (
            "whole path: supervisor → worker process → sandbox with the SDK → report, bytecode cached",
            &cached,
        ),
        ("whole path, compiling each time (no cache)", &uncached),
        (
            "same path with in-process workers (not isolated; for comparison)",
            &unisolated,
        ),
    ] {
        writeln!(
            out,
            "| {name} | {} | {} | {} |",
            us(s.p50),
            us(s.p95),
            us(s.p99)
        )
        .unwrap();
    }
    writeln!(
        out,
        "\nWhole path ÷ floor at p50: **{ratio:.2}×** (target ≤ 1.5×).\n"
    )
    .unwrap();

    // 2. Throughput on all cores through the engine.
    let throughput = tokio.block_on(async {
        let window = Duration::from_secs(3);
        let start = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..cores * 2 {
            let engine = engine.clone();
            let script = ScriptId::new();
            let tenant = TenantId::new();
            workers.push(tokio::spawn(async move {
                let mut done = 0u64;
                while start.elapsed() < window {
                    let mut job = job(tenant, TRIVIAL, Value::Null);
                    job.script_id = script;
                    completed(&engine.run(job).await.unwrap().outcome);
                    done += 1;
                }
                done
            }));
        }
        let mut total = 0;
        for worker in workers {
            total += worker.await.unwrap();
        }
        total as f64 / start.elapsed().as_secs_f64()
    });
    writeln!(out, "## Throughput\n").unwrap();
    writeln!(out, "Trivial script through `Engine::run` (limits, cached bytecode, supervisor, worker process and back), {} callers (one tenant each) on {cores} cores: **{throughput:.0} executions/s**.\n", cores * 2).unwrap();

    // 3. Workloads.
    let fib = "function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) } export default () => fib(25)";
    let records: Vec<Value> = (0..1000).map(|i| json!({"id": i, "name": format!("client {i}"), "active": i % 3 != 0, "balance": i * 17 % 1000, "tags": ["a", "b"]})).collect();
    let mut payload = serde_json::to_string(&records).unwrap();
    while payload.len() < 100 * 1024 {
        payload.push(' ');
    }
    let json_script = "export default (text) => { const rows = JSON.parse(text); \
        const active = rows.filter((r) => r.active).map((r) => ({ id: r.id, balance: r.balance * 2 })); \
        const total = active.reduce((sum, r) => sum + r.balance, 0); return JSON.stringify({ total, active }).length }";
    writeln!(out, "## Workloads (through `Engine::run`)\n").unwrap();
    writeln!(
        out,
        "| workload | worker process p50 | p95 | in-process (not isolated) p50 | p95 |\n|---|---|---|---|---|"
    )
    .unwrap();
    for (name, source, input, iterations) in [
        ("CPU-bound: recursive fib(25)", fib, Value::Null, 30),
        (
            "JSON: parse 100 KB, filter/map/reduce 1,000 records, stringify",
            json_script,
            Value::String(payload.clone()),
            100,
        ),
    ] {
        let mut cells = Vec::new();
        for engine in [&engine, &in_process] {
            let script = ScriptId::new();
            let tenant = TenantId::new();
            let samples = tokio.block_on(async {
                let mut samples = Vec::new();
                for _ in 0..iterations {
                    let mut job = job(tenant, source, input.clone());
                    job.script_id = script;
                    let start = Instant::now();
                    completed(&engine.run(job).await.unwrap().outcome);
                    samples.push(start.elapsed());
                }
                samples
            });
            let s = stats(samples);
            cells.push(format!("{} | {}", ms(s.p50), ms(s.p95)));
        }
        writeln!(out, "| {name} | {} |", cells.join(" | ")).unwrap();
    }

    drop(in_process);

    // 4. Memory per idle execution: 1,000 executions awaiting a timer.
    let idle = 1000;
    let before = tree_memory_bytes();
    let idle_tenant = TenantId::new();
    let per_execution = tokio.block_on(async {
        let mut waiting = Vec::new();
        let script = ScriptId::new();
        for _ in 0..idle {
            let engine = engine.clone();
            let mut job = job(
                idle_tenant,
                "export default () => new Promise((r) => setTimeout(r, 3000))",
                Value::Null,
            );
            job.script_id = script;
            job.limits.max_concurrent_runs = 10_000;
            waiting.push(tokio::spawn(async move {
                engine.run(job).await.unwrap().outcome
            }));
        }
        while engine.running() < idle {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let during = tree_memory_bytes();
        for handle in waiting {
            completed(&handle.await.unwrap());
        }
        during.saturating_sub(before) / idle as u64
    });
    writeln!(out, "\n## Memory\n").unwrap();
    writeln!(out, "{idle} executions of one tenant awaiting a timer at once: **{:.0} KiB of memory each** (growth of the proportional set size of the server and its worker processes ÷ {idle}; each execution holds its own runtime and context, parked with no thread while it waits, {} per worker).\n", per_execution as f64 / 1024.0, config.sandbox.runs_per_worker).unwrap();

    // 5. Latency of a trivial script while other tenants run CPU-bound loops.
    let busy = cores * 2;
    let samples = tokio.block_on(async {
        let mut loops = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..busy {
            let mut job = job(
                TenantId::new(),
                "export default () => { for (;;) {} }",
                Value::Null,
            );
            job.limits.max_execution_time_ms = 60_000;
            ids.push(job.execution_id);
            let engine = engine.clone();
            loops.push(tokio::spawn(async move { engine.run(job).await }));
        }
        while engine.running() < busy {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let script = ScriptId::new();
        let tenant = TenantId::new();
        let mut samples = Vec::new();
        for _ in 0..100 {
            let mut job = job(tenant, TRIVIAL, Value::Null);
            job.script_id = script;
            let start = Instant::now();
            completed(&engine.run(job).await.unwrap().outcome);
            samples.push(start.elapsed());
        }
        for id in ids {
            engine.cancel(id);
        }
        for handle in loops {
            let _ = handle.await;
        }
        samples
    });
    let s = stats(samples);
    writeln!(out, "## Fairness\n").unwrap();
    writeln!(out, "A trivial script of one tenant while {busy} CPU-bound loops of other tenants run: p50 {}, p95 {}, p99 {}.\n", ms(s.p50), ms(s.p95), ms(s.p99)).unwrap();
    writeln!(out, "Reproduce with `cargo xtask bench`.").unwrap();

    print!("{report}");
    if let Some(path) = write_to {
        std::fs::write(&path, &report).unwrap();
        eprintln!("written to {path}");
    }
}
