//! Entry point of `cargo xtask`: parses the command line and dispatches to the project automation tasks.

mod bench;
mod e2e;
mod pg;
mod soak;
mod step;
mod test;
mod tidy;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
Project automation for IOTA Scripts.

Usage:
  cargo xtask test [--no-lint] [-- <test runner args>...]
      cargo fmt --check, cargo clippy -D warnings, then the workspace tests
      (cargo nextest if installed, else cargo test) against the PostgreSQL
      admin URL in IOTA_SCRIPTS_TEST_PG (default: postgres://postgres@127.0.0.1:5432/postgres),
      then the browser tests of tests/e2e in /usr/bin/chromium (or $CHROMIUM; skipped with a
      warning when it is absent, an error when CI is set; not run with a test filter).
      --no-lint   skip the fmt and clippy steps
      Arguments after `--` go to the test runner (e.g. a test filter).

  cargo xtask bench [<name>...] [--assemble] [-- <bench args>...]
      Run the benchmarks (release builds), all of them or only those named: runtime, endpoint,
      cron, ops. Each writes docs/benchmarks-<name>.md; docs/benchmarks.md is assembled from
      them afterwards, between the goals (docs/benchmarks-goals.md, written by hand) and the
      last soak (docs/benchmarks-soak.md) (--assemble: only that).

  cargo xtask docs
      Write the generated references again: docs/settings.md (from the settings code) and
      docs/sdk-reference.md (from crates/runtime/src/sdk.d.ts). Tests fail when they are stale.

  cargo xtask soak [--minutes N] [--interval-seconds S]
      Steady load for N minutes (default 60) at half the measured maximum on a release
      server serving a public HTTP endpoint script (SQLite, every execution recorded):
      every S seconds (default 60) the server's and its sandbox workers' resident memory,
      the error rate and the p50/p99 latency, then a summary; written to
      docs/benchmarks-soak.md. Needs wrk (installed with apt when missing).

  cargo xtask tidy
      Check the architecture rules: `//!` first lines, file sizes, clock reads, a pure
      domain, the crate graph and the map of docs/ARCHITECTURE.md.

  cargo xtask help
      Show this message.
";

/// A parsed command line.
#[derive(Debug)]
enum Command {
    Test(test::TestOptions),
    Bench(bench::BenchOptions),
    Soak(soak::SoakOptions),
    Tidy,
    Docs,
    Help,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse(&args).and_then(|command| {
        let root = workspace_root()?;
        match command {
            Command::Test(options) => test::run(&root, &options),
            Command::Bench(options) => bench::run(&root, &options),
            Command::Soak(options) => soak::run(&root, &options),
            Command::Tidy => tidy::run(&root),
            Command::Docs => docs(&root),
            Command::Help => {
                print!("{USAGE}");
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Splits `args` at the first `--`: the flags before it, the pass-through arguments after it.
fn split_passthrough(args: &[String]) -> (&[String], Vec<String>) {
    match args.iter().position(|arg| arg == "--") {
        Some(index) => (&args[..index], args[index + 1..].to_vec()),
        None => (args, Vec::new()),
    }
}

fn parse(args: &[String]) -> Result<Command> {
    let Some((subcommand, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        bail!("missing subcommand (expected `test`, `bench`, `soak`, `docs` or `tidy`)");
    };
    let (flags, passthrough) = split_passthrough(rest);
    match subcommand.as_str() {
        "test" => {
            let mut options = test::TestOptions {
                lint: true,
                runner_args: passthrough,
            };
            for flag in flags {
                match flag.as_str() {
                    "--no-lint" => options.lint = false,
                    "-h" | "--help" => return Ok(Command::Help),
                    other => bail!(
                        "unknown argument `{other}` for `cargo xtask test` \
                         (put test runner arguments after `--`, e.g. `cargo xtask test -- my_filter`)"
                    ),
                }
            }
            Ok(Command::Test(options))
        }
        "bench" => {
            let mut options = bench::BenchOptions {
                names: Vec::new(),
                bench_args: passthrough,
                assemble_only: false,
            };
            for flag in flags {
                match flag.as_str() {
                    "-h" | "--help" => return Ok(Command::Help),
                    "--assemble" => options.assemble_only = true,
                    other if other.starts_with('-') => bail!(
                        "unknown option `{other}` for `cargo xtask bench` \
                         (put benchmark arguments after `--`)"
                    ),
                    name => options.names.push(name.to_owned()),
                }
            }
            Ok(Command::Bench(options))
        }
        "soak" => {
            if flags.iter().any(|f| f == "-h" || f == "--help") {
                return Ok(Command::Help);
            }
            Ok(Command::Soak(soak::parse(flags)?))
        }
        "tidy" => Ok(Command::Tidy),
        "docs" => Ok(Command::Docs),
        "help" | "-h" | "--help" => Ok(Command::Help),
        other => {
            eprint!("{USAGE}");
            bail!(
                "unknown subcommand `{other}` (expected `test`, `bench`, `soak`, `docs` or `tidy`)"
            )
        }
    }
}

/// Runs the tests that generate the references, telling them to write their files.
fn docs(root: &std::path::Path) -> Result<()> {
    for (package, test) in [
        (
            "iota-scripts",
            "the_settings_reference_is_current_and_complete",
        ),
        ("runtime", "the_sdk_reference_is_current"),
    ] {
        step::run_step(
            &format!("generate ({package}: {test})"),
            step::cargo(root)
                .args(["test", "--quiet", "-p", package, "--lib", test])
                .env("IOTA_SCRIPTS_WRITE_DOCS", "1"),
        )?;
    }
    println!("==> docs/settings.md and docs/sdk-reference.md are up to date");
    Ok(())
}

/// The workspace root: the parent of this package's directory.
fn workspace_root() -> Result<PathBuf> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .with_context(|| format!("{} has no parent directory", manifest_dir.display()))?;
    if !root.join("Cargo.toml").is_file() {
        bail!("no Cargo.toml in the workspace root {}", root.display());
    }
    Ok(root.to_path_buf())
}
