//! `cargo xtask soak --minutes N`: steady load at half the measured maximum on a release
//! server, with its memory, error rate and p99 reported over time (the `soak-bench` binary);
//! the result goes to `docs/benchmarks-soak.md`.

use std::path::Path;

use anyhow::{Result, bail};

use crate::step::{cargo, run_step};

/// Options of `cargo xtask soak`.
#[derive(Debug, PartialEq)]
pub struct SoakOptions {
    /// How long the steady load lasts.
    pub minutes: String,
    /// Seconds between two reports.
    pub interval_seconds: String,
}

/// Parses `--minutes N` and `--interval-seconds S` (defaults: 60 minutes, a report a minute).
pub fn parse(flags: &[String]) -> Result<SoakOptions> {
    let mut options = SoakOptions {
        minutes: "60".into(),
        interval_seconds: "60".into(),
    };
    let mut flags = flags.iter();
    while let Some(flag) = flags.next() {
        let slot = match flag.as_str() {
            "--minutes" => &mut options.minutes,
            "--interval-seconds" => &mut options.interval_seconds,
            other => bail!(
                "unknown argument `{other}` for `cargo xtask soak` (expected --minutes N, --interval-seconds S)"
            ),
        };
        let Some(value) = flags.next() else {
            bail!("{flag} needs a value");
        };
        if value
            .parse::<f64>()
            .map_or(true, |v| v <= 0.0 || !v.is_finite())
        {
            bail!("{flag} takes a positive number, not `{value}`");
        }
        *slot = value.clone();
    }
    if options.interval_seconds.parse::<u64>().is_err() {
        bail!(
            "--interval-seconds takes a whole number of seconds, not `{}`",
            options.interval_seconds
        );
    }
    Ok(options)
}

/// Builds the release server, runs the soak next to it, then assembles `docs/benchmarks.md`
/// again with the new result.
pub fn run(root: &Path, options: &SoakOptions) -> Result<()> {
    run_step(
        "build the release server",
        cargo(root).args([
            "build",
            "--release",
            "-p",
            "iota-scripts",
            "--bin",
            "iota-scripts",
        ]),
    )?;
    let output = root.join("docs").join("benchmarks-soak.md");
    run_step(
        &format!("soak for {} minutes", options.minutes),
        cargo(root)
            .args([
                "run",
                "--release",
                "-p",
                "iota-scripts",
                "--bin",
                "soak-bench",
                "--",
            ])
            .args(["--minutes", &options.minutes])
            .args(["--interval-seconds", &options.interval_seconds])
            .arg("--write")
            .arg(&output),
    )?;
    crate::bench::assemble(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn minutes_and_interval_are_read_and_checked() {
        assert_eq!(
            parse(&args(&["--minutes", "3", "--interval-seconds", "30"])).unwrap(),
            SoakOptions {
                minutes: "3".into(),
                interval_seconds: "30".into()
            }
        );
        assert_eq!(parse(&[]).unwrap().minutes, "60");
        for wrong in [
            &["--minutes"][..],
            &["--minutes", "0"],
            &["--minutes", "soon"],
            &["--interval-seconds", "1.5"],
            &["--hours", "1"],
        ] {
            assert!(parse(&args(wrong)).is_err(), "{wrong:?}");
        }
    }
}
