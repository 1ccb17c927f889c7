//! `cargo xtask bench`: runs the benchmark binaries in release mode; each writes its figures
//! to its own `docs/benchmarks-<name>.md`, and `docs/benchmarks.md` is assembled from all of
//! them (the latest run of each) after every run.

use std::path::Path;

use anyhow::{Context, Result, bail};

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
        output: "benchmarks-runtime.md",
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
    Bench {
        name: "ops",
        package: "iota-scripts",
        bin: "ops-bench",
        output: "benchmarks-ops.md",
    },
];

/// Options of `cargo xtask bench`.
#[derive(Debug)]
pub struct BenchOptions {
    /// Benchmarks to run (all when empty).
    pub names: Vec<String>,
    /// Extra arguments for every benchmark binary (everything after `--`).
    pub bench_args: Vec<String>,
    /// Only assemble `docs/benchmarks.md` from the figures on record.
    pub assemble_only: bool,
}

/// Runs the selected benchmarks one after another, stopping at the first failure.
pub fn run(root: &Path, options: &BenchOptions) -> Result<()> {
    if options.assemble_only {
        return assemble(root);
    }
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
    if options.bench_args.is_empty() {
        assemble(root)?;
    }
    Ok(())
}

/// Writes `docs/benchmarks.md`: the goals and where each stands (`benchmarks-goals.md`,
/// written by hand), every benchmark's latest figures, then the last soak
/// (`benchmarks-soak.md`, from `cargo xtask soak`), each file's headings one level down.
pub fn assemble(root: &Path) -> Result<()> {
    let docs = root.join("docs");
    let mut out = String::from(
        "# Benchmarks\n\nThe latest figures of every benchmark, assembled by `cargo xtask bench` \
         from the files beside this one (each rerun by `cargo xtask bench <name>`). Every \
         figure is measured beside its peer or floor in the same run: compare ratios, since \
         these machines are noisy.\n",
    );
    let goals = (
        "benchmarks-goals.md",
        "written by hand from the runs below".to_owned(),
    );
    let benches = BENCHES
        .iter()
        .map(|bench| (bench.output, format!("`cargo xtask bench {}`", bench.name)));
    let soak = (
        "benchmarks-soak.md",
        "`cargo xtask soak --minutes 60`".to_owned(),
    );
    for (file, origin) in std::iter::once(goals)
        .chain(benches)
        .chain(std::iter::once(soak))
    {
        let Ok(text) = std::fs::read_to_string(docs.join(file)) else {
            continue;
        };
        out.push_str(&format!("\n<!-- from {file} ({origin}) -->\n"));
        for line in text.lines() {
            if line.starts_with('#') {
                out.push('#');
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    let path = docs.join("benchmarks.md");
    std::fs::write(&path, out).with_context(|| format!("write {}", path.display()))?;
    println!("==> {} assembled", path.display());
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

/// Runs one benchmark: `cargo run --release -p <package> --bin <bin> -- <args>`. The
/// product's own binary is built first: the operational benchmark starts it.
pub fn run_bench(root: &Path, bench: Bench, args: &[String]) -> Result<()> {
    if bench.name == "ops" {
        run_step(
            "build iota-scripts (release)",
            cargo(root).args([
                "build",
                "--release",
                "-p",
                "iota-scripts",
                "--bin",
                "iota-scripts",
            ]),
        )?;
    }
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
