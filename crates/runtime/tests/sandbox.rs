//! Real scripts in the real sandbox: entry points, results, errors, and the standard helpers.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use domain::TenantId;
use domain::execution::{LogLevel, Outcome};
use domain::script::ScriptType;
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn entry_points_receive_their_argument_and_return_the_awaited_value() {
    let engine = engine();
    let cases = [
        (
            ScriptType::OneOff,
            "export default async function (input) { return input.n + 1 }",
            json!(2),
        ),
        (
            ScriptType::OneOff,
            "export default (input) => ({ doubled: input.n * 2 })",
            json!({"doubled": 2}),
        ),
        (
            ScriptType::OneOff,
            "async function main(input) { await null; return [input.n, 'main'] }",
            json!([1, "main"]),
        ),
        (
            ScriptType::OneOff,
            "export function main() { return 'exported main' }",
            json!("exported main"),
        ),
        (
            ScriptType::Http,
            "async function handleRequest(req) { return { status: 201, body: req.n } }",
            json!({"status": 201, "body": 1}),
        ),
        (
            ScriptType::Event,
            "function handleEvent(e) { return e }",
            json!({"n": 1}),
        ),
        (
            ScriptType::OneOff,
            "const x = await Promise.resolve(41); export default () => x + 1",
            json!(42),
        ),
        (
            ScriptType::OneOff,
            "export default () => undefined",
            json!(null),
        ),
        (
            ScriptType::OneOff,
            "export default () => new Date(0)",
            json!("1970-01-01T00:00:00.000Z"),
        ),
    ];
    for (script_type, source, expected) in cases {
        let report = run(&engine, job_of(TenantId::new(), script_type, source)).await;
        assert_eq!(output(&report), expected, "{source}");
        assert!(report.memory_bytes > 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_carry_code_position_and_script_frames_only() {
    let engine = engine();
    let report = run(&engine, job("export default () => {\n  let x = ;\n}")).await;
    let error = failure(&report);
    assert_eq!(error.code, "SYNTAX_ERROR", "{error:?}");
    assert_eq!(error.line, Some(2), "{error:?}");

    let source = "function inner() {\n  null.boom();\n}\nexport default function () {\n  return JSON.parse('[1]').map(inner);\n}";
    let error = failure(&run(&engine, job(source)).await);
    assert_eq!(error.code, "RUNTIME_ERROR");
    assert!(error.message.starts_with("TypeError"), "{error:?}");
    assert_eq!(
        (error.line, error.column.is_some()),
        (Some(2), true),
        "{error:?}"
    );
    let stack = error.stack.clone().unwrap();
    assert!(
        stack.lines().all(|line| line.contains("script.js")),
        "{stack}"
    );
    assert!(
        !stack.contains(".rs") && !stack.contains("rquickjs") && !stack.contains("native"),
        "{stack}"
    );

    let error = failure(
        &run(
            &engine,
            job("export default () => { throw 'just a string' }"),
        )
        .await,
    );
    assert_eq!(error.code, "UNCAUGHT_VALUE");
    assert!(error.message.contains("just a string"), "{error:?}");

    let error = failure(
        &run(
            &engine,
            job("export default async () => { await null; throw new RangeError('late') }"),
        )
        .await,
    );
    assert_eq!(
        (error.code.as_str(), error.message.as_str()),
        ("RUNTIME_ERROR", "RangeError: late")
    );

    let error = failure(
        &run(
            &engine,
            job("export default () => Promise.reject({ code: 'MINE', message: 'custom' })"),
        )
        .await,
    );
    assert_eq!(
        (error.code.as_str(), error.message.as_str()),
        ("MINE", "custom")
    );

    let error = failure(&run(&engine, job("const x = 1; export { x }")).await);
    assert_eq!(error.code, "NO_ENTRY_POINT");
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_are_captured_with_level_message_and_metadata() {
    let engine = engine();
    let source = r#"export default () => {
        console.log("hello", 42, { a: 1 });
        console.warn("careful");
        sdk.log.info("exported", { rows: 3 });
        sdk.log.error(new Error("bad row"));
        return true;
    }"#;
    let report = run(&engine, job(source)).await;
    assert_eq!(output(&report), json!(true));
    let logs: Vec<(LogLevel, &str)> = report
        .logs
        .iter()
        .map(|l| (l.level, l.message.as_str()))
        .collect();
    assert_eq!(
        logs,
        vec![
            (LogLevel::Info, "hello 42 {\"a\":1}"),
            (LogLevel::Warn, "careful"),
            (LogLevel::Info, "exported"),
            (LogLevel::Error, "Error: bad row"),
        ]
    );
    assert_eq!(report.logs[2].metadata, json!({"rows": 3}));
}

#[tokio::test(flavor = "multi_thread")]
async fn context_is_read_only_and_describes_the_execution() {
    let engine = engine();
    let job = job(
        "export default () => { let refused = false; try { context.input = 'changed' } catch (e) { refused = e instanceof TypeError } return [context.input, context.trigger.type, typeof context.executionId, Object.isFrozen(context), refused] }",
    );
    let execution_id = job.execution_id;
    let report = run(&engine, job).await;
    assert_eq!(
        output(&report),
        json!([{"n": 1}, "manual", "string", true, true])
    );
    let echo = run(
        &engine,
        support::job("export default () => context.executionId"),
    )
    .await;
    assert_ne!(output(&echo), json!(execution_id.to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn standard_helpers_work() {
    let engine = engine();
    let source = r#"export default async () => {
        const url = new URL("/a/b?x=1&y=two+words#frag", "https://example.com:8443");
        url.searchParams.append("z", "ä &");
        const params = new URLSearchParams({ q: "rust js", page: "2" });
        const bytes = new TextEncoder().encode("héllo");
        const order = [];
        const cleared = setTimeout(() => order.push("cleared"), 1);
        clearTimeout(cleared);
        await new Promise((resolve) => setTimeout(() => { order.push("second"); resolve(); }, 20));
        setTimeout(() => order.push("never"), 10_000) && null;
        return {
            href: url.href, host: url.host, path: url.pathname, y: url.searchParams.get("y"),
            params: params.toString(), length: bytes.length, text: new TextDecoder().decode(bytes),
            b64: btoa("hello"), back: atob("aGVsbG8="),
            uuid: /^[0-9a-f-]{36}$/.test(crypto.randomUUID()), order,
            canParse: [URL.canParse("nope"), URL.canParse("https://a.b")],
        };
    }"#;
    let value = output(&run(&engine, job(source)).await);
    assert_eq!(
        value["href"],
        "https://example.com:8443/a/b?x=1&y=two+words&z=%C3%A4+%26#frag"
    );
    assert_eq!(value["host"], "example.com:8443");
    assert_eq!(value["path"], "/a/b");
    assert_eq!(value["y"], "two words");
    assert_eq!(value["params"], "q=rust+js&page=2");
    assert_eq!(
        (value["length"].as_u64(), value["text"].as_str()),
        (Some(6), Some("héllo"))
    );
    assert_eq!(
        (value["b64"].as_str(), value["back"].as_str()),
        (Some("aGVsbG8="), Some("hello"))
    );
    assert_eq!(value["uuid"], true);
    assert_eq!(value["order"], json!(["second"]));
    assert_eq!(value["canParse"], json!([false, true]));
    let error = failure(&run(&engine, job("export default () => new URL('not a url')")).await);
    assert!(
        error.message.contains("TypeError: Invalid URL"),
        "{error:?}"
    );
    let error = failure(&run(&engine, job("export default () => btoa('€')")).await);
    assert!(error.message.contains("Latin-1"), "{error:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn standard_classes_built_on_first_use_behave_as_built_in() {
    let engine = engine();
    let source = r#"export default () => {
        const names = ["Date", "Map", "Set", "WeakMap", "WeakSet", "ArrayBuffer", "Uint8Array",
            "Float64Array", "BigInt64Array", "DataView", "Atomics", "WeakRef", "FinalizationRegistry"];
        const listed = names.filter((n) => Object.getOwnPropertyNames(globalThis).includes(n));
        const enumerable = names.filter((n) => Object.keys(globalThis).includes(n));
        const grouped = Object.groupBy([1, 2, 3], (n) => (n % 2 ? "odd" : "even"));
        globalThis.WeakSet = "mine";
        const map = new Map([["a", 1]]);
        const set = new Set([1, 1, 2]);
        const bytes = new Uint8Array([1, 2, 300]);
        const view = new DataView(new ArrayBuffer(4));
        view.setInt16(0, -2);
        const descriptor = Object.getOwnPropertyDescriptor(globalThis, "Map");
        return {
            listed: listed.length, enumerable, grouped: [grouped.odd, grouped.even],
            map: map.get("a"), set: set.size, mapIsMap: map instanceof Map,
            groupedMap: Map.groupBy([1, 2, 3], (n) => n > 1).get(true),
            weakSet: WeakSet, weakMap: typeof WeakMap,
            bytes: Array.from(bytes), view: view.getInt16(0), atomics: typeof Atomics.add,
            big: new BigInt64Array(1).length,
            date: new Date(0).toISOString(), json: JSON.stringify({ at: new Date(0) }),
            now: typeof Date.now(), dateIsDate: new Date() instanceof Date,
            weakRef: new WeakRef(map).deref() === map,
            registry: typeof new FinalizationRegistry(() => {}).register,
            descriptor: [typeof descriptor.value, descriptor.writable, descriptor.enumerable,
                descriptor.configurable, "get" in descriptor],
        };
    }"#;
    let value = output(&run(&engine, job(source)).await);
    assert_eq!(value["listed"], 13, "{value}");
    assert_eq!(value["enumerable"], json!([]));
    assert_eq!(value["grouped"], json!([[1, 3], [2]]));
    assert_eq!(
        (value["map"].as_u64(), value["set"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(value["mapIsMap"], true);
    assert_eq!(value["groupedMap"], json!([2, 3]));
    assert_eq!(
        value["weakSet"], "mine",
        "an assignment made before its group was built stays"
    );
    assert_eq!(value["weakMap"], "function");
    assert_eq!(value["bytes"], json!([1, 2, 44]));
    assert_eq!(value["view"], -2);
    assert_eq!(value["atomics"], "function");
    assert_eq!(value["big"], 1);
    assert_eq!(value["date"], "1970-01-01T00:00:00.000Z");
    assert_eq!(value["json"], r#"{"at":"1970-01-01T00:00:00.000Z"}"#);
    assert_eq!(
        (value["now"].as_str(), value["dateIsDate"].as_bool()),
        (Some("number"), Some(true))
    );
    assert_eq!(value["weakRef"], true);
    assert_eq!(value["registry"], "function");
    assert_eq!(
        value["descriptor"],
        json!(["function", true, false, true, false])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn host_services_are_awaited_and_their_errors_have_codes() {
    let engine = engine();
    let tenant = TenantId::new();
    let mut job = job_of(
        tenant,
        ScriptType::OneOff,
        r#"export default async () => {
        const [a, b] = await Promise.all([services.math.add(1, 2, 3), services.math.add(10)]);
        const who = await services.math.whoami();
        let code = null;
        try { await services.math.fail(); } catch (e) { code = [e.code, e instanceof Error]; }
        return { a, b, who, code };
    }"#,
    );
    job.limits.max_execution_time_ms = 5_000;
    let script = job.script_id;
    let value = output(&run(&engine, job).await);
    assert_eq!(value["a"], json!(6));
    assert_eq!(value["b"], json!(10));
    assert_eq!(value["who"], json!({"tenant": tenant, "script": script}));
    assert_eq!(value["code"], json!(["NOT_FOUND", true]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_execution_can_be_cancelled() {
    let engine = engine();
    let job = job("export default () => { for (;;) {} }");
    let id = job.execution_id;
    let runner = {
        let engine = engine.clone();
        tokio::spawn(async move { engine.run(job).await })
    };
    for _ in 0..500 {
        if engine.cancel(id) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let report = runner.await.unwrap().unwrap();
    assert_eq!(report.outcome, Outcome::Cancelled);
    assert!(
        !engine.cancel(id),
        "a finished execution is no longer running"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn checking_a_source_reports_syntax_errors_and_imports_before_it_runs() {
    let engine = engine();
    let tenant = TenantId::new();
    let error = engine
        .check(
            tenant,
            "export default () => {\n  let = ;\n}",
            ScriptType::OneOff,
        )
        .await
        .unwrap_err();
    assert_eq!((error.code.as_str(), error.line), ("SYNTAX_ERROR", Some(2)));
    let error = engine
        .check(
            tenant,
            "import fs from 'fs'; export default () => fs",
            ScriptType::OneOff,
        )
        .await
        .unwrap_err();
    assert_eq!(error.code, "IMPORT_FORBIDDEN", "{error:?}");
    assert!(
        engine
            .check(tenant, "export default () => 1", ScriptType::OneOff)
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn utils_hash_sign_format_and_fill_templates() {
    let engine = engine();
    let source = r#"export default () => ({
        sha: utils.hash("sha256", "abc"),
        b64: utils.hash("sha256", "abc", "base64"),
        mac: utils.hmac("sha256", "key", "The quick brown fox jumps over the lazy dog"),
        same: utils.timingSafeEqual("abc", "abc"),
        differ: [utils.timingSafeEqual("abc", "abd"), utils.timingSafeEqual("abc", "abcd")],
        date: utils.formatDate(Date.UTC(2026, 10, 22, 12, 0, 0), "%Y-%m-%d %H:%M", "Asia/Tashkent"),
        iso: utils.formatDate(new Date(Date.UTC(2026, 10, 22, 12, 0, 0))),
        text: utils.template("Hi {{ user.name }}, you have {{count}} new{{ missing }}!", { user: { name: "Ada" }, count: 3 }),
    })"#;
    let value = output(&run(&engine, job(source)).await);
    assert_eq!(
        value["sha"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(value["b64"], "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
    assert_eq!(
        value["mac"],
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    );
    assert_eq!(
        (value["same"].as_bool(), value["differ"].clone()),
        (Some(true), json!([false, false]))
    );
    assert_eq!(value["date"], "2026-11-22 17:00");
    assert_eq!(value["iso"], "2026-11-22T12:00:00+00:00");
    assert_eq!(value["text"], "Hi Ada, you have 3 new!");
    for bad in [
        "utils.hash('md5', 'x')",
        "utils.formatDate(0, '%Y', 'Mars/Base')",
        "utils.formatDate('yesterday')",
    ] {
        let error = failure(&run(&engine, job(&format!("export default () => {bad}"))).await);
        assert!(error.message.starts_with("TypeError"), "{bad}: {error:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timer_set_after_a_host_call_still_fires() {
    // The run waits (parked, with no thread) on a host call with a timer pending, then on a
    // later timer: each wait ends when its answer or its time comes, on whatever thread.
    let engine = engine();
    let mut job = job(r#"export default async () => {
        const early = setTimeout(() => {}, 200);
        const sum = await services.math.add(1, 2);
        clearTimeout(early);
        await new Promise((r) => setTimeout(r, 400));
        return sum;
    }"#);
    job.limits.max_execution_time_ms = 10_000;
    assert_eq!(output(&run(&engine, job).await), json!(3));
}
