//! `ScriptService` on real storage: permissions, tenant isolation, versions and restore.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use chrono::Utc;
use domain::paging::{PageRequest, ScriptFilter};
use domain::script::{ScriptInput, ScriptRules, ScriptStatus};
use domain::{Actor, Permission, Role, ScriptId, TenantId};
use persistence::{SeaExecutionRepository, SeaScriptRepository, SeaTenantRepository};
use runtime::{Engine, EngineConfig, NoHost};
use services::{ExecutionService, ScriptError, ScriptService, SystemClock, UpdateScript};
use std::sync::Arc;
use testkit::{TestDatabaseRef, each_backend};

async fn setup(db: &TestDatabaseRef) -> (ScriptService, TenantId, TenantId) {
    let tenants = SeaTenantRepository::new(db.database.clone());
    let mut ids = Vec::new();
    for slug in ["tenant-a", "tenant-b"] {
        let tenant = domain::tenant::Tenant::new(slug, Some(slug), Utc::now()).unwrap();
        domain::repository::TenantRepository::create(&tenants, &tenant)
            .await
            .unwrap();
        ids.push(tenant.id);
    }
    let repo = Arc::new(SeaScriptRepository::new(db.database.clone()));
    // These tests are about storage and permissions: the sandbox runs in-process here (its
    // isolation is tested in the runtime crate and through the real binary in the app).
    let config = EngineConfig {
        sandbox: runtime::SandboxConfig {
            mode: runtime::WorkerMode::InProcessUnisolated,
            ..runtime::SandboxConfig::default()
        },
        ..EngineConfig::default()
    };
    let engine = Engine::new(config, Arc::new(NoHost), tokio::runtime::Handle::current());
    let executions = Arc::new(ExecutionService::new(
        repo.clone(),
        Arc::new(SeaExecutionRepository::new(db.database.clone())),
        engine,
        Arc::new(SystemClock),
    ));
    let service = ScriptService::new(
        repo,
        ScriptRules::default(),
        Arc::new(SystemClock),
        executions,
    );
    (service, ids[0], ids[1])
}

fn actor(tenant: TenantId, role: Role) -> Actor {
    Actor::new(tenant, Some(domain::UserId::new()), role.permissions())
}

fn forbidden<T>(result: Result<T, ScriptError>) -> bool {
    matches!(result, Err(ScriptError::Forbidden(_)))
}

fn not_found<T>(result: Result<T, ScriptError>) -> bool {
    matches!(result, Err(ScriptError::NotFound))
}

fn oneoff(name: &str) -> ScriptInput {
    ScriptInput {
        name: name.into(),
        source: "export default async function (input) { return input }".into(),
        script_type: "oneoff".into(),
        ..Default::default()
    }
}

fn http(name: &str, path: &str) -> ScriptInput {
    ScriptInput {
        name: name.into(),
        source: "async function handleRequest(req) { return { status: 200 } }".into(),
        script_type: "http".into(),
        http_path: Some(path.into()),
        http_methods: vec!["GET".into()],
        ..Default::default()
    }
}

#[tokio::test]
async fn permissions_are_checked_on_every_call() {
    each_backend(|db| async move {
        let (service, a, _) = setup(&db).await;
        let admin = actor(a, Role::Admin);
        let viewer = actor(a, Role::Viewer);
        let developer = actor(a, Role::Developer);
        let script = service.create(&admin, &oneoff("Report")).await.unwrap();

        assert!(forbidden(service.create(&viewer, &oneoff("Other")).await));
        let update = UpdateScript {
            input: oneoff("Renamed"),
            change_summary: None,
        };
        assert!(forbidden(service.update(&viewer, script.id, &update).await));
        assert!(forbidden(service.delete(&viewer, script.id).await));
        assert!(forbidden(service.delete(&developer, script.id).await));
        assert!(forbidden(service.restore(&viewer, script.id, 1).await));
        assert!(service.get(&viewer, script.id).await.is_ok());
        assert_eq!(
            service
                .list(&viewer, &ScriptFilter::default(), PageRequest::default())
                .await
                .unwrap()
                .total,
            1
        );

        // HTTP endpoints also need scripts.manage_endpoints.
        let no_endpoints = Actor::new(
            a,
            None,
            [Permission::ScriptsCreate, Permission::ScriptsRead],
        );
        assert!(forbidden(
            service.create(&no_endpoints, &http("Hook", "/hook")).await
        ));
        assert!(
            service
                .create(&developer, &http("Hook", "/hook"))
                .await
                .is_ok()
        );
        let nobody = Actor::new(a, None, []);
        assert!(forbidden(service.get(&nobody, script.id).await));
    })
    .await;
}

#[tokio::test]
async fn another_tenants_script_is_not_found() {
    each_backend(|db| async move {
        let (service, a, b) = setup(&db).await;
        let script = service
            .create(&actor(a, Role::Admin), &oneoff("Secret"))
            .await
            .unwrap();
        let intruder = actor(b, Role::Admin);
        assert!(not_found(service.get(&intruder, script.id).await));
        let update = UpdateScript {
            input: oneoff("Stolen"),
            change_summary: None,
        };
        assert!(not_found(
            service.update(&intruder, script.id, &update).await
        ));
        assert!(not_found(service.delete(&intruder, script.id).await));
        assert!(not_found(
            service
                .versions(&intruder, script.id, PageRequest::default())
                .await
        ));
        assert!(not_found(service.restore(&intruder, script.id, 1).await));
        assert_eq!(
            service
                .list(&intruder, &ScriptFilter::default(), PageRequest::default())
                .await
                .unwrap()
                .total,
            0
        );
        let still = service
            .get(&actor(a, Role::Viewer), script.id)
            .await
            .unwrap();
        assert_eq!((still.spec.name.as_str(), still.version), ("Secret", 1));
    })
    .await;
}

#[tokio::test]
async fn updates_and_restores_write_new_versions() {
    each_backend(|db| async move {
        let (service, a, _) = setup(&db).await;
        let admin = actor(a, Role::Admin);
        let script = service.create(&admin, &oneoff("Report")).await.unwrap();

        let mut changed = oneoff("Report");
        changed.source = "export default () => 2".into();
        changed.status = Some("active".into());
        let update = UpdateScript {
            input: changed.clone(),
            change_summary: Some("Return two".into()),
        };
        let v2 = service.update(&admin, script.id, &update).await.unwrap();
        assert_eq!((v2.version, v2.spec.status), (2, ScriptStatus::Active));

        // The same content again writes nothing.
        let same = service
            .update(
                &admin,
                script.id,
                &UpdateScript {
                    input: changed,
                    change_summary: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(same.version, 2);

        let v3 = service.restore(&admin, script.id, 1).await.unwrap();
        assert_eq!(v3.version, 3);
        assert_eq!(v3.spec, script.spec);
        let versions = service
            .versions(&admin, script.id, PageRequest::default())
            .await
            .unwrap();
        let summaries: Vec<(i32, String)> = versions
            .items
            .iter()
            .map(|v| (v.version, v.change_summary.clone()))
            .collect();
        assert_eq!(
            summaries,
            vec![
                (3, "Restored version 1".into()),
                (2, "Return two".into()),
                (1, "Created".into())
            ]
        );
        assert!(matches!(
            service.restore(&admin, script.id, 9).await,
            Err(ScriptError::VersionNotFound(9))
        ));
        assert!(matches!(
            service.get(&admin, ScriptId::new()).await,
            Err(ScriptError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn bad_input_and_conflicts_write_nothing() {
    each_backend(|db| async move {
        let (service, a, _) = setup(&db).await;
        let admin = actor(a, Role::Admin);
        let script = service
            .create(&admin, &http("Orders", "/orders/:id"))
            .await
            .unwrap();

        let mut bad = oneoff("x");
        bad.script_type = "scheduled".into();
        match service.create(&admin, &bad).await {
            Err(ScriptError::Invalid(errors)) => {
                assert!(
                    errors.get("name").is_some() && errors.get("cronExpression").is_some(),
                    "{errors}"
                );
            }
            other => panic!("expected invalid input, got {other:?}"),
        }
        // A syntax error is the real fault of a source that also lacks an entry point.
        let mut broken = oneoff("Broken");
        broken.source = "function helper( { return 1 }\n".into();
        match service.create(&admin, &broken).await {
            Err(ScriptError::Invalid(errors)) => {
                let message = errors.get("source").unwrap_or_default();
                assert!(message.contains("line 1"), "{message}");
                assert!(!message.contains("entry point"), "{message}");
            }
            other => panic!("expected invalid input, got {other:?}"),
        }
        let mut no_entry = oneoff("No entry");
        no_entry.source = "function helper() { return 1 }\n".into();
        match service.create(&admin, &no_entry).await {
            Err(ScriptError::Invalid(errors)) => {
                assert!(
                    errors.get("source").unwrap_or_default().contains("main"),
                    "{errors}"
                );
            }
            other => panic!("expected invalid input, got {other:?}"),
        }
        assert!(matches!(
            service.create(&admin, &oneoff("Orders")).await,
            Err(ScriptError::Conflict(_))
        ));
        assert!(matches!(
            service.create(&admin, &http("Other", "/orders/:key")).await,
            Err(ScriptError::Conflict(_))
        ));
        let long_summary = UpdateScript {
            input: oneoff("Orders"),
            change_summary: Some("s".repeat(501)),
        };
        match service.update(&admin, script.id, &long_summary).await {
            Err(ScriptError::Invalid(errors)) => assert!(errors.get("changeSummary").is_some()),
            other => panic!("expected invalid input, got {other:?}"),
        }
        let total = service
            .list(&admin, &ScriptFilter::default(), PageRequest::default())
            .await
            .unwrap()
            .total;
        assert_eq!(total, 1);
        let versions = service
            .versions(&admin, script.id, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(versions.total, 1);
    })
    .await;
}

#[derive(serde::Serialize)]
struct Order {
    items: Vec<u32>,
    coupon: Option<String>,
}

#[derive(Debug, serde::Deserialize, PartialEq)]
struct Verdict {
    total: u32,
    approved: bool,
}

#[tokio::test]
async fn host_code_executes_scripts_with_typed_input_and_output() {
    each_backend(|db| async move {
        let (service, a, b) = setup(&db).await;
        let admin = actor(a, Role::Admin);
        let mut input = oneoff("Order rule");
        input.script_type = "embedded".into();
        input.source = "export default (order) => { console.log('checking', order.items.length); \
            const total = order.items.reduce((a, b) => a + b, 0); return { total, approved: total < 100 } }"
            .into();
        let script = service.create(&admin, &input).await.unwrap();

        let order = Order { items: vec![10, 20, 30], coupon: None };
        let outcome = service.execute::<_, Verdict>(&admin, script.id, &order).await.unwrap();
        assert_eq!(outcome.result.unwrap(), Verdict { total: 60, approved: true });
        assert_eq!(outcome.status, domain::execution::ExecutionStatus::Completed);
        assert_eq!(outcome.logs[0].message, "checking 3");

        // A shape the script does not return is a typed error, not a panic.
        let wrong = service.execute::<_, Vec<String>>(&admin, script.id, &order).await.unwrap();
        assert_eq!(wrong.result.unwrap_err().code, "OUTPUT_TYPE");

        // The runs are in the script's history, as embedded runs of version 1.
        let history = service.executions().list(&admin, script.id, None, PageRequest::default()).await.unwrap();
        assert_eq!(history.total, 2);
        let recorded = &history.items[1];
        assert_eq!((recorded.script_version, recorded.trigger.kind), (1, domain::execution::TriggerKind::Embedded));
        assert_eq!(recorded.output, Some(serde_json::json!({"total": 60, "approved": true})));

        // Same limits and rules: another tenant cannot run it, a viewer cannot run it.
        assert!(not_found(service.execute::<_, Verdict>(&actor(b, Role::Admin), script.id, &order).await));
        assert!(forbidden(service.execute::<_, Verdict>(&actor(a, Role::Viewer), script.id, &order).await));
    })
    .await;
}
