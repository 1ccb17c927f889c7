//! A start stored without the node knowing: the database commits a run's `running` record and
//! the connection breaks before the answer comes back. The run never started; it must not stay
//! `running` on a node that lives. A queued run's next attempt runs it; otherwise it is failed
//! as `ABANDONED` once its grace is over — never while this node is carrying it out. And a run
//! whose caller stops waiting (its future dropped) is finished as `DETACHED`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod gated;

use chrono::{DateTime, Utc};
use domain::execution::{Execution, ExecutionStatus, Trigger, TriggerDetails, TriggerKind};
use domain::paging::PageRequest;
use domain::repository::{ExecutionRepository, RepoError, TenantRepository};
use domain::script::{Script, ScriptInput, ScriptRules};
use domain::{Actor, ExecutionId, Role, TenantId};
use gated::{Gate, Gated, Write};
use persistence::{SeaExecutionRepository, SeaScriptRepository, SeaTenantRepository};
use runtime::{Engine, EngineConfig, NoHost};
use serde_json::json;
use services::{Clock, ExecutionService, ExecutionServiceError, RunRequest, ScriptService};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use testkit::each_backend;

/// Storage whose next write of a `running` record is stored, then answered as if the
/// connection broke.
#[derive(Default)]
struct Unanswered {
    break_next_start: AtomicBool,
}

impl Gate for Unanswered {
    fn answer(
        &self,
        _write: Write,
        execution: &Execution,
        stored: Result<(), RepoError>,
    ) -> Result<(), RepoError> {
        if stored.is_ok()
            && execution.status == ExecutionStatus::Running
            && self.break_next_start.swap(false, Ordering::SeqCst)
        {
            return Err(RepoError::Unavailable("connection reset".into()));
        }
        stored
    }
}

/// The system clock, moved on by hand.
#[derive(Default)]
struct Later(AtomicI64);

impl Clock for Later {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.0.load(Ordering::SeqCst))
    }
}

struct World {
    tenant: TenantId,
    actor: Actor,
    script: Script,
    storage: Arc<Gated<Unanswered>>,
    executions: Arc<ExecutionService>,
    clock: Arc<Later>,
}

async fn world(database: persistence::Database, source: &str) -> World {
    let tenant = domain::tenant::Tenant::new("tenant-a", Some("tenant-a"), Utc::now()).unwrap();
    SeaTenantRepository::new(database.clone())
        .create(&tenant)
        .await
        .unwrap();
    let scripts = Arc::new(SeaScriptRepository::new(database.clone()));
    let config = EngineConfig {
        sandbox: runtime::SandboxConfig {
            mode: runtime::WorkerMode::InProcessUnisolated,
            ..runtime::SandboxConfig::default()
        },
        ..EngineConfig::default()
    };
    let engine = Engine::new(config, Arc::new(NoHost), tokio::runtime::Handle::current());
    let storage = Arc::new(Gated {
        inner: SeaExecutionRepository::new(database).with_node("node-a".into()),
        gate: Unanswered::default(),
    });
    let clock = Arc::new(Later::default());
    let executions = Arc::new(ExecutionService::new(
        scripts.clone(),
        storage.clone(),
        engine,
        clock.clone(),
    ));
    let service = ScriptService::new(
        scripts,
        ScriptRules::default(),
        clock.clone(),
        executions.clone(),
    );
    let actor = Actor::new(
        tenant.id,
        Some(domain::UserId::new()),
        Role::Admin.permissions(),
    );
    let input = ScriptInput {
        name: "Once".into(),
        source: source.into(),
        script_type: "oneoff".into(),
        ..Default::default()
    };
    let script = service.create(&actor, &input).await.unwrap();
    World {
        tenant: tenant.id,
        actor,
        script,
        storage,
        executions,
        clock,
    }
}

fn request() -> RunRequest {
    RunRequest {
        trigger: Trigger {
            kind: TriggerKind::Api,
            details: TriggerDetails::default(),
        },
        input: json!({}),
        argument: None,
        attempt: 1,
        event_depth: 0,
    }
}

async fn stored(world: &World, id: ExecutionId) -> Execution {
    world.storage.get(world.tenant, id).await.unwrap().unwrap()
}

/// Another attempt of execution `id`'s job finds nothing to start and leaves it.
async fn assert_left_alone(world: &World, id: ExecutionId) {
    let ran = world.executions.run_queued(world.tenant, id).await.unwrap();
    assert!(ran.is_none(), "{ran:?}");
}

/// A queued run whose start was stored unanswered; its job's first attempt failed.
async fn lost_queued_start(world: &World) -> ExecutionId {
    let pending = world.executions.pending_run(&world.script, request());
    world.storage.insert(&pending).await.unwrap();
    world
        .storage
        .gate
        .break_next_start
        .store(true, Ordering::SeqCst);
    let first = world
        .executions
        .run_queued(world.tenant, pending.id)
        .await
        .unwrap_err();
    assert!(
        matches!(
            first,
            ExecutionServiceError::Storage(RepoError::Unavailable(_))
        ),
        "{first:?}"
    );
    assert_eq!(
        stored(world, pending.id).await.status,
        ExecutionStatus::Running
    );
    pending.id
}

#[tokio::test]
async fn a_queued_run_whose_start_was_stored_unanswered_runs_on_its_next_attempt() {
    each_backend(|db| async move {
        let world = world(db.database.clone(), "export default async () => 'ran'").await;
        let id = lost_queued_start(&world).await;
        let ran = world
            .executions
            .run_queued(world.tenant, id)
            .await
            .unwrap()
            .expect("the lost start runs");
        assert_eq!(ran.status, ExecutionStatus::Completed);
        let record = stored(&world, id).await;
        assert_eq!(record.status, ExecutionStatus::Completed);
        assert_eq!(record.output, Some(json!("ran")));
        // It ran once: a third attempt finds it finished and leaves it.
        assert_left_alone(&world, id).await;
        assert_eq!(world.executions.settle_lost().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_lost_start_is_failed_as_abandoned_once_its_grace_is_over() {
    each_backend(|db| async move {
        let world = world(db.database.clone(), "export default async () => 'ran'").await;
        let queued = lost_queued_start(&world).await;
        // A direct run whose first record was stored unanswered: the caller hears of the error.
        world
            .storage
            .gate
            .break_next_start
            .store(true, Ordering::SeqCst);
        let direct = world
            .executions
            .run(&world.actor, world.script.id, request())
            .await
            .unwrap_err();
        assert!(
            matches!(direct, ExecutionServiceError::Storage(_)),
            "{direct:?}"
        );
        let running = world
            .storage
            .list_for_script(
                world.tenant,
                world.script.id,
                Some(ExecutionStatus::Running),
                PageRequest { page: 1, limit: 10 },
            )
            .await
            .unwrap();
        assert_eq!(running.items.len(), 2, "both starts are stored as running");

        // Within the grace, nothing is failed: the job's next attempt may run it.
        assert_eq!(world.executions.settle_lost().await.unwrap(), 0);
        world.clock.0.store(31, Ordering::SeqCst);
        assert_eq!(world.executions.settle_lost().await.unwrap(), 2);
        for record in running.items {
            let record = stored(&world, record.id).await;
            assert_eq!(record.status, ExecutionStatus::Failed);
            assert_eq!(record.error.unwrap().code, "ABANDONED");
        }
        // Settled once: the queued run's job, tried again now, leaves it failed.
        assert_left_alone(&world, queued).await;
        assert_eq!(world.executions.settle_lost().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_run_going_on_here_is_never_failed_as_lost() {
    each_backend(|db| async move {
        let world = world(
            db.database.clone(),
            "export default async () => { const end = Date.now() + 1500; while (Date.now() < end) {} return 'long'; }",
        )
        .await;
        let pending = world.executions.pending_run(&world.script, request());
        world.storage.insert(&pending).await.unwrap();
        let executions = world.executions.clone();
        let (tenant, id) = (world.tenant, pending.id);
        let run = tokio::spawn(async move { executions.run_queued(tenant, id).await });
        while stored(&world, id).await.status != ExecutionStatus::Running {
            tokio::task::yield_now().await;
        }
        // Another attempt of its job, past any grace, while it runs here: left alone.
        world.clock.0.store(3600, Ordering::SeqCst);
        assert_left_alone(&world, id).await;
        assert_eq!(world.executions.settle_lost().await.unwrap(), 0);
        let ran = run.await.unwrap().unwrap().unwrap();
        assert_eq!(ran.status, ExecutionStatus::Completed);
        assert_eq!(stored(&world, id).await.status, ExecutionStatus::Completed);
    })
    .await;
}

#[tokio::test]
async fn a_run_whose_caller_stopped_waiting_is_finished_as_detached() {
    each_backend(|db| async move {
        let world = world(
            db.database.clone(),
            "export default async () => { const end = Date.now() + 1000; while (Date.now() < end) {} return 'late'; }",
        )
        .await;
        let executions = world.executions.clone();
        let (actor, script) = (world.actor.clone(), world.script.id);
        let caller = tokio::spawn(async move { executions.run(&actor, script, request()).await });
        let running = loop {
            let page = world
                .storage
                .list_for_script(world.tenant, script, None, PageRequest { page: 1, limit: 1 })
                .await
                .unwrap();
            if let Some(execution) = page.items.into_iter().next() {
                break execution;
            }
            tokio::task::yield_now().await;
        };
        // The caller's future is dropped mid-run.
        caller.abort();
        assert!(caller.await.unwrap_err().is_cancelled());
        let mut record = stored(&world, running.id).await;
        for _ in 0..200 {
            if record.status != ExecutionStatus::Running {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            record = stored(&world, running.id).await;
        }
        assert_eq!(record.status, ExecutionStatus::Failed);
        assert_eq!(record.error.unwrap().code, services::DETACHED);
    })
    .await;
}
