//! The SDK globals reach the host port with the right module, method and arguments, inside
//! the script's per-minute budgets.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use async_trait::async_trait;
use runtime::{BudgetConfig, CallScope, EngineConfig, HostError, HostErrorCode, HostPort};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use support::*;

#[derive(Default)]
struct RecordingHost {
    calls: Mutex<Vec<(String, String, Value)>>,
    released: Mutex<Vec<domain::ExecutionId>>,
}

#[async_trait]
impl HostPort for RecordingHost {
    async fn call(
        &self,
        scope: CallScope,
        module: &str,
        method: &str,
        args: Value,
    ) -> Result<Value, HostError> {
        self.calls
            .lock()
            .unwrap()
            .push((module.into(), method.into(), args.clone()));
        assert!(scope.deadline > std::time::Instant::now());
        match (module, method) {
            ("db", "begin") => Ok(json!("tx-1")),
            ("db", "query") if args[0] == "FAIL" => Err(HostError::new(
                HostErrorCode::UnauthorizedOperation,
                "refused",
            )),
            ("db", "query") => Ok(json!([{"id": 1}])),
            ("http", "request") => {
                Ok(json!({"status": 200, "headers": {}, "body": {"echo": args}}))
            }
            _ => Ok(json!(true)),
        }
    }

    async fn release(&self, scope: CallScope) {
        self.released.lock().unwrap().push(scope.execution_id);
    }
}

fn calls(host: &RecordingHost) -> Vec<(String, String)> {
    host.calls
        .lock()
        .unwrap()
        .iter()
        .map(|(m, f, _)| (m.clone(), f.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sdk_modules_call_the_host() {
    let host = Arc::new(RecordingHost::default());
    let engine = engine_with(EngineConfig::default(), host.clone());
    let source = r#"export default async () => {
        const response = await sdk.http.post("https://api.example.com/x", { a: 1 }, { headers: { "x-k": "v" } });
        const rows = await sdk.db.query("SELECT id FROM orders WHERE id = $1", [1]);
        const result = await sdk.db.transaction(async (tx) => { await tx.execute("UPDATE orders SET n = 1"); return "committed"; });
        let rolledBack = null;
        try { await sdk.db.transaction(async (tx) => { await tx.query("FAIL"); }); } catch (e) { rolledBack = e.code; }
        await sdk.cache.set("k", { v: 1 }, 60);
        await events.publish("order.created", { id: 1 });
        return { status: response.status, sent: response.body.echo, rows, result, rolledBack, keys: Object.keys(sdk) };
    }"#;
    let job = job(source);
    let id = job.execution_id;
    let value = output(&run(&engine, job).await);
    assert_eq!(value["status"], 200);
    assert_eq!(
        value["sent"],
        json!(["POST", "https://api.example.com/x", {"a": 1}, {"headers": {"x-k": "v"}}])
    );
    assert_eq!(value["rows"], json!([{"id": 1}]));
    assert_eq!(
        (value["result"].as_str(), value["rolledBack"].as_str()),
        (Some("committed"), Some("UNAUTHORIZED_OPERATION"))
    );
    assert_eq!(value["keys"], json!(["log", "http", "db", "cache"]));
    let expected: Vec<(String, String)> = [
        ("http", "request"),
        ("db", "query"),
        ("db", "begin"),
        ("db", "execute"),
        ("db", "commit"),
        ("db", "begin"),
        ("db", "query"),
        ("db", "rollback"),
        ("cache", "set"),
        ("events", "publish"),
    ]
    .iter()
    .map(|(m, f)| (m.to_string(), f.to_string()))
    .collect();
    assert_eq!(calls(&host), expected);
    let recorded = host.calls.lock().unwrap().clone();
    assert_eq!(
        recorded[3].2,
        json!(["UPDATE orders SET n = 1", [], "tx-1"])
    );
    for _ in 0..200 {
        if host.released.lock().unwrap().contains(&id) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("the host was not told the execution ended");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sdk_native_never_reaches_global_this() {
    let host = Arc::new(RecordingHost::default());
    let engine = engine_with(EngineConfig::default(), host.clone());
    // A trap set before the SDK loads would catch a native passed through a global.
    let source = r#"export default async () => {
        let caught = [];
        for (const name of ["__iota_call", "call", "native"]) {
            Object.defineProperty(globalThis, name, { set(v) { caught.push(name) }, get() { return undefined }, configurable: true });
        }
        const before = Object.getOwnPropertyNames(globalThis).length;
        await sdk.cache.set("k", 1, 60);
        const added = Object.getOwnPropertyNames(globalThis).filter((n) => n.startsWith("__"));
        return { caught, added, grew: Object.getOwnPropertyNames(globalThis).length - before };
    }"#;
    let value = output(&run(&engine, job(source)).await);
    assert_eq!(value["caught"], json!([]));
    assert_eq!(
        value["added"],
        json!(["__iota_call"]),
        "only the trap itself"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn budgets_cut_in_at_the_configured_count() {
    let host = Arc::new(RecordingHost::default());
    let budgets = BudgetConfig {
        db: 3,
        cache: 2,
        log: 2,
        events: 1,
    };
    let engine = engine_with(
        EngineConfig {
            budgets,
            ..EngineConfig::default()
        },
        host.clone(),
    );
    let source = r#"export default async () => {
        const outcome = {};
        for (const [name, call] of [
            ["db", () => sdk.db.query("SELECT 1")],
            ["cache", () => sdk.cache.get("k")],
            ["events", () => events.publish("a.b", {})],
            ["http", () => sdk.http.get("https://example.com")],
        ]) {
            let done = 0;
            try { for (let i = 0; i < 10; i++) { await call(); done++; } } catch (e) { outcome[name] = [done, e.code]; }
        }
        return outcome;
    }"#;
    let mut job = job(source);
    job.limits.max_api_calls_per_minute = 4;
    let script = job.script_id;
    let value = output(&run(&engine, job.clone()).await);
    assert_eq!(
        value,
        json!({"db": [3, "RATE_LIMIT"], "cache": [2, "RATE_LIMIT"], "events": [1, "RATE_LIMIT"], "http": [4, "RATE_LIMIT"]})
    );

    // The budget is the script's, across executions: a second run of the same script is refused at once.
    let mut again = job.clone();
    again.execution_id = domain::ExecutionId::new();
    let value = output(&run(&engine, again).await);
    let spent = json!([0, "RATE_LIMIT"]);
    assert_eq!(
        value,
        json!({"db": spent, "cache": spent, "events": spent, "http": spent})
    );
    assert_eq!(job.script_id, script);

    // Logs over budget are dropped with one warning, and the script carries on.
    let report = run(&engine, support::job("export default () => { for (let i = 0; i < 5; i++) console.log('line', i); return 'ok' }")).await;
    assert_eq!(output(&report), json!("ok"));
    let messages: Vec<&str> = report.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages[2].contains("log budget"), "{messages:?}");
}
