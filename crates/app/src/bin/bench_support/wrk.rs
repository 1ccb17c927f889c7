//! `wrk`, the load generator of the benchmarks: installed with apt when missing, run against
//! a URL for a number of seconds, its figures read from its output.

#![allow(dead_code)]

use anyhow::{Context, Result, bail};
use std::process::{Command, Stdio};

/// How long each measurement of a benchmark lasts, in seconds (`IOTA_SCRIPTS_BENCH_SECONDS`,
/// default 10).
pub fn seconds() -> String {
    std::env::var("IOTA_SCRIPTS_BENCH_SECONDS").unwrap_or_else(|_| "10".into())
}

/// What `wrk` measured.
#[derive(Default)]
pub struct Load {
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    pub failed: u64,
}

fn wrk_available() -> bool {
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

pub fn ensure_wrk() -> Result<()> {
    if wrk_available() {
        return Ok(());
    }
    eprintln!("installing wrk with apt");
    let _ = Command::new("apt-get").args(["update", "-qq"]).status();
    let _ = Command::new("apt-get")
        .args(["install", "-y", "-qq", "wrk"])
        .status();
    if !wrk_available() {
        bail!("wrk is needed for this benchmark: apt-get install wrk");
    }
    Ok(())
}

/// A latency of wrk's output (`1.23ms`, `456.00us`, `1.01s`) in milliseconds.
fn millis(text: &str) -> f64 {
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (text, 1.0)
    };
    number.parse::<f64>().unwrap_or(0.0) * factor
}

/// Runs wrk with `connections` against `url` for `seconds` and reads its figures.
pub fn load(url: &str, connections: &str, seconds: &str) -> Result<Load> {
    let duration = format!("{seconds}s");
    let output = Command::new("wrk")
        .args(["-t1", "-c", connections, "-d", &duration, "--latency", url])
        .output()
        .context("run wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut figures = Load::default();
    for line in text.lines().map(str::trim) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["Requests/sec:", value] => figures.requests_per_second = value.parse()?,
            ["50%", value] => figures.p50_ms = millis(value),
            ["99%", value] => figures.p99_ms = millis(value),
            [count, "requests", "in", ..] => figures.requests = count.parse()?,
            ["Non-2xx", "or", "3xx", "responses:", count] => {
                figures.failed += count.parse::<u64>()?
            }
            ["Socket", "errors:", ..] => {
                figures.failed += fields
                    .iter()
                    .filter_map(|f| f.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>()
            }
            _ => {}
        }
    }
    if figures.requests == 0 {
        bail!("wrk measured nothing at {url}:\n{text}");
    }
    Ok(figures)
}
