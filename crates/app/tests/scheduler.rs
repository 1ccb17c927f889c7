//! The cron scheduler on an injected clock, on SQLite and PostgreSQL: a tick fires once
//! although two schedulers (two nodes) race for it, a tick during a run that still goes is
//! skipped and recorded, ticks missed while no node ran fire once, a paused script does not
//! fire, and a claim whose node died before starting its run is taken over.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use chrono::{DateTime, Duration as Span, Utc};
use domain::alerts::{Alert, AlertCause};
use domain::repository::{ScheduleRepository, ScriptRepository};
use domain::schedule::{TickClaim, TickStatus};
use domain::script::AlertSettings;
use domain::{ScriptId, TenantId};
use persistence::{SeaAlertStateRepository, SeaScheduleRepository, SeaScriptRepository};
use serde_json::{Value, json};
use services::alerts::{AlertSender, Alerts};
use services::{Clock, Scheduler, SchedulerConfig};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{TestApp, parts, spawn_app};
use testkit::each_backend;

struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap() = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// Keeps the alerts it is asked to send.
#[derive(Default)]
struct Recorder(Mutex<Vec<Alert>>);

#[async_trait::async_trait]
impl AlertSender for Recorder {
    async fn send(&self, alert: &Alert, _: &AlertSettings) {
        self.0.lock().unwrap().push(alert.clone());
    }
}

fn scheduler(app: &TestApp, clock: &Arc<ManualClock>, node: &str) -> Scheduler {
    let database = app.components.database.clone();
    Scheduler::new(
        Arc::new(SeaScheduleRepository::new(database.clone())),
        Arc::new(SeaScriptRepository::new(database)),
        app.components.executions.clone(),
        clock.clone(),
        SchedulerConfig {
            node: node.into(),
            ..SchedulerConfig::default()
        },
    )
}

/// Creates an active script that runs every minute and waits `sleep_ms`; its id.
async fn every_minute(app: &TestApp, name: &str, sleep_ms: u64) -> ScriptId {
    let body = json!({ "name": name, "type": "scheduled", "status": "active",
        "cronExpression": "* * * * *", "timezone": "Europe/Berlin",
        "source": format!("export default async () => {{ await new Promise((r) => setTimeout(r, {sleep_ms})); return 'ran'; }}") });
    let (status, created) = parts(app.post("/api/v1/scripts", &app.admin, &body).await).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().parse().unwrap()
}

async fn next_run(app: &TestApp, tenant: TenantId, id: ScriptId) -> Option<DateTime<Utc>> {
    let scripts = SeaScriptRepository::new(app.components.database.clone());
    scripts.get(tenant, id).await.unwrap().unwrap().next_run_at
}

#[tokio::test]
async fn each_tick_fires_once_overlaps_are_skipped_and_missed_ticks_run_once() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let tenant = app
            .components
            .accounts
            .authenticate_token(&app.admin)
            .await
            .unwrap()
            .tenant_id;
        let id = every_minute(&app, "Every minute", 3000).await;
        let due = next_run(&app, tenant, id)
            .await
            .expect("an active schedule has a next run");
        let clock = Arc::new(ManualClock(Mutex::new(due - Span::seconds(1))));
        let (a, b) = (
            scheduler(&app, &clock, "node-a"),
            scheduler(&app, &clock, "node-b"),
        );

        let early = a.pass().await.unwrap();
        assert!(early.started.is_empty(), "fired before its time");

        // Two nodes race for the tick: it fires once.
        clock.set(due + Span::milliseconds(300));
        let (first, second) = tokio::join!(a.pass(), b.pass());
        let (mut first, second) = (first.unwrap(), second.unwrap());
        assert_eq!(
            first.started.len() + second.started.len(),
            1,
            "{first:?} {second:?}"
        );
        let run = first
            .started
            .pop()
            .or_else(|| second.started.into_iter().next())
            .unwrap();
        assert_eq!(
            next_run(&app, tenant, id).await,
            Some(due + Span::seconds(60))
        );

        // The next tick comes while that run still goes: skipped, and the skip is recorded.
        let executions = app.components.executions.clone();
        let mut running = false;
        for _ in 0..250 {
            running = executions.is_running(tenant, id).await.unwrap();
            if running {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(running, "the run never started");
        clock.set(due + Span::seconds(60) + Span::milliseconds(300));
        let overlap = b.pass().await.unwrap();
        assert_eq!((overlap.started.len(), overlap.skipped_overlap), (0, 1));
        run.await.unwrap();

        // Every node was down for ten minutes: the missed ticks run once, then the schedule
        // goes on from now.
        clock.set(due + Span::seconds(600) + Span::milliseconds(300));
        let mut missed = a.pass().await.unwrap();
        assert_eq!(missed.started.len(), 1, "{missed:?}");
        missed.started.pop().unwrap().await.unwrap();
        assert_eq!(
            next_run(&app, tenant, id).await,
            Some(due + Span::seconds(660))
        );
        let again = b.pass().await.unwrap();
        assert!(again.started.is_empty(), "a missed tick ran twice");

        let ticks = SeaScheduleRepository::new(app.components.database.clone())
            .ticks(tenant, id, 10)
            .await
            .unwrap();
        let statuses: Vec<_> = ticks.iter().map(|t| (t.scheduled_for, t.status)).collect();
        assert_eq!(
            statuses,
            vec![
                (due + Span::seconds(120), TickStatus::Started),
                (due + Span::seconds(60), TickStatus::SkippedOverlap),
                (due, TickStatus::Started),
            ]
        );
        assert!(
            ticks
                .iter()
                .filter(|t| t.status == TickStatus::Started)
                .all(|t| t.execution_id.is_some())
        );
        let (_, history) = parts(
            app.get(&format!("/api/v1/scripts/{id}/executions"), &app.admin)
                .await,
        )
        .await;
        let items = history["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{history}");
        for item in items {
            assert_eq!(
                (&item["status"], &item["trigger"]["type"]),
                (&json!("completed"), &json!("cron")),
                "{item}"
            );
        }
        assert_eq!(
            items[1]["trigger"]["cronTime"],
            json!(due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        );

        // Paused: no next run, nothing fires.
        let (_, mut script) =
            parts(app.get(&format!("/api/v1/scripts/{id}"), &app.admin).await).await;
        script["status"] = json!("paused");
        for field in [
            "id",
            "version",
            "createdAt",
            "createdBy",
            "updatedAt",
            "updatedBy",
            "lastRunAt",
            "nextRunAt",
        ] {
            script.as_object_mut().unwrap().remove(field);
        }
        let (status, paused) = parts(
            app.put(&format!("/api/v1/scripts/{id}"), &app.admin, &script)
                .await,
        )
        .await;
        assert_eq!(status, 200, "{paused}");
        assert_eq!(next_run(&app, tenant, id).await, None);
        clock.set(due + Span::seconds(3600));
        assert!(a.pass().await.unwrap().started.is_empty());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn ticks_missed_while_no_node_ran_are_dropped_under_the_skip_policy() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let tenant = app
            .components
            .accounts
            .authenticate_token(&app.admin)
            .await
            .unwrap()
            .tenant_id;
        let body = json!({ "name": "Skips missed", "type": "scheduled", "status": "active",
            "cronExpression": "* * * * *", "timezone": "UTC", "missedRuns": "skip",
            "alerts": { "emails": ["ops@example.com"] },
            "source": "export default async () => 'ran'" });
        let (status, created) = parts(app.post("/api/v1/scripts", &app.admin, &body).await).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["missedRuns"], json!("skip"));
        let id: ScriptId = created["id"].as_str().unwrap().parse().unwrap();
        let due = next_run(&app, tenant, id).await.unwrap();
        let clock = Arc::new(ManualClock(Mutex::new(due + Span::seconds(600))));
        let recorder = Arc::new(Recorder::default());
        let alerts = Alerts::new(
            Arc::new(SeaAlertStateRepository::new(
                app.components.database.clone(),
            )),
            recorder.clone(),
            clock.clone(),
        );
        let node = scheduler(&app, &clock, "node-a").with_alerts(Arc::new(alerts));

        // Every node was down for ten minutes: nothing runs, the skip is recorded, the
        // schedule goes on from now, and the missed run raises an alert.
        let report = node.pass().await.unwrap();
        assert!(report.started.is_empty(), "{report:?}");
        for _ in 0..200 {
            if !recorder.0.lock().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let raised = recorder.0.lock().unwrap().clone();
        assert_eq!(raised.len(), 1, "{raised:?}");
        assert_eq!(
            raised[0].cause,
            AlertCause::MissedRun { scheduled_for: due }
        );
        assert_eq!(
            next_run(&app, tenant, id).await,
            Some(due + Span::seconds(660))
        );
        clock.set(due + Span::seconds(660) + Span::milliseconds(200));
        let mut on_time = node.pass().await.unwrap();
        assert_eq!(on_time.started.len(), 1, "{on_time:?}");
        on_time.started.pop().unwrap().await.unwrap();
        let ticks = SeaScheduleRepository::new(app.components.database.clone())
            .ticks(tenant, id, 10)
            .await
            .unwrap();
        let statuses: Vec<_> = ticks.iter().map(|t| (t.scheduled_for, t.status)).collect();
        assert_eq!(
            statuses,
            vec![
                (due + Span::seconds(660), TickStatus::Started),
                (due, TickStatus::SkippedMissed),
            ]
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_tick_claimed_by_a_node_that_died_is_taken_over() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let tenant = app
            .components
            .accounts
            .authenticate_token(&app.admin)
            .await
            .unwrap()
            .tenant_id;
        let id = every_minute(&app, "Taken over", 0).await;
        let due = next_run(&app, tenant, id).await.unwrap();
        // A node claims the tick and dies before it starts the run.
        let repository = SeaScheduleRepository::new(app.components.database.clone());
        let claim = TickClaim {
            tenant_id: tenant,
            script_id: id,
            scheduled_for: due,
            next_run_at: Some(due + Span::seconds(60)),
            node: "node-dead".into(),
            claimed_at: due,
            status: TickStatus::Claimed,
        };
        assert!(repository.claim(&claim).await.unwrap());
        assert!(
            !repository.claim(&claim).await.unwrap(),
            "a tick was claimed twice"
        );

        let clock = Arc::new(ManualClock(Mutex::new(due + Span::seconds(5))));
        let live = scheduler(&app, &clock, "node-live");
        let soon = live.pass().await.unwrap();
        assert_eq!(
            (soon.taken_over, soon.started.len()),
            (0, 0),
            "a live claim was taken over"
        );
        clock.set(due + Span::seconds(45));
        let mut later = live.pass().await.unwrap();
        assert_eq!(later.taken_over, 1, "{later:?}");
        // The claim moved the schedule on to a minute not due yet: only the taken-over tick runs.
        assert_eq!(later.started.len(), 1, "{later:?}");
        later.started.pop().unwrap().await.unwrap();
        let ticks = repository.ticks(tenant, id, 10).await.unwrap();
        assert_eq!(ticks.len(), 1);
        assert_eq!(
            (ticks[0].status, ticks[0].node.as_str()),
            (TickStatus::Started, "node-live")
        );
        assert!(ticks[0].execution_id.is_some());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn with_the_job_queue_a_tick_runs_as_a_durable_job_linked_to_its_tick() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let tenant = app
            .components
            .accounts
            .authenticate_token(&app.admin)
            .await
            .unwrap()
            .tenant_id;
        let id = every_minute(&app, "Queued tick", 0).await;
        let due = next_run(&app, tenant, id).await.unwrap();
        let clock = Arc::new(ManualClock(Mutex::new(due + Span::milliseconds(200))));
        let queue: Arc<dyn domain::jobs::JobQueue> = Arc::new(app.components.queue.clone());
        let node = scheduler(&app, &clock, "node-a").with_queue(queue);
        let report = node.pass().await.unwrap();
        assert_eq!(report.started.len(), 1, "{report:?}");
        let ticks = SeaScheduleRepository::new(app.components.database.clone())
            .ticks(tenant, id, 10)
            .await
            .unwrap();
        assert_eq!(ticks.len(), 1);
        assert_eq!(ticks[0].status, TickStatus::Started);
        let execution = ticks[0].execution_id.expect("the tick names its execution");
        let mut status = Value::Null;
        for _ in 0..600 {
            let (_, record) = parts(
                app.get(&format!("/api/v1/executions/{execution}"), &app.admin)
                    .await,
            )
            .await;
            status = record["status"].clone();
            if status == "completed" {
                assert_eq!(record["trigger"]["type"], "cron", "{record}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(status, "completed");
        app.stop().await;
    })
    .await;
}

/// Waits until the execution is completed; its record.
async fn completed(app: &TestApp, execution: domain::ExecutionId) -> Value {
    for _ in 0..600 {
        let (_, record) = parts(
            app.get(&format!("/api/v1/executions/{execution}"), &app.admin)
                .await,
        )
        .await;
        if record["status"] == "completed" {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("execution {execution} did not complete");
}

#[tokio::test]
async fn with_the_job_queue_two_nodes_fire_a_batch_once_and_a_stored_run_is_queued_on_take_over() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let tenant = app
            .components
            .accounts
            .authenticate_token(&app.admin)
            .await
            .unwrap()
            .tenant_id;
        let mut ids = Vec::new();
        for index in 0..6 {
            ids.push(every_minute(&app, &format!("Batch {index}"), 0).await);
        }
        let mut due = next_run(&app, tenant, ids[0]).await.unwrap();
        for id in &ids {
            due = due.max(next_run(&app, tenant, *id).await.unwrap());
        }
        // The last script has a run waiting to start: its tick overlaps it.
        let busy = ids[5];
        let scripts = SeaScriptRepository::new(app.components.database.clone());
        let script = scripts.get(tenant, busy).await.unwrap().unwrap();
        let waiting = app.components.executions.pending_run(
            &script,
            services::RunRequest {
                trigger: domain::execution::Trigger {
                    kind: domain::execution::TriggerKind::Manual,
                    details: Default::default(),
                },
                input: json!({}),
                argument: None,
                attempt: 1,
                event_depth: 0,
            },
        );
        use domain::repository::ExecutionRepository;
        persistence::SeaExecutionRepository::new(app.components.database.clone())
            .insert(&waiting)
            .await
            .unwrap();

        let clock = Arc::new(ManualClock(Mutex::new(due + Span::milliseconds(300))));
        let queue: Arc<dyn domain::jobs::JobQueue> = Arc::new(app.components.queue.clone());
        let a = scheduler(&app, &clock, "node-a").with_queue(queue.clone());
        let b = scheduler(&app, &clock, "node-b").with_queue(queue.clone());
        let (a, b) = tokio::join!(a.pass(), b.pass());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.started.len() + b.started.len(), 5, "{a:?} {b:?}");
        assert_eq!(a.skipped_overlap + b.skipped_overlap, 1, "{a:?} {b:?}");
        let repository = SeaScheduleRepository::new(app.components.database.clone());
        for id in &ids {
            let ticks = repository.ticks(tenant, *id, 10).await.unwrap();
            assert_eq!(ticks.len(), 1, "script {id}: {ticks:?}");
            if *id == busy {
                assert_eq!(ticks[0].status, TickStatus::SkippedOverlap);
                assert!(ticks[0].execution_id.is_none());
                continue;
            }
            assert_eq!(ticks[0].status, TickStatus::Started, "{ticks:?}");
            let execution = ticks[0].execution_id.expect("the tick names its run");
            let record = completed(&app, execution).await;
            assert_eq!(record["trigger"]["type"], "cron", "{record}");
            let (_, history) = parts(
                app.get(&format!("/api/v1/scripts/{id}/executions"), &app.admin)
                    .await,
            )
            .await;
            assert_eq!(history["total"], 1, "one run per tick: {history}");
        }

        // A node stores a claim with its run and dies before queueing it: whoever takes the
        // claim over queues that very run.
        let first = ids[0];
        let next = next_run(&app, tenant, first).await.unwrap();
        let script = scripts.get(tenant, first).await.unwrap().unwrap();
        let run = app.components.executions.pending_run(
            &script,
            services::RunRequest {
                trigger: domain::execution::Trigger {
                    kind: domain::execution::TriggerKind::Cron,
                    details: domain::execution::TriggerDetails {
                        cron_time: Some(next),
                        ..Default::default()
                    },
                },
                input: json!({}),
                argument: None,
                attempt: 1,
                event_depth: 0,
            },
        );
        let claim = TickClaim {
            tenant_id: tenant,
            script_id: first,
            scheduled_for: next,
            next_run_at: Some(next + Span::seconds(60)),
            node: "node-dead".into(),
            claimed_at: next,
            status: TickStatus::Claimed,
        };
        let won = repository
            .claim_many(&[(claim.clone(), Some(run.clone()))])
            .await
            .unwrap();
        assert_eq!(won, vec![true]);
        let again = repository.claim_many(&[(claim, None)]).await.unwrap();
        assert_eq!(again, vec![false], "a tick was claimed twice");
        clock.set(next + Span::seconds(45));
        let live = scheduler(&app, &clock, "node-live").with_queue(queue);
        let report = live.pass().await.unwrap();
        assert_eq!(report.taken_over, 1, "{report:?}");
        completed(&app, run.id).await;
        let ticks = repository.ticks(tenant, first, 1).await.unwrap();
        assert_eq!(
            (ticks[0].status, ticks[0].execution_id),
            (TickStatus::Started, Some(run.id))
        );
        app.stop().await;
    })
    .await;
}
