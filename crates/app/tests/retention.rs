//! Retention on SQLite and PostgreSQL: finished executions and settled cron ticks past their
//! tenant's retention are pruned in batches; newer ones, unfinished ones, claims still held
//! and the history of a tenant with a longer retention stay.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use chrono::{Duration as Span, Utc};
use domain::execution::{Execution, NewExecution, Outcome, Trigger, TriggerKind};
use domain::repository::{ExecutionRepository, ScheduleRepository};
use domain::schedule::TickStatus;
use domain::{ExecutionId, ScriptId, TenantId};
use persistence::{SeaExecutionRepository, SeaScheduleRepository};
use serde_json::json;
use support::{TestApp, parts, spawn_app_with};
use testkit::each_backend;

async fn tenant_of(app: &TestApp, token: &str) -> TenantId {
    app.components
        .accounts
        .authenticate_token(token)
        .await
        .unwrap()
        .tenant_id
}

async fn script(app: &TestApp, token: &str, name: &str) -> ScriptId {
    let body = json!({ "name": name, "type": "scheduled", "status": "paused",
        "cronExpression": "0 3 * * *", "source": "export default () => 1" });
    let (status, created) = parts(app.post("/api/v1/scripts", token, &body).await).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().parse().unwrap()
}

/// Stores an execution created `days` ago, finished unless `pending`.
async fn past_run(
    app: &TestApp,
    tenant: TenantId,
    script: ScriptId,
    days: i64,
    pending: bool,
) -> ExecutionId {
    let at = Utc::now() - Span::days(days);
    let new = NewExecution {
        tenant_id: tenant,
        script_id: script,
        script_version: 1,
        trigger: Trigger {
            kind: TriggerKind::Manual,
            details: Default::default(),
        },
        input: json!({}),
        attempt: 1,
    };
    let mut execution = Execution::pending(new, at);
    if !pending {
        execution.start(at).unwrap();
        execution
            .finish(Outcome::Completed(json!("old")), at)
            .unwrap();
    }
    SeaExecutionRepository::new(app.components.database.clone())
        .insert(&execution)
        .await
        .unwrap();
    execution.id
}

async fn exists(app: &TestApp, token: &str, id: ExecutionId) -> bool {
    let response = app.get(&format!("/api/v1/executions/{id}"), token).await;
    match response.status().as_u16() {
        200 => true,
        404 => false,
        other => panic!("unexpected status {other}"),
    }
}

async fn tick(url: &str, tenant: TenantId, script: ScriptId, days: i64, status: TickStatus) {
    let at = Utc::now() - Span::days(days);
    // Stored as a node would have claimed it then.
    let connection = sea_orm::Database::connect(url).await.unwrap();
    use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
    let backend = connection.get_database_backend();
    let marks: Vec<String> = (1..=6)
        .map(|n| match backend {
            DbBackend::Postgres => format!("${n}"),
            _ => "?".to_owned(),
        })
        .collect();
    let sql = format!(
        "INSERT INTO schedule_ticks (id, tenant_id, script_id, scheduled_for, status, node, claimed_at) \
         VALUES ({}, {}, {}, {}, {}, 'node-old', {})",
        marks[0], marks[1], marks[2], marks[3], marks[4], marks[5]
    );
    let values: Vec<Value> = vec![
        uuid::Uuid::new_v4().into(),
        tenant.0.into(),
        script.0.into(),
        at.into(),
        status.as_str().into(),
        at.into(),
    ];
    connection
        .execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .unwrap();
}

async fn tick_statuses(app: &TestApp, tenant: TenantId, script: ScriptId) -> Vec<TickStatus> {
    SeaScheduleRepository::new(app.components.database.clone())
        .ticks(tenant, script, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.status)
        .collect()
}

#[tokio::test]
async fn history_past_retention_is_pruned_per_tenant_and_nothing_else() {
    each_backend(|db| async move {
        let app = spawn_app_with(&db, |settings| {
            settings.retention.execution_days = 30;
            settings.retention.tenant_days = "tenant-b=90".into();
            // One row per statement: the batches are exercised.
            settings.retention.batch = 1;
        })
        .await;
        let (a, b) = (
            tenant_of(&app, &app.admin).await,
            tenant_of(&app, &app.other_tenant).await,
        );
        let script_a = script(&app, &app.admin, "Nightly A").await;
        let script_b = script(&app, &app.other_tenant, "Nightly B").await;

        let old_a = past_run(&app, a, script_a, 40, false).await;
        let older_a = past_run(&app, a, script_a, 31, false).await;
        let recent_a = past_run(&app, a, script_a, 10, false).await;
        let stuck_a = past_run(&app, a, script_a, 40, true).await;
        let old_b = past_run(&app, b, script_b, 40, false).await;
        let ancient_b = past_run(&app, b, script_b, 100, false).await;
        tick(&db.url, a, script_a, 40, TickStatus::Started).await;
        tick(&db.url, a, script_a, 41, TickStatus::SkippedOverlap).await;
        tick(&db.url, a, script_a, 42, TickStatus::Claimed).await;
        tick(&db.url, a, script_a, 5, TickStatus::Started).await;
        tick(&db.url, b, script_b, 40, TickStatus::Started).await;

        let report = app.components.retention.prune().await.unwrap();
        assert_eq!((report.executions, report.ticks), (3, 2), "{report:?}");

        assert!(!exists(&app, &app.admin, old_a).await);
        assert!(!exists(&app, &app.admin, older_a).await);
        assert!(exists(&app, &app.admin, recent_a).await);
        assert!(
            exists(&app, &app.admin, stuck_a).await,
            "an unfinished run was pruned"
        );
        assert!(
            exists(&app, &app.other_tenant, old_b).await,
            "tenant B keeps 90 days"
        );
        assert!(!exists(&app, &app.other_tenant, ancient_b).await);
        let mut left = tick_statuses(&app, a, script_a).await;
        left.sort_by_key(|s| s.as_str());
        assert_eq!(left, vec![TickStatus::Claimed, TickStatus::Started]);
        assert_eq!(tick_statuses(&app, b, script_b).await.len(), 1);

        let again = app.components.retention.prune().await.unwrap();
        assert_eq!((again.executions, again.ticks), (0, 0));
        app.stop().await;
    })
    .await;
}
