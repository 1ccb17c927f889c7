//! A run asked for live logs hands each line to its sink while it still runs (in a worker
//! process and in the in-process mode alike), and its report still carries every line.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use async_trait::async_trait;
use domain::execution::LogEntry;
use runtime::{CallScope, EngineConfig, HostError, HostPort, LiveLogSink, WorkerMode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::*;
use tokio::sync::{Semaphore, mpsc};

/// A host whose `gate.pass` call answers only once the test lets it through.
struct GateHost(Arc<Semaphore>);

#[async_trait]
impl HostPort for GateHost {
    async fn call(
        &self,
        _scope: CallScope,
        _module: &str,
        _method: &str,
        _args: Value,
    ) -> Result<Value, HostError> {
        let _ = self.0.acquire().await.unwrap();
        Ok(json!(true))
    }

    fn services(&self) -> Vec<(String, Vec<String>)> {
        vec![("gate".into(), vec!["pass".into()])]
    }
}

#[derive(Debug)]
struct ChannelSink(mpsc::UnboundedSender<LogEntry>);

impl LiveLogSink for ChannelSink {
    fn line(&self, entry: LogEntry) {
        let _ = self.0.send(entry);
    }
}

const SOURCE: &str = r#"
export default async () => {
    console.log("before the gate");
    await services.gate.pass();
    sdk.log.info("after the gate", { n: 1 });
    return "done";
}"#;

async fn lines_arrive_while_the_run_goes(mode: WorkerMode) {
    let gate = Arc::new(Semaphore::new(0));
    let mut config = EngineConfig::default();
    config.sandbox.mode = mode;
    let engine = runtime::Engine::new(
        config,
        Arc::new(GateHost(gate.clone())),
        tokio::runtime::Handle::current(),
    );
    let (sink, mut lines) = mpsc::unbounded_channel();
    let mut job = job(SOURCE);
    job.live = Some(Arc::new(ChannelSink(sink)));
    let running = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run(job).await.unwrap() }
    });
    let first = tokio::time::timeout(Duration::from_secs(10), lines.recv())
        .await
        .expect("the first line arrives while the run waits at the gate")
        .unwrap();
    assert_eq!(first.message, "before the gate");
    assert!(!running.is_finished());
    gate.add_permits(1);
    let second = tokio::time::timeout(Duration::from_secs(10), lines.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (second.message.as_str(), &second.metadata),
        ("after the gate", &json!({"n": 1}))
    );
    let report = running.await.unwrap();
    assert_eq!(output(&report), json!("done"));
    let logged: Vec<_> = report.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(logged, ["before the gate", "after the gate"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_process_sends_each_line_as_it_is_logged() {
    lines_arrive_while_the_run_goes(worker_mode()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_in_process_mode_sends_each_line_as_it_is_logged() {
    lines_arrive_while_the_run_goes(WorkerMode::InProcessUnisolated).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_without_a_sink_sends_no_live_lines_and_keeps_its_report() {
    let engine = engine();
    let report = run(
        &engine,
        job("export default () => { console.log('x'); return 1; }"),
    )
    .await;
    assert_eq!(report.logs.len(), 1);
}
