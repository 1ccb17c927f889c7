//! `cargo xtask test`: the full pre-merge check (fmt, clippy, tidy, then the workspace tests against PostgreSQL, then the browser tests).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::Result;

use crate::pg;
use crate::step::{cargo, cargo_program, format_duration, run_step, step, succeeds};

/// Options of `cargo xtask test`.
#[derive(Debug)]
pub struct TestOptions {
    /// Run `cargo fmt --check` and `cargo clippy` before the tests (off with `--no-lint`).
    pub lint: bool,
    /// Extra arguments for the test runner (everything after `--`).
    pub runner_args: Vec<String>,
}

/// Runs the steps in order, stopping at the first failure (the database cleanup runs even if the tests fail).
pub fn run(root: &Path, options: &TestOptions) -> Result<()> {
    let started = Instant::now();
    if options.lint {
        lint(root)?;
        crate::tidy::run(root)?;
    } else {
        println!("==> skipping cargo fmt and cargo clippy (--no-lint)");
    }

    let url = pg::admin_url()?;
    let before = if pg::psql_available() {
        Some(step("check PostgreSQL", || {
            pg::check_reachable(&url)?;
            pg::test_databases(&url)
        })?)
    } else {
        println!(
            "warning: psql not found on PATH: skipping the PostgreSQL check \
             and the cleanup of leftover {}* databases",
            pg::TEST_DB_PREFIX
        );
        None
    };

    let (name, mut runner) = test_runner(root, &url, &options.runner_args);
    let tested = run_step(name, &mut runner);
    let cleaned = match &before {
        Some(before) => step("drop leftover test databases", || {
            pg::drop_new_test_databases(&url, before).map(|dropped| {
                if dropped.is_empty() {
                    println!("    no leftover {}* databases", pg::TEST_DB_PREFIX);
                }
            })
        }),
        None => Ok(()),
    };

    match (tested, cleaned) {
        (Err(test_error), Err(cleanup_error)) => {
            eprintln!("xtask: warning: {cleanup_error:#}");
            Err(test_error)
        }
        (Err(error), Ok(())) | (Ok(()), Err(error)) => Err(error),
        (Ok(()), Ok(())) => {
            if options.runner_args.is_empty() {
                crate::e2e::run(root)?;
            } else {
                println!("==> skipping the browser tests: a test runner filter was given");
            }
            let elapsed = format_duration(started.elapsed());
            println!("==> all steps passed ({elapsed})");
            Ok(())
        }
    }
}

/// `cargo fmt --all -- --check`, then `cargo clippy --workspace --all-targets [--locked] -- -D warnings`.
fn lint(root: &Path) -> Result<()> {
    run_step(
        "cargo fmt --check",
        cargo(root).args(["fmt", "--all", "--", "--check"]),
    )?;

    let mut clippy = cargo(root);
    clippy.args(["clippy", "--workspace", "--all-targets"]);
    if root.join("Cargo.lock").is_file() {
        clippy.arg("--locked");
    }
    clippy.args(["--", "-D", "warnings"]);
    run_step("cargo clippy", &mut clippy)
}

/// The test command and its step name: cargo-nextest when installed, else `cargo test`.
///
/// The admin URL is exported to the tests as [`pg::URL_VAR`].
fn test_runner(root: &Path, url: &str, extra_args: &[String]) -> (&'static str, Command) {
    let mut command = cargo(root);
    let name = if nextest_available() {
        command.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
        "tests (cargo nextest)"
    } else {
        println!(
            "note: cargo-nextest not found (`cargo install cargo-nextest --locked`): using cargo test"
        );
        command.args(["test", "--workspace"]);
        "tests (cargo test)"
    };
    command.args(extra_args).env(pg::URL_VAR, url);
    (name, command)
}

/// Whether `cargo nextest --version` works.
fn nextest_available() -> bool {
    succeeds(cargo_program(), &["nextest", "--version"])
}
