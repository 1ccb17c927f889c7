//! `cargo xtask bench`: runs the benchmark binaries in release mode; their figures go to
//! `docs/benchmarks.md`.

use std::path::Path;

use anyhow::{Result, bail};

use crate::step::{cargo, run_step};

/// A benchmark: a binary target of a workspace package, run with `cargo run --release`.
#[derive(Debug, Clone, Copy)]
pub struct Bench {
    /// Name used on the command line (`cargo xtask bench <name>`).
    pub name: &'static str,
    /// Package holding the binary (`-p`).
    pub package: &'static str,
    /// Binary target (`--bin`).
    pub bin: &'static str,
    /// The file under `docs/` its figures are written to.
    pub output: &'static str,
}

/// Every benchmark, in the order they run.
const BENCHES: &[Bench] = &[
    Bench {
        name: "runtime",
        package: "runtime",
        bin: "runtime-bench",
        output: "benchmarks.md",
    },
    Bench {
        name: "endpoint",
        package: "iota-scripts",
        bin: "endpoint-bench",
        output: "benchmarks-endpoint.md",
    },
    Bench {
        name: "cron",
        package: "iota-scripts",
        bin: "cron-bench",
        output: "benchmarks-cron.md",
    },
    Bench {
        name: "listing",
        package: "iota-scripts",
        bin: "listing-bench",
        output: "benchmarks-listing.md",
    },
];

/// Options of `cargo xtask bench`.
#[derive(Debug)]
pub struct BenchOptions {
    /// Benchmarks to run (all when empty).
    pub names: Vec<String>,
    /// Extra arguments for every benchmark binary (everything after `--`).
    pub bench_args: Vec<String>,
}

/// Runs the selected benchmarks one after another, stopping at the first failure.
pub fn run(root: &Path, options: &BenchOptions) -> Result<()> {
    if BENCHES.is_empty() {
        println!("no benchmarks yet: they arrive with the runtime crate");
        return Ok(());
    }
    for bench in select(&options.names)? {
        // Without arguments, the figures are written to docs/ for the record.
        let default_args = vec![
            "--write".to_owned(),
            root.join("docs").join(bench.output).display().to_string(),
        ];
        let args = if options.bench_args.is_empty() {
            &default_args
        } else {
            &options.bench_args
        };
        run_bench(root, bench, args)?;
    }
    Ok(())
}

/// The benchmarks named in `names` (all of them when `names` is empty).
fn select(names: &[String]) -> Result<Vec<Bench>> {
    if names.is_empty() {
        return Ok(BENCHES.to_vec());
    }
    names
        .iter()
        .map(
            |name| match BENCHES.iter().find(|bench| bench.name == name) {
                Some(bench) => Ok(*bench),
                None => {
                    let known: Vec<&str> = BENCHES.iter().map(|bench| bench.name).collect();
                    bail!("unknown benchmark `{name}` (known: {})", known.join(", "))
                }
            },
        )
        .collect()
}

/// Runs one benchmark: `cargo run --release -p <package> --bin <bin> -- <args>`.
pub fn run_bench(root: &Path, bench: Bench, args: &[String]) -> Result<()> {
    run_step(
        &format!("bench {}", bench.name),
        cargo(root)
            .args([
                "run",
                "--release",
                "-p",
                bench.package,
                "--bin",
                bench.bin,
                "--",
            ])
            .args(args),
    )
}
