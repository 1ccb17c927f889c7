//! The browser tests of `tests/e2e`: the real `iota-scripts` binary driven in Debian's headless
//! Chromium through `playwright-core`. Skipped with a message when Chromium is absent (`.ci/run`
//! installs it, so CI always runs them; with `CI` set a missing Chromium is an error).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};

use crate::step::{cargo, run_step, succeeds};

const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// Where cargo puts the workspace's builds: `$CARGO_TARGET_DIR`, else `target/`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        }
        _ => root.join("target"),
    }
}

/// Builds the server, installs the test package's npm dependencies if needed, and runs it.
pub fn run(root: &Path) -> Result<()> {
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CHROMIUM));
    if !chromium.is_file() {
        if std::env::var_os("CI").is_some() {
            bail!(
                "{} not found: CI must run the browser tests (`apt-get install chromium`)",
                chromium.display()
            );
        }
        println!(
            "warning: skipping the browser tests (tests/e2e): {} not found; install it with \
             `apt-get install chromium` (or point CHROMIUM at a Chromium binary)",
            chromium.display()
        );
        return Ok(());
    }
    if !succeeds("npm", &["--version"]) {
        bail!("npm not found: the browser tests (tests/e2e) need Node.js with npm");
    }
    let package = root.join("tests").join("e2e");
    if !package
        .join("node_modules")
        .join("playwright-core")
        .is_dir()
    {
        run_step(
            "npm ci (tests/e2e)",
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&package),
        )?;
    }
    run_step(
        "build iota-scripts for the browser tests",
        cargo(root).args(["build", "-p", "iota-scripts"]),
    )?;
    let binary = target_dir(root).join("debug").join("iota-scripts");
    run_step(
        "browser tests (tests/e2e)",
        Command::new("npm")
            .args(["test"])
            .current_dir(&package)
            .env("IOTA_SCRIPTS_BIN", binary)
            .env("CHROMIUM", chromium),
    )
}
