//! Process isolation, tried as an attacker would: scripts that make the host allocate without
//! bound, natives the interrupt handler cannot reach, a source that takes long to compile, a
//! worker killed from outside, and a worker that tries to open files, sockets and programs.
//! Each time the run ends with the right status and a clear error, the engine keeps serving,
//! and another tenant's run started meanwhile completes.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use domain::TenantId;
use domain::execution::Outcome;
use domain::script::ScriptType;
use runtime::{EngineConfig, SandboxConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

/// Waits, bounded, until `condition` holds.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < until, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn alive(pid: u32) -> bool {
    // A reaped process has no /proc entry; a zombie would show state Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.contains(") Z "))
        .unwrap_or(false)
}

/// CPU time (user + system) of this process, in clock ticks.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat.rsplit(") ").next().unwrap().split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Starts a trivial run of another tenant, to be awaited once the attack has played out.
fn bystander(engine: &runtime::Engine) -> tokio::task::JoinHandle<runtime::Report> {
    let engine = engine.clone();
    let job = with_time(
        TenantId::new(),
        "export default async () => { await new Promise((r) => setTimeout(r, 300)); return 'fine' }",
        10_000,
    );
    tokio::spawn(async move { run(&engine, job).await })
}

fn with_time(tenant: TenantId, source: &str, ms: u64) -> runtime::Job {
    let mut job = job_of(tenant, ScriptType::OneOff, source);
    job.limits.max_execution_time_ms = ms;
    job
}

async fn still_serves(engine: &runtime::Engine, tenant: TenantId) {
    let report = run(
        engine,
        with_time(tenant, "export default () => 'ok'", 5_000),
    )
    .await;
    assert_eq!(output(&report), "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_native_loop_past_its_deadline_is_killed_and_frees_its_slot_at_once() {
    let engine = engine_with(
        EngineConfig {
            max_concurrent_per_tenant: 1,
            ..EngineConfig::default()
        },
        Arc::new(TestHost),
    );
    // One run at a time for the tenant: each next run is accepted only if the last one's slot
    // was given back when it answered.
    let tenant = TenantId::new();
    let other = bystander(&engine);
    let mut killed = 0;
    for source in [
        "export default () => Array.prototype.join.call({length: 2**40}, '').length",
        "export default () => Array.prototype.lastIndexOf.call({length: 2**40}, 1)",
        "export default () => Array.prototype.reverse.call({length: 2**40})",
        "export default () => Array.prototype.copyWithin.call({length: 2**40}, 0, 1)",
    ] {
        let job = with_time(tenant, source, 1_000);
        let (running, pid) = started(&engine, job).await;
        let report = running.await.unwrap();
        match &report.outcome {
            Outcome::TimedOut(error) => {
                assert_eq!(error.code, "TIMEOUT", "{source}");
                // Stuck inside the native: the supervisor killed its worker.
                if error.message.contains("native operation") {
                    eventually("the worker is gone", || !alive(pid)).await;
                    killed += 1;
                }
            }
            other => panic!("{source}: expected a timeout, got {other:?}"),
        }
    }
    assert!(
        killed >= 1,
        "join on a huge array-like cannot be interrupted: its worker is killed"
    );
    // Nothing burns CPU after the answers: the process's CPU time stays flat.
    let before = cpu_ticks();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ticks_per_second = 100;
    assert!(
        cpu_ticks() - before < ticks_per_second / 3,
        "CPU time grew after the runs ended"
    );
    assert_eq!(output(&other.await.unwrap()), "fine");
    still_serves(&engine, tenant).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn host_allocations_a_script_drives_end_its_run_not_the_server() {
    let engine = engine();
    let tenant = TenantId::new();
    let other = bystander(&engine);
    for (source, code) in [
        (
            "export default () => utils.template('{{a}}'.repeat(1000), { a: 'x'.repeat(8*1024*1024) }).length",
            "OUTPUT_LIMIT",
        ),
        (
            "export default () => { const s = 'x'.repeat(8*1024*1024); console.log(...new Array(500).fill(s)) }",
            "LOG_LIMIT",
        ),
    ] {
        let report = run(&engine, with_time(tenant, source, 10_000)).await;
        let error = failure(&report);
        assert_eq!(error.code, code, "{source}: {error:?}");
    }
    let report = run(
        &engine,
        with_time(
            tenant,
            "export default () => { const e = new Error('x'.repeat(60*1024*1024)); e.code = 'C'.repeat(1024); throw e }",
            10_000,
        ),
    )
    .await;
    let error = failure(&report);
    assert!(
        error.code.len() <= 64 && error.message.len() <= 64 * 1024,
        "the error record is capped: code {} bytes, message {} bytes",
        error.code.len(),
        error.message.len()
    );
    assert_eq!(output(&other.await.unwrap()), "fine");
    still_serves(&engine, tenant).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_from_outside_fails_only_its_runs() {
    let engine = engine();
    let tenant = TenantId::new();
    let other = bystander(&engine);
    let job = with_time(
        tenant,
        "export default () => new Promise((r) => setTimeout(r, 20000))",
        30_000,
    );
    let (running, pid) = started(&engine, job).await;
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let error = failure(&running.await.unwrap());
    assert_eq!(error.code, "SANDBOX_CRASHED");
    assert!(error.message.contains("signal"), "{error:?}");
    assert_eq!(output(&other.await.unwrap()), "fine");
    assert_eq!(engine.running(), 0);
    still_serves(&engine, tenant).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_that_takes_long_to_compile_is_stopped() {
    let engine = engine_with(
        EngineConfig {
            sandbox: SandboxConfig {
                compile_time: Duration::from_millis(500),
                ..SandboxConfig::default()
            },
            ..EngineConfig::default()
        },
        Arc::new(TestHost),
    );
    let tenant = TenantId::new();
    let mut source = String::new();
    let count = 40_000;
    for i in 0..count {
        source.push_str(&format!("let a{i}=0;"));
    }
    source.push_str("export default()=>[");
    for i in 0..count {
        source.push_str(&format!("()=>a{i},"));
    }
    source.push_str("].length\n");
    assert!(source.len() < 1024 * 1024, "{} bytes", source.len());
    let error = engine
        .check(tenant, &source, ScriptType::OneOff)
        .await
        .unwrap_err();
    assert_eq!(error.code, "COMPILE_TIMEOUT", "{error:?}");
    let report = run(&engine, with_time(tenant, &source, 500)).await;
    assert!(
        matches!(report.outcome, Outcome::TimedOut(_)),
        "{:?}",
        report.outcome
    );
    still_serves(&engine, tenant).await;
    assert!(
        engine
            .check(tenant, "export default () => 1", ScriptType::OneOff)
            .await
            .is_ok()
    );
}

/// Whether this kernel offers seccomp filters at all.
fn kernel_has_seccomp() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|status| status.lines().any(|l| l.starts_with("Seccomp:")))
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_cannot_open_files_sockets_or_programs_or_raise_its_priority() {
    let engine = engine();
    let (layers, attempts) = engine.probe_sandbox(TenantId::new()).await.unwrap();
    assert_eq!(layers.memory_cap, None);
    assert_eq!(layers.no_new_privs, None);
    if !kernel_has_seccomp() {
        eprintln!("this kernel has no seccomp: only the other layers are checked");
        return;
    }
    assert_eq!(layers.seccomp, None, "the filter is in place");
    assert_eq!(attempts.len(), 7);
    for attempt in attempts {
        assert!(
            attempt.result.is_err(),
            "the sandbox let a worker {}",
            attempt.action
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_program_that_is_not_a_worker_is_reported_clearly() {
    let config = EngineConfig {
        sandbox: SandboxConfig {
            mode: runtime::WorkerMode::Process {
                program: "/bin/true".into(),
                args: Vec::new(),
            },
            warm_workers: 0,
            ..SandboxConfig::default()
        },
        ..EngineConfig::default()
    };
    let engine = runtime::Engine::new(
        config,
        Arc::new(TestHost),
        tokio::runtime::Handle::current(),
    );
    let error = engine.self_check().await.unwrap_err();
    assert!(
        error.message.contains("run_worker_if_requested"),
        "{error:?}"
    );
    let report = run(
        &engine,
        with_time(TenantId::new(), "export default () => 1", 1_000),
    )
    .await;
    assert_eq!(failure(&report).code, "SANDBOX_CRASHED");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_cannot_flood_the_host_with_pending_calls() {
    let engine = engine();
    let source = "export default async () => {
        const calls = Array.from({ length: 200 }, (_, i) => services.math.add(i, 1).then(() => 'ok', (e) => e.code));
        const results = await Promise.all(calls);
        return { ok: results.filter((r) => r === 'ok').length, refused: results.filter((r) => r === 'TOO_MANY_CALLS').length };
    }";
    let value = output(&run(&engine, with_time(TenantId::new(), source, 10_000)).await);
    assert_eq!(
        value["ok"].as_u64().unwrap() + value["refused"].as_u64().unwrap(),
        200,
        "{value}"
    );
    assert!(value["ok"].as_u64().unwrap() >= 64, "{value}");
    assert!(
        value["refused"].as_u64().unwrap() > 0,
        "at most 64 calls are pending: {value}"
    );
}

/// The niceness of a process (field 19 of `/proc/<pid>/stat`).
fn niceness(pid: &str) -> i64 {
    niceness_if_there(pid).unwrap()
}

/// The niceness of a process or thread, if it still exists.
fn niceness_if_there(pid: &str) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit(") ").next()?.split(' ').collect();
    fields.get(16)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn scripts_run_at_a_lower_cpu_priority_than_the_server() {
    let engine = engine_with(
        EngineConfig {
            sandbox: SandboxConfig {
                worker_nice: 7,
                ..SandboxConfig::default()
            },
            ..EngineConfig::default()
        },
        Arc::new(TestHost),
    );
    let job = with_time(
        TenantId::new(),
        "export default () => new Promise((r) => setTimeout(() => r('done'), 1000))",
        10_000,
    );
    let (running, pid) = started(&engine, job).await;
    let server = niceness("self");
    assert_eq!(niceness(&pid.to_string()), (server + 7).min(19));
    assert_eq!(output(&running.await.unwrap()), "done");
}

/// The niceness of each thread of process `pid`.
/// The scheduling policy of each thread of a process (field 41 of its `stat`; 5 is
/// `SCHED_IDLE`).
fn thread_policies(pid: u32) -> Vec<i64> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| {
            tasks
                .filter_map(Result::ok)
                .filter_map(|task| {
                    let stat = std::fs::read_to_string(format!(
                        "/proc/{pid}/task/{}/stat",
                        task.file_name().to_string_lossy()
                    ))
                    .ok()?;
                    let fields: Vec<&str> = stat.rsplit(") ").next()?.split(' ').collect();
                    fields.get(38)?.parse().ok()
                })
                .collect()
        })
        .unwrap_or_default()
}

const SCHED_IDLE: i64 = 5;

fn thread_niceness(pid: u32) -> Vec<i64> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| {
            tasks
                .filter_map(Result::ok)
                // A thread may end between the listing and the read.
                .filter_map(|task| {
                    niceness_if_there(&format!(
                        "{pid}/task/{}",
                        task.file_name().to_string_lossy()
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `job` started on `engine`, once a worker holds it: the run, and that worker's pid.
async fn started(
    engine: &runtime::Engine,
    job: runtime::Job,
) -> (tokio::task::JoinHandle<runtime::Report>, u32) {
    let id = job.execution_id;
    let running = {
        let engine = engine.clone();
        tokio::spawn(async move { run(&engine, job).await })
    };
    eventually("the run has a worker", || engine.worker_pid(id).is_some()).await;
    (running, engine.worker_pid(id).unwrap())
}

/// A run of `source` started on a new engine for `tenant`, with its worker's pid; `None` when
/// the worker already runs at the lowest priority (a niced test run: nothing to compare).
async fn watched_run(
    tenant: TenantId,
    source: &str,
) -> Option<(
    runtime::Engine,
    tokio::task::JoinHandle<runtime::Report>,
    u32,
)> {
    let engine = engine_with(EngineConfig::default(), Arc::new(TestHost));
    let job = with_time(tenant, source, 10_000);
    let (running, pid) = started(&engine, job).await;
    if niceness(&pid.to_string()) >= 19 {
        eprintln!("skipped: the worker already runs at the lowest priority (a niced test run)");
        return None;
    }
    Some((engine, running, pid))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_keeps_computing_gives_way_to_short_runs() {
    let tenant = TenantId::new();
    let Some((engine, running, pid)) = watched_run(
        tenant,
        "export default () => { const end = Date.now() + 1500; let n = 0; while (Date.now() < end) { n++ } return 'computed' }",
    )
    .await
    else {
        return;
    };
    // Its thread, still computing past its first 20 ms of CPU time, is demoted: the lowest
    // niceness and the idle policy.
    eventually("the computing thread is demoted", || {
        thread_niceness(pid).contains(&19) && thread_policies(pid).contains(&SCHED_IDLE)
    })
    .await;
    assert_eq!(output(&running.await.unwrap()), "computed");
    // The demoted thread left with its run: the worker's threads are back at its niceness,
    // and a run of the same tenant afterwards is served as before.
    eventually("the demoted thread is gone", || {
        !thread_niceness(pid).contains(&19)
    })
    .await;
    still_serves(&engine, tenant).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_does_not_count_towards_a_runs_demotion() {
    // Three short bursts of computing (each just past the engine's interrupt interval, a
    // fraction of a millisecond) after waits of 100 ms: 300 ms and more of wall time, little
    // CPU.
    let Some((_engine, running, pid)) = watched_run(
        TenantId::new(),
        "export default async () => { let n = 0; for (let i = 0; i < 3; i++) { await new Promise((r) => setTimeout(r, 100)); for (let j = 0; j < 11000; j++) { n += j } } return 'waited' }",
    )
    .await
    else {
        return;
    };
    let mut looks = 0;
    while !running.is_finished() {
        assert!(
            !thread_niceness(pid).contains(&19) && !thread_policies(pid).contains(&SCHED_IDLE),
            "a run that mostly waits was demoted"
        );
        looks += 1;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(looks > 10, "the run ended before it was watched");
    assert_eq!(output(&running.await.unwrap()), "waited");
}

/// The threads of process `pid`.
fn thread_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| tasks.count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_that_only_wait_hold_no_thread() {
    const RUNS: usize = 48;
    let engine = engine_with(
        EngineConfig {
            max_concurrent_per_tenant: RUNS,
            sandbox: SandboxConfig {
                runs_per_worker: RUNS,
                ..SandboxConfig::default()
            },
            ..EngineConfig::default()
        },
        Arc::new(TestHost),
    );
    let tenant = TenantId::new();
    // Each run waits on a timer, computes a little, waits on a second timer, and ends with
    // what it computed: a run carried across threads keeps its state.
    let source = "export default async (n) => { await new Promise((r) => setTimeout(r, 1500)); let s = 0; for (let i = 0; i < 1000; i++) { s += i } await new Promise((r) => setTimeout(r, 10)); return s + n }";
    let job = |n: u64| {
        let mut job = with_time(tenant, source, 30_000);
        job.argument = serde_json::json!(n);
        job
    };
    let (first, pid) = started(&engine, job(0)).await;
    let mut runs = vec![first];
    for n in 1..RUNS as u64 {
        let (engine, job) = (engine.clone(), job(n));
        runs.push(tokio::spawn(async move { run(&engine, job).await }));
    }
    eventually("every run has started", || engine.running() == RUNS).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // All wait in one worker, which holds a few threads (reading, alarms, an idle pool), not
    // one per waiting run.
    let threads = thread_count(pid);
    assert!(
        threads < RUNS / 2,
        "{threads} threads in the worker for {RUNS} waiting runs"
    );
    for (n, running) in runs.into_iter().enumerate() {
        assert_eq!(output(&running.await.unwrap()), 499_500 + n as u64);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stack_limit_holds_for_runs_resumed_on_another_thread() {
    // Runs that wait (parked) and then recurse: on whatever thread each resumes, a modest
    // recursion works and an endless one ends with STACK_OVERFLOW, never a crash of the worker.
    const RUNS: u64 = 16;
    let engine = engine_with(
        EngineConfig {
            max_concurrent_per_tenant: RUNS as usize,
            ..EngineConfig::default()
        },
        Arc::new(TestHost),
    );
    let tenant = TenantId::new();
    let source = "function depth(n) { return n === 0 ? 0 : depth(n - 1) + 1 } function down(n) { return down(n + 1) + 1 } export default async (n) => { for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 20 + n)); return n % 2 === 0 ? depth(100) : down(0) }";
    let job = |n: u64| {
        let mut job = with_time(tenant, source, 30_000);
        job.argument = serde_json::json!(n);
        job
    };
    let (first, pid) = started(&engine, job(0)).await;
    let mut runs = vec![first];
    for n in 1..RUNS {
        let (engine, job) = (engine.clone(), job(n));
        runs.push(tokio::spawn(async move { run(&engine, job).await }));
    }
    for (n, running) in runs.into_iter().enumerate() {
        let report = running.await.unwrap();
        if n % 2 == 0 {
            assert_eq!(output(&report), 100);
        } else {
            assert_eq!(failure(&report).code, "STACK_OVERFLOW", "{report:?}");
        }
    }
    assert!(alive(pid), "the worker died");
    still_serves(&engine, tenant).await;
}
