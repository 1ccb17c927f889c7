//! An execution whose record cannot be stored as it is still ends with a final status: it is
//! stored as `failed` with `RECORD_UNSTORABLE`, never left `running`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod gated;

use chrono::Utc;
use domain::execution::{Execution, ExecutionStatus, Trigger, TriggerDetails, TriggerKind};
use domain::repository::{ExecutionRepository, RepoError, TenantRepository};
use domain::script::{ScriptInput, ScriptRules};
use domain::{Actor, Role};
use gated::{Gate, Gated, Write};
use persistence::{SeaExecutionRepository, SeaScriptRepository, SeaTenantRepository};
use runtime::{Engine, EngineConfig, NoHost};
use serde_json::json;
use services::{ExecutionService, RunRequest, ScriptService, SystemClock};
use std::sync::Arc;
use testkit::each_backend;

/// Storage that refuses any record whose output holds the marker, as a database refuses a
/// value it cannot hold.
struct Refusing;

const MARKER: &str = "cannot be stored";

impl Gate for Refusing {
    fn refuse(&self, write: Write, execution: &Execution) -> Option<RepoError> {
        let unstorable = execution
            .output
            .as_ref()
            .is_some_and(|o| o.to_string().contains(MARKER));
        (write == Write::Update && unstorable)
            .then(|| RepoError::Storage("update execution: database error".into()))
    }
}

#[tokio::test]
async fn an_unstorable_record_is_stored_as_failed() {
    each_backend(|db| async move {
        let tenant = domain::tenant::Tenant::new("tenant-a", Some("tenant-a"), Utc::now()).unwrap();
        SeaTenantRepository::new(db.database.clone())
            .create(&tenant)
            .await
            .unwrap();
        let scripts = Arc::new(SeaScriptRepository::new(db.database.clone()));
        let config = EngineConfig {
            sandbox: runtime::SandboxConfig {
                mode: runtime::WorkerMode::InProcessUnisolated,
                ..runtime::SandboxConfig::default()
            },
            ..EngineConfig::default()
        };
        let engine = Engine::new(config, Arc::new(NoHost), tokio::runtime::Handle::current());
        let storage = Arc::new(Gated {
            inner: SeaExecutionRepository::new(db.database.clone()),
            gate: Refusing,
        });
        let executions = Arc::new(ExecutionService::new(
            scripts.clone(),
            storage.clone(),
            engine,
            Arc::new(SystemClock),
        ));
        let service = ScriptService::new(
            scripts,
            ScriptRules::default(),
            Arc::new(SystemClock),
            executions.clone(),
        );
        let actor = Actor::new(
            tenant.id,
            Some(domain::UserId::new()),
            Role::Admin.permissions(),
        );
        let input = ScriptInput {
            name: "Unstorable".into(),
            source: format!("export default async () => ({{ text: '{MARKER}' }})"),
            script_type: "oneoff".into(),
            ..Default::default()
        };
        let script = service.create(&actor, &input).await.unwrap();
        let request = RunRequest {
            trigger: Trigger {
                kind: TriggerKind::Api,
                details: TriggerDetails::default(),
            },
            input: json!({}),
            argument: None,
            attempt: 1,
            event_depth: 0,
        };
        let execution = executions.run(&actor, script.id, request).await.unwrap();
        let stored = storage.get(tenant.id, execution.id).await.unwrap().unwrap();
        for record in [&execution, &stored] {
            assert_eq!(record.status, ExecutionStatus::Failed);
            let error = record.error.as_ref().unwrap();
            assert_eq!(error.code, "RECORD_UNSTORABLE");
            assert!(
                error.message.contains("completed") && error.message.contains("database error"),
                "{}",
                error.message
            );
            assert_eq!(record.output, None);
        }
    })
    .await;
}
