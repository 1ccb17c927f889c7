//! An execution whose record cannot be stored as it is still ends with a final status: it is
//! stored as `failed` with `RECORD_UNSTORABLE`, never left `running`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::execution::{
    Execution, ExecutionError, ExecutionStatus, Trigger, TriggerDetails, TriggerKind,
};
use domain::paging::{ExecutionFilter, HistoryCursor, Page, PageRequest};
use domain::repository::{ExecutionRepository, RepoError, TenantRepository};
use domain::script::{ScriptInput, ScriptRules};
use domain::{Actor, ExecutionId, Role, ScriptId, TenantId};
use persistence::{SeaExecutionRepository, SeaScriptRepository, SeaTenantRepository};
use runtime::{Engine, EngineConfig, NoHost};
use serde_json::json;
use services::{ExecutionService, RunRequest, ScriptService, SystemClock};
use std::sync::Arc;
use testkit::each_backend;

/// Storage that refuses any record whose output holds the marker, as a database refuses a
/// value it cannot hold.
struct Refusing(SeaExecutionRepository);

const MARKER: &str = "cannot be stored";

#[async_trait]
impl ExecutionRepository for Refusing {
    async fn insert(&self, execution: &Execution) -> Result<(), RepoError> {
        self.0.insert(execution).await
    }
    async fn update(&self, execution: &Execution) -> Result<(), RepoError> {
        if execution
            .output
            .as_ref()
            .is_some_and(|o| o.to_string().contains(MARKER))
        {
            return Err(RepoError::Storage(
                "update execution: database error".into(),
            ));
        }
        self.0.update(execution).await
    }
    async fn get(&self, tenant: TenantId, id: ExecutionId) -> Result<Option<Execution>, RepoError> {
        self.0.get(tenant, id).await
    }
    async fn list_for_script(
        &self,
        tenant: TenantId,
        script: ScriptId,
        status: Option<ExecutionStatus>,
        page: PageRequest,
    ) -> Result<Page<Execution>, RepoError> {
        self.0.list_for_script(tenant, script, status, page).await
    }
    async fn history(
        &self,
        tenant: TenantId,
        filter: &ExecutionFilter,
        after: Option<HistoryCursor>,
        limit: u64,
    ) -> Result<Vec<Execution>, RepoError> {
        self.0.history(tenant, filter, after, limit).await
    }
    async fn fail_orphaned(
        &self,
        error: &ExecutionError,
        at: DateTime<Utc>,
        live_since: DateTime<Utc>,
    ) -> Result<u64, RepoError> {
        self.0.fail_orphaned(error, at, live_since).await
    }
    async fn requeue_lost(&self, tenant: TenantId, id: ExecutionId) -> Result<bool, RepoError> {
        self.0.requeue_lost(tenant, id).await
    }
    async fn fail_lost(
        &self,
        tenant: TenantId,
        id: ExecutionId,
        error: &ExecutionError,
        at: DateTime<Utc>,
    ) -> Result<bool, RepoError> {
        self.0.fail_lost(tenant, id, error, at).await
    }
    async fn cancelled_on(
        &self,
        node: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<domain::ExecutionId>, RepoError> {
        self.0.cancelled_on(node, since).await
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
        let storage = Arc::new(Refusing(SeaExecutionRepository::new(db.database.clone())));
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
