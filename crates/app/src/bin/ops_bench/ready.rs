//! Start to ready on SQLite: the real `iota-scripts serve` process from its spawn to the first
//! `200` of `/health/ready` — on a new database (created, migrated, first admin made) and on
//! one that exists — beside the floor of starting the binary at all (`--version`).

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Ready {
    /// `--version`: starting the binary and exiting.
    pub floor: Vec<Duration>,
    /// A new database each time.
    pub cold: Vec<Duration>,
    /// The same database again.
    pub warm: Vec<Duration>,
}

/// The product's binary beside this one (`cargo xtask bench` builds it first).
fn binary() -> Result<PathBuf> {
    let path = std::env::current_exe()?.with_file_name("iota-scripts");
    if !path.is_file() {
        bail!(
            "{} is missing: build it with `cargo build --release -p iota-scripts`",
            path.display()
        );
    }
    Ok(path)
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Starts `serve` on `database` and waits for readiness; how long that took.
async fn start_to_ready(program: &Path, database: &Path) -> Result<Duration> {
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}/health/ready");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()?;
    let started = Instant::now();
    let mut child = Command::new(program)
        .arg("serve")
        .env("IOTA_SCRIPTS__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", database.display()),
        )
        .env("IOTA_SCRIPTS__LOG__LEVEL", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("start {}", program.display()))?;
    let mut ready = None;
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(response) = client.get(&url).send().await
            && response.status().is_success()
        {
            ready = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    ready.context("the server was not ready within 30 s")
}

pub async fn measure(runs: usize) -> Result<Ready> {
    let program = binary()?;
    let dir = std::env::temp_dir().join(format!("iota-ready-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut ready = Ready {
        floor: Vec::new(),
        cold: Vec::new(),
        warm: Vec::new(),
    };
    for run in 0..runs {
        let started = Instant::now();
        let status = Command::new(&program)
            .arg("--version")
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("{} --version failed", program.display());
        }
        ready.floor.push(started.elapsed());
        let database = dir.join(format!("cold-{run}.db"));
        ready.cold.push(start_to_ready(&program, &database).await?);
        ready.warm.push(start_to_ready(&program, &database).await?);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(ready)
}
