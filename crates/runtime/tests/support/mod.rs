//! Building jobs and engines for sandbox tests.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use async_trait::async_trait;
use domain::execution::{ExecutionError, Outcome};
use domain::script::{ResourceLimits, ScriptType};
use domain::{ExecutionId, ScriptId, TenantId};
use runtime::{
    CallScope, Engine, EngineConfig, HostError, HostErrorCode, HostPort, Job, Report, WorkerMode,
};
use serde_json::{Value, json};
use std::sync::Arc;

pub fn job(source: &str) -> Job {
    job_of(TenantId::new(), ScriptType::OneOff, source)
}

pub fn job_of(tenant: TenantId, script_type: ScriptType, source: &str) -> Job {
    Job {
        execution_id: ExecutionId::new(),
        tenant_id: tenant,
        script_id: ScriptId::new(),
        script_version: 1,
        user_id: None,
        script_type,
        source: source.into(),
        limits: ResourceLimits {
            max_execution_time_ms: 5_000,
            ..ResourceLimits::default()
        },
        input: json!({"n": 1}),
        argument: json!({"n": 1}),
        trigger: json!({"type": "manual"}),
        event_depth: 0,
        live: None,
    }
}

pub fn engine() -> Engine {
    engine_with(EngineConfig::default(), Arc::new(TestHost))
}

/// The dedicated worker binary of this crate, as the supervisor's worker program.
pub fn worker_mode() -> WorkerMode {
    WorkerMode::Process {
        program: env!("CARGO_BIN_EXE_iota-sandbox").into(),
        args: Vec::new(),
    }
}

/// An engine whose workers are real, locked-down processes.
pub fn engine_with(mut config: EngineConfig, host: Arc<dyn HostPort>) -> Engine {
    config.sandbox.mode = worker_mode();
    Engine::new(config, host, tokio::runtime::Handle::current())
}

pub async fn run(engine: &Engine, job: Job) -> Report {
    engine.run(job).await.expect("the engine accepts the job")
}

pub fn output(report: &Report) -> Value {
    match &report.outcome {
        Outcome::Completed(value) => value.clone(),
        other => panic!("expected completion, got {other:?}"),
    }
}

pub fn failure(report: &Report) -> ExecutionError {
    match &report.outcome {
        Outcome::Failed(error) => error.clone(),
        other => panic!("expected failure, got {other:?}"),
    }
}

/// A host with a `math` service that answers after a real await, and fails on demand.
pub struct TestHost;

#[async_trait]
impl HostPort for TestHost {
    async fn call(
        &self,
        scope: CallScope,
        module: &str,
        method: &str,
        args: Value,
    ) -> Result<Value, HostError> {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        match (module, method) {
            ("services", "math.add") => {
                let sum: f64 = args
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_f64)
                    .sum();
                Ok(json!(sum))
            }
            ("services", "math.whoami") => {
                Ok(json!({ "tenant": scope.tenant_id, "script": scope.script_id }))
            }
            _ => Err(HostError::new(
                HostErrorCode::NotFound,
                format!("{module}.{method} does not exist"),
            )),
        }
    }

    fn services(&self) -> Vec<(String, Vec<String>)> {
        vec![(
            "math".into(),
            vec!["add".into(), "whoami".into(), "fail".into()],
        )]
    }
}
