//! Host work a script can drive with small inputs and large products (templates, date
//! formats, log lines, error records): each ends in a clean, coded error, never in an
//! allocation the size of the product.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use domain::execution::Outcome;
use serde_json::json;
use support::*;

const MIB: usize = 1024 * 1024;

fn with_memory(source: &str, bytes: u64) -> runtime::Job {
    let mut job = job(source);
    job.limits.max_memory_bytes = bytes;
    // Building tens of megabytes in an unoptimised build on a busy machine takes seconds: the
    // limits under test here are sizes, not time.
    job.limits.max_execution_time_ms = 60_000;
    job
}

#[tokio::test(flavor = "multi_thread")]
async fn helpers_that_multiply_their_input_throw_output_limit() {
    let engine = engine();
    // Each script catches the error and returns what it saw: an `Error` with the code.
    let cases = [
        // 20 copies of 1 MiB: over the 16 MiB cap (without it: a 20 MiB string).
        "utils.template('{{a}}'.repeat(20), { a: 'x'.repeat(1024 * 1024) })",
        // The attack: 1000 copies of 8 MiB would be 8 GB.
        "utils.template('{{a}}'.repeat(1000), { a: 'x'.repeat(8 * 1024 * 1024) })",
        // Literal text around placeholders counts too.
        "utils.template('y'.repeat(9 * 1024 * 1024) + '{{a}}', { a: 'x'.repeat(8 * 1024 * 1024) })",
        // '%c' is 2 bytes in and 24 out.
        "utils.formatDate(0, '%c'.repeat(1024 * 1024))",
    ];
    for call in cases {
        let source = format!(
            "export default () => {{ try {{ {call}; return 'built' }} catch (e) {{ return [e instanceof Error, e.code, e.message] }} }}"
        );
        let report = run(&engine, with_memory(&source, 128 * MIB as u64)).await;
        let seen = output(&report);
        assert_eq!(seen[0], json!(true), "{call}: {seen}");
        assert_eq!(seen[1], json!("OUTPUT_LIMIT"), "{call}: {seen}");
        assert!(
            seen[2].as_str().unwrap().contains("16777216"),
            "{call}: {seen}"
        );
    }
    let fine = "export default () => [utils.template('{{a}} {{b.c}}!', { a: 'hi', b: { c: 2 } }), utils.formatDate(0, '%Y')]";
    assert_eq!(
        output(&run(&engine, job(fine)).await),
        json!(["hi 2!", "1970"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_call_far_over_the_log_volume_ends_with_log_limit() {
    let engine = engine();
    for source in [
        "const s = 'x'.repeat(8 * 1024 * 1024); export default () => { console.log(...new Array(500).fill(s)); return 1 }",
        "const s = 'x'.repeat(8 * 1024 * 1024); export default () => { sdk.log.info(s, { s }); return 1 }",
        "const s = 'x'.repeat(1024 * 1024); export default () => { sdk.log.info('small', new Array(4).fill(s)); return 1 }",
        "export default () => { sdk.log.info('m', { s: 'x'.repeat(2 * 1024 * 1024) }); return 1 }",
    ] {
        let report = run(&engine, with_memory(source, 256 * MIB as u64)).await;
        let error = failure(&report);
        assert_eq!(error.code, "LOG_LIMIT", "{source}: {error:?}");
        let logged: usize = report
            .logs
            .iter()
            .map(|l| l.message.len() + l.metadata.to_string().len())
            .sum();
        assert!(logged <= MIB, "{source}: {logged} bytes logged");
    }
    // Just under the volume still logs, whole.
    let report = run(
        &engine,
        job("export default () => { console.log('x'.repeat(1000), 'y'); sdk.log.info('m', { n: 1 }); return 1 }"),
    )
    .await;
    assert_eq!(output(&report), json!(1));
    assert_eq!(report.logs[0].message.len(), 1002);
    assert_eq!(report.logs[1].metadata, json!({ "n": 1 }));
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_error_fields_are_capped_in_the_execution_record() {
    let engine = engine();
    let big = 60 * 1024 * 1024;
    let cases = [
        (
            format!("export default () => {{ const e = new Error('m'.repeat({big})); throw e }}"),
            "RUNTIME_ERROR",
        ),
        (
            format!(
                "export default () => {{ const e = new Error('boom'); e.code = 'C'.repeat({big}); throw e }}"
            ),
            "RUNTIME_ERROR",
        ),
        (
            "export default () => { const e = new Error('boom'); e.code = 'not a code!'; throw e }"
                .to_owned(),
            "RUNTIME_ERROR",
        ),
        (
            "export default () => { const e = new Error('boom'); e.code = 'E_CUSTOM'; throw e }"
                .to_owned(),
            "E_CUSTOM",
        ),
        (
            format!(
                "export default () => {{ const e = new Error('boom'); e.stack = 'at f (script.js:1:1)\\n'.repeat({big} / 22); throw e }}"
            ),
            "RUNTIME_ERROR",
        ),
        (
            format!(
                "export default () => {{ const e = new Error('boom'); e.name = 'N'.repeat({big}); throw e }}"
            ),
            "RUNTIME_ERROR",
        ),
        (
            format!(
                "export default () => {{ throw {{ message: 'm'.repeat({big}), code: 'K'.repeat({big}) }} }}"
            ),
            "UNCAUGHT_VALUE",
        ),
        (
            format!("export default () => {{ throw 'v'.repeat({big}) }}"),
            "UNCAUGHT_VALUE",
        ),
    ];
    for (source, code) in cases {
        let report = run(&engine, with_memory(&source, 512 * MIB as u64)).await;
        let error = match &report.outcome {
            Outcome::Failed(error) => error.clone(),
            other => panic!("{source}: expected a failure, got {other:?}"),
        };
        assert_eq!(error.code, code, "{source}");
        assert!(
            error.message.len() <= 4 * 1024,
            "{source}: message {}",
            error.message.len()
        );
        let stack = error.stack.as_deref().unwrap_or_default();
        assert!(stack.len() <= 16 * 1024, "{source}: stack {}", stack.len());
    }
}
