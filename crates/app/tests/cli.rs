//! The `iota-scripts run` command: a local file in the same sandbox, with output and logs.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;

fn run(source: &str, args: &[&str]) -> (i32, String, String) {
    let path = std::env::temp_dir().join(format!("iota-cli-{}.js", uuid::Uuid::new_v4()));
    std::fs::write(&path, source).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_iota-scripts"))
        .arg("run")
        .arg(&path)
        .args(args)
        .env("IOTA_SCRIPTS__LOG__LEVEL", "error")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_file_runs_once_and_prints_output_and_logs() {
    let (code, stdout, stderr) = run(
        "export default async (input) => { console.log('got', input.n); return { twice: input.n * 2 } }",
        &["--input", r#"{"n": 21}"#],
    );
    assert_eq!(code, 0, "{stderr}");
    let output: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(output, serde_json::json!({"twice": 42}));
    assert!(stderr.contains("[info] got 21"), "{stderr}");
}

#[test]
fn failures_exit_non_zero_with_the_position() {
    let (code, _, stderr) = run("export default () => {\n  null.x\n}", &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("RUNTIME_ERROR") && stderr.contains(":2:3"),
        "{stderr}"
    );
    let (code, _, stderr) = run(
        "export default () => { for (;;) {} }",
        &["--timeout-ms", "100"],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("TIMEOUT"), "{stderr}");
    let (code, _, stderr) = run("export default () => 1", &["--input", "{nope"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("--input is not valid JSON"), "{stderr}");
}
