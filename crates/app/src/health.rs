//! The health of a node as `/health/live` and `/health/ready` report it: the components
//! (database, scheduler, executor, job queue) keep their state as they work — a probe loop
//! pings the database every two seconds, the scheduler and the job queue beat on each round,
//! the supervisor notes its janitor's rounds and failed worker starts — and the probes only
//! read it.

use persistence::Database;
use runtime::Engine;
use serde_json::{Map, json};
use services::health::{
    ComponentState, HealthComponent, Heartbeat, LoopComponent, loop_state, millis,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::{AbortHandle, JoinHandle};
use web::HealthChecks;

/// How often the database is pinged, and how long one ping may take.
const DATABASE_PROBE_EVERY: Duration = Duration::from_secs(2);
const DATABASE_PING_TIMEOUT: Duration = Duration::from_secs(2);
/// The database is unready when its last ping failed, or none succeeded for this long.
const DATABASE_WITHIN: Duration = Duration::from_secs(10);
/// The job queue's storage is unready when no backlog sample succeeded for this long.
const QUEUE_WITHIN: Duration = Duration::from_secs(60);
/// Liveness: a supervisor whose janitor has not gone round for this long is wedged, and so is
/// a node whose background tasks (the database probe) have not run for this long.
const WEDGED_AFTER: Duration = Duration::from_secs(30);

/// The beats a node's probes read, made with the node.
#[derive(Clone, Default)]
pub struct NodeHealth {
    /// Each round of the database probe.
    pub database: Heartbeat,
    /// Each sample of the job queue's depth, and the end of its workers.
    pub job_queue: Heartbeat,
}

/// What the probes of a node look at.
pub(crate) struct Probed<'a> {
    pub engine: &'a Engine,
    pub scheduler: Option<LoopComponent>,
    pub jobs: bool,
}

impl NodeHealth {
    /// The components behind `/health/ready` and `/health/live`.
    pub(crate) fn checks(&self, probed: Probed<'_>) -> HealthChecks {
        let executor = Arc::new(ExecutorComponent(probed.engine.clone()));
        let mut ready: Vec<Arc<dyn HealthComponent>> = vec![
            Arc::new(DatabaseComponent(self.database.clone())),
            executor.clone(),
        ];
        if let Some(scheduler) = probed.scheduler {
            ready.push(Arc::new(scheduler));
        }
        if probed.jobs {
            ready.push(Arc::new(LoopComponent {
                name: "jobQueue",
                what: "the job queue",
                beat: self.job_queue.clone(),
                within: QUEUE_WITHIN,
            }));
        }
        let live: Vec<Arc<dyn HealthComponent>> = vec![
            Arc::new(Wedged(executor)),
            Arc::new(BackgroundTasks(self.database.clone())),
        ];
        HealthChecks { ready, live }
    }

    /// Pings the database every two seconds, until aborted.
    pub(crate) fn probe_database(&self, database: Database) -> JoinHandle<()> {
        let beat = self.database.clone();
        tokio::spawn(async move {
            // The probes are public: the database's own message (which may name the database,
            // its user or its host) goes to the log, once as the pings start failing, and the
            // probes say only what failed.
            let mut answering = true;
            loop {
                match tokio::time::timeout(DATABASE_PING_TIMEOUT, database.ping()).await {
                    Ok(Ok(())) => {
                        if !answering {
                            tracing::info!("the database answers its ping again");
                        }
                        answering = true;
                        beat.succeeded();
                    }
                    Ok(Err(error)) => {
                        if answering {
                            tracing::warn!(%error, "the database's ping failed");
                        }
                        answering = false;
                        beat.failed("the ping failed (the node's log has the database's message)");
                    }
                    Err(_) => {
                        if answering {
                            tracing::warn!("the database did not answer a ping in time");
                        }
                        answering = false;
                        beat.failed(format!(
                            "no answer to a ping within {} s",
                            DATABASE_PING_TIMEOUT.as_secs()
                        ));
                    }
                }
                tokio::time::sleep(DATABASE_PROBE_EVERY).await;
            }
        })
    }

    /// Watches the job queue's workers: the queue is unready once they end (before the node
    /// drains). Aborting the watcher aborts the workers, as aborting them would.
    pub(crate) fn watch_job_workers(&self, workers: JoinHandle<()>) -> JoinHandle<()> {
        let beat = self.job_queue.clone();
        tokio::spawn(async move {
            let _abort = AbortOnDrop(workers.abort_handle());
            let reason = match workers.await {
                Ok(()) => "the job workers ended".to_owned(),
                Err(error) => format!("the job workers failed: {error}"),
            };
            beat.stopped(reason);
        })
    }
}

struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Ready while the last ping answered and one did within ten seconds.
struct DatabaseComponent(Heartbeat);

impl HealthComponent for DatabaseComponent {
    fn name(&self) -> &'static str {
        "database"
    }

    fn state(&self) -> ComponentState {
        let beat = self.0.read();
        let state = loop_state(&beat, DATABASE_WITHIN, "the database");
        match &beat.error {
            Some(error) if state.healthy => {
                ComponentState::failing(format!("the database: {error}"), state.detail)
            }
            _ => state,
        }
    }
}

/// Ready while sandbox workers can be started; reports the runs against the capacity.
struct ExecutorComponent(Engine);

impl HealthComponent for ExecutorComponent {
    fn name(&self) -> &'static str {
        "executor"
    }

    fn state(&self) -> ComponentState {
        let health = self.0.health();
        let mut detail = Map::new();
        detail.insert("active".into(), json!(health.running));
        detail.insert("capacity".into(), json!(health.capacity));
        detail.insert("workers".into(), json!(health.workers));
        detail.insert("lastTendedMsAgo".into(), millis(health.since_tended));
        match health.spawn_error {
            Some(error) => ComponentState::failing(
                format!("sandbox workers cannot be started: {error}"),
                detail,
            ),
            None if health.capacity == 0 => {
                ComponentState::failing("the executor has no capacity", detail)
            }
            None => ComponentState::ok(detail),
        }
    }
}

/// Liveness of the executor: its supervisor still tends its pool.
struct Wedged(Arc<ExecutorComponent>);

impl HealthComponent for Wedged {
    fn name(&self) -> &'static str {
        "executor"
    }

    fn state(&self) -> ComponentState {
        let health = self.0.0.health();
        let mut detail = Map::new();
        detail.insert("lastTendedMsAgo".into(), millis(health.since_tended));
        if health.since_tended > WEDGED_AFTER {
            return ComponentState::failing(
                format!(
                    "the sandbox supervisor is wedged: it last tended its workers {} s ago",
                    health.since_tended.as_secs()
                ),
                detail,
            );
        }
        ComponentState::ok(detail)
    }
}

/// Liveness of the node's background tasks: the database probe still goes round (whatever the
/// database answers).
struct BackgroundTasks(Heartbeat);

impl HealthComponent for BackgroundTasks {
    fn name(&self) -> &'static str {
        "background"
    }

    fn state(&self) -> ComponentState {
        let beat = self.0.read();
        let mut detail = Map::new();
        detail.insert("lastRoundMsAgo".into(), millis(beat.since_attempt));
        if beat.since_attempt > WEDGED_AFTER {
            return ComponentState::failing(
                format!(
                    "the node's background tasks are stuck: the last round was {} s ago",
                    beat.since_attempt.as_secs()
                ),
                detail,
            );
        }
        ComponentState::ok(detail)
    }
}
