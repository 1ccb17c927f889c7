//! `cargo xtask bench endpoint`: requests per second and latency of a trivial public HTTP
//! endpoint script, end to end with every execution recorded, on SQLite and PostgreSQL;
//! side by side in the same run with a Node.js server that runs the same script in a fresh
//! `vm` context per request (`bench/node/vm-server.mjs`, nothing recorded) and a bare
//! actix-web handler answering the same JSON (the ceiling of the stack). The load comes from
//! `wrk` on 127.0.0.1 (installed with apt when missing). Writes Markdown to stdout and to
//! the file given with `--write`.

#[path = "bench_support/postgres.rs"]
mod bench_pg;
#[path = "bench_support/node.rs"]
mod node;
#[path = "bench_support/wrk.rs"]
mod wrk;

use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::{Context, Result, bail};
use node::BenchNode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use wrk::{Load, ensure_wrk};

const CONNECTIONS: &str = "64";

use wrk::seconds;

/// Runs wrk against `url` for the configured time.
fn load(url: &str) -> Result<Load> {
    wrk::load(url, CONNECTIONS, &seconds())
}

/// Runs at once the script allows in the second measurement of each database: as many as
/// wrk's connections (the default is 5).
const RAISED_CONCURRENCY: u64 = 64;

/// The product on `url`: a tenant with a public endpoint script allowing `concurrent` runs at
/// once (the default when `None`); the load, and how many executions were recorded.
async fn product(database: &str, concurrent: Option<u64>) -> Result<(Load, u64)> {
    let node = BenchNode::start(&node::settings(database)).await?;
    let token = node.tenant("bench").await?;
    let mut script = json!({
        "name": "Hello", "type": "http", "status": "active", "endpointAuth": "public",
        "httpPath": "/hello", "httpMethods": ["GET"],
        "source": "export default (request) => ({ status: 200, body: { hello: 'world', path: request.path } })",
    });
    if let Some(runs) = concurrent {
        script["limits"] = json!({ "maxConcurrentRuns": runs });
    }
    node.script(&token, &script).await?;
    let hook = format!("{}/hooks/bench/hello", node.base);
    let check = node.client.get(&hook).send().await?;
    if !check.status().is_success() {
        bail!("the endpoint answers {}", check.status());
    }
    let figures = tokio::task::spawn_blocking(move || load(&hook)).await??;
    node.stop().await;
    // Counted in the database (the API's totals stop at 10,000); the bench database holds
    // this script's runs only.
    let db = sea_orm::Database::connect(database).await?;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS recorded FROM script_executions",
        ))
        .await?;
    let recorded = row
        .map(|row| row.try_get::<i64>("", "recorded"))
        .transpose()?
        .unwrap_or(0);
    db.close().await?;
    Ok((figures, u64::try_from(recorded).unwrap_or(0)))
}

/// The Node.js peer: started, measured, stopped.
fn node_peer(root: &std::path::Path) -> Result<Load> {
    let script = root.join("bench").join("node").join("vm-server.mjs");
    let mut child = Command::new("node")
        .arg(&script)
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("start node {}", script.display()))?;
    let mut port = String::new();
    if let Some(stdout) = child.stdout.take() {
        BufReader::new(stdout).read_line(&mut port)?;
    }
    let measured = load(&format!("http://127.0.0.1:{}/hello", port.trim()));
    let _ = child.kill();
    let _ = child.wait();
    measured
}

/// A bare actix-web handler answering the same JSON, with the product's server defaults.
async fn bare() -> Result<Load> {
    let server = HttpServer::new(|| {
        App::new().route(
            "/hello",
            web::get().to(|| async {
                HttpResponse::Ok().json(json!({ "hello": "world", "path": "/hello" }))
            }),
        )
    })
    .bind("127.0.0.1:0")?;
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    let running = tokio::spawn(server);
    let url = format!("http://127.0.0.1:{port}/hello");
    let figures = tokio::task::spawn_blocking(move || load(&url)).await??;
    handle.stop(true).await;
    let _ = running.await;
    Ok(figures)
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

fn row(out: &mut String, name: &str, load: &Load, recorded: &str, node: f64, ceiling: f64) {
    let _ = writeln!(
        out,
        "| {name} | {:.0} | {:.2} ms | {:.2} ms | {} | {recorded} | {:.2}× | {:.1}% |",
        load.requests_per_second,
        load.p50_ms,
        load.p99_ms,
        load.failed,
        load.requests_per_second / node,
        100.0 * load.requests_per_second / ceiling,
    );
}

async fn bench() -> Result<()> {
    ensure_wrk()?;
    let write_to = std::env::args().skip_while(|a| a != "--write").nth(1);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..");
    let mut sqlite = Vec::new();
    for (run, concurrent) in [None, Some(RAISED_CONCURRENCY)].into_iter().enumerate() {
        // A file of its own per run: a connection of the last run's node that has not closed
        // yet must not meet a new file at the same path.
        let file = std::env::temp_dir().join(format!(
            "iota-endpoint-bench-{}-{run}.db",
            std::process::id()
        ));
        sqlite.push(product(&format!("sqlite://{}?mode=rwc", file.display()), concurrent).await);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
    }
    let postgres = match bench_pg::create("iota_endpoint_bench").await {
        Some((url, name)) => {
            let default = product(&url, None).await;
            bench_pg::drop(&name).await;
            let raised = match bench_pg::create("iota_endpoint_bench").await {
                Some((url, name)) => {
                    let measured = product(&url, Some(RAISED_CONCURRENCY)).await;
                    bench_pg::drop(&name).await;
                    measured
                }
                None => Err(anyhow::anyhow!("PostgreSQL went away")),
            };
            Some(vec![default, raised])
        }
        None => {
            eprintln!("PostgreSQL is not reachable: measuring SQLite only");
            None
        }
    };
    let node = node_peer(&root)?;
    let ceiling = bare().await?;
    let mut out = String::new();
    writeln!(out, "# Benchmarks: HTTP endpoint\n")?;
    writeln!(
        out,
        "Measured by `cargo xtask bench endpoint` (release build) with `wrk -t1 -c{CONNECTIONS} -d{}s` on 127.0.0.1, all on one machine ({} cores). The product serves a public endpoint script `export default (request) => ({{ status: 200, body: {{ hello: 'world', path: request.path }} }})` with the default settings but the tenant and endpoint rate limits (raised out of the way), once with the script's default of 5 runs at once (the other requests wait their turn) and once allowing {RAISED_CONCURRENCY}, one per connection; every request runs the script in the sandbox and records its execution. The Node.js peer (`bench/node/vm-server.mjs`) runs the same function in a fresh `vm` context per request and records nothing; the bare actix-web handler answers the same JSON. Goals: at least 4× the Node server and 8% of the bare handler.\n",
        seconds(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    )?;
    writeln!(
        out,
        "| server | req/s | p50 | p99 | errors | executions recorded | vs Node vm | of bare actix |\n|---|---|---|---|---|---|---|---|"
    )?;
    let node_rps = node.requests_per_second.max(1.0);
    let ceiling_rps = ceiling.requests_per_second.max(1.0);
    let sqlite = sqlite.into_iter();
    let postgres = postgres.into_iter().flatten();
    let names = [
        "IOTA Scripts, SQLite, 5 runs at once",
        "IOTA Scripts, SQLite, 64 runs at once",
        "IOTA Scripts, PostgreSQL, 5 runs at once",
        "IOTA Scripts, PostgreSQL, 64 runs at once",
    ];
    for (name, measured) in names.into_iter().zip(sqlite.chain(postgres).map(Some)) {
        match measured {
            Some(Ok((load, recorded))) => row(
                &mut out,
                name,
                &load,
                &recorded.to_string(),
                node_rps,
                ceiling_rps,
            ),
            Some(Err(error)) => writeln!(out, "| {name} | failed: {error:#} | | | | | | |")?,
            None => {}
        }
    }
    row(
        &mut out,
        "Node.js, fresh vm context",
        &node,
        "none",
        node_rps,
        ceiling_rps,
    );
    row(
        &mut out,
        "bare actix-web handler",
        &ceiling,
        "none",
        node_rps,
        ceiling_rps,
    );
    writeln!(out, "\nReproduce with `cargo xtask bench endpoint`.")?;
    print!("{out}");
    if let Some(path) = write_to {
        std::fs::write(&path, &out).with_context(|| format!("write {path}"))?;
    }
    Ok(())
}
