//! Runs the named steps of a task: prints `==> step`, runs it, reports its elapsed time, and names the step on failure.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Runs `body` as the step `name`, printing its header before and its elapsed time after.
///
/// A failure is wrapped in a message naming the step.
pub fn step<T>(name: &str, body: impl FnOnce() -> Result<T>) -> Result<T> {
    println!("==> {name}");
    let started = Instant::now();
    let result = body();
    let elapsed = format_duration(started.elapsed());
    match result {
        Ok(value) => {
            println!("    {name}: ok ({elapsed})");
            Ok(value)
        }
        Err(error) => {
            println!("    {name}: FAILED ({elapsed})");
            Err(error.context(format!("step `{name}` failed")))
        }
    }
}

/// Runs `command` as the step `name`, inheriting stdin/stdout/stderr; fails if it exits unsuccessfully.
pub fn run_step(name: &str, command: &mut Command) -> Result<()> {
    step(name, || run(command))
}

/// Runs `command` with inherited stdio and fails unless it exits successfully.
pub fn run(command: &mut Command) -> Result<()> {
    let shown = display(command);
    let status = command
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` exited with {status}");
    }
    Ok(())
}

/// Runs `command` and returns its stdout; stderr is captured and included in the error on failure.
pub fn output(command: &mut Command) -> Result<String> {
    let shown = display(command);
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!("`{shown}` exited with {}: {}", output.status, stderr.trim());
    }
    String::from_utf8(output.stdout).with_context(|| format!("`{shown}` printed non-UTF-8 output"))
}

/// Whether `program args...` can be started and exits successfully (all output discarded).
pub fn succeeds(program: impl AsRef<OsStr>, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A `cargo` command run from the workspace root, using the cargo that invoked xtask when known.
pub fn cargo(root: &Path) -> Command {
    let mut command = Command::new(cargo_program());
    command.current_dir(root);
    command
}

/// The cargo binary: `$CARGO` (set by `cargo run`) or `cargo` from `PATH`.
pub fn cargo_program() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// A shell-like rendering of `command` for messages.
fn display(command: &Command) -> String {
    let program = Path::new(command.get_program())
        .file_name()
        .unwrap_or(command.get_program())
        .to_string_lossy()
        .into_owned();
    std::iter::once(program)
        .chain(command.get_args().map(|arg| {
            let arg = redact_password(&arg.to_string_lossy());
            if arg.is_empty() || arg.contains(char::is_whitespace) {
                format!("'{arg}'")
            } else {
                arg
            }
        }))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Hides the password of a `scheme://user:password@host` URL so it never reaches the logs.
pub fn redact_password(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_owned();
    };
    let authority_start = scheme_end + 3;
    let authority_end = text[authority_start..]
        .find(['/', '?', '#'])
        .map_or(text.len(), |offset| authority_start + offset);
    let authority = &text[authority_start..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &text[..authority_start],
            &authority[..colon],
            &text[authority_start + at..]
        ),
        _ => text.to_owned(),
    }
}

/// `1.23s`, or `2m 05.4s` beyond a minute.
pub fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 60.0 {
        format!("{seconds:.2}s")
    } else {
        let minutes = (seconds / 60.0).floor();
        format!("{minutes:.0}m {:04.1}s", seconds - minutes * 60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_only_the_password() {
        assert_eq!(
            redact_password("postgres://u:secret@h:5432/db?x=a:b@c"),
            "postgres://u:***@h:5432/db?x=a:b@c"
        );
        assert_eq!(
            redact_password("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
        assert_eq!(redact_password("--check"), "--check");
    }

    #[test]
    fn formats_durations() {
        assert_eq!(format_duration(Duration::from_millis(1234)), "1.23s");
        assert_eq!(format_duration(Duration::from_millis(125_400)), "2m 05.4s");
    }
}
