//! The durable job queue on the product's own database, with apalis: `apalis-sqlite` on
//! SQLite, `apalis-postgres` on PostgreSQL (in their own tables, created at start-up). A job
//! pushed is stored before `push` returns; any node's workers take it; a job whose worker
//! stopped sending heartbeats (its node died) is taken again by another.

use crate::connection::{Backend, Database, DatabaseError};
use apalis::prelude::{
    BackendExt, BoxDynError, Data, TaskBuilder, TaskSink, WorkerBuilder, WorkerBuilderExt,
    WorkerContext,
};
use async_trait::async_trait;
use domain::jobs::{Job, JobHandler, JobQueue, QueueError};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often an idle worker looks for jobs (otherwise it would wait a whole heartbeat).
const POLL: Duration = Duration::from_millis(200);

/// Beats a worker may miss before its jobs go to other workers: long enough that a worker
/// whose every slot is busy with a long run (it beats only between jobs' polls) is not taken
/// for dead.
pub const MISSED_BEATS: usize = 10;

/// The queue's name in apalis' tables.
const QUEUE: &str = "iota-scripts";

/// How workers take jobs.
#[derive(Clone, Copy, Debug)]
pub struct QueueConfig {
    /// Jobs one node works on at once.
    pub concurrency: usize,
    /// How often a worker proves it is alive; after [`MISSED_BEATS`] missed beats its jobs go
    /// to others.
    pub heartbeat: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            concurrency: 16,
            heartbeat: Duration::from_secs(10),
        }
    }
}

#[derive(Clone)]
enum Storage {
    Sqlite(apalis_sqlite::SqliteStorage<Job>),
    Postgres(apalis_postgres::PostgresStorage<Job>),
}

#[derive(Clone)]
pub struct ApalisQueue {
    storage: Storage,
    config: QueueConfig,
}

fn queue_error(error: impl std::fmt::Display) -> QueueError {
    QueueError(error.to_string())
}

impl ApalisQueue {
    /// Creates apalis' tables if needed and opens the queue on `database`'s pool.
    pub async fn open(database: &Database, config: QueueConfig) -> Result<Self, DatabaseError> {
        let connection = database.connection();
        let storage = match database.backend() {
            Backend::Sqlite => {
                let pool = connection.get_sqlite_connection_pool();
                apalis_sqlite::SqliteStorage::<()>::migrations()
                    .run(pool)
                    .await
                    .map_err(|e| DatabaseError::Migrate(format!("job queue: {e}")))?;
                let settings = apalis_sqlite::Config::default()
                    .queue(QUEUE)
                    .heartbeat_interval(config.heartbeat)
                    .missed_heartbeats(MISSED_BEATS);
                Storage::Sqlite(apalis_sqlite::SqliteStorage::new(pool).with_config(settings))
            }
            Backend::Postgres => {
                let pool = connection.get_postgres_connection_pool();
                apalis_postgres::PostgresStorage::<()>::migrations()
                    .run(pool)
                    .await
                    .map_err(|e| DatabaseError::Migrate(format!("job queue: {e}")))?;
                let settings = apalis_postgres::Config::default()
                    .queue(QUEUE)
                    .heartbeat_interval(config.heartbeat)
                    .missed_heartbeats(MISSED_BEATS);
                Storage::Postgres(apalis_postgres::PostgresStorage::new(pool).with_config(settings))
            }
        };
        Ok(Self { storage, config })
    }

    /// Starts this node's workers; they take jobs until `stop` resolves, then take no more,
    /// give back the jobs they fetched but did not start, and end once the jobs they started
    /// are handled (or when the task is aborted). Workers that stop on a failure of the
    /// database (it went away) are started again after a pause, until `stop`.
    pub fn run(
        &self,
        node: &str,
        handler: Arc<dyn JobHandler>,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        let name = format!("{QUEUE}-{node}");
        let concurrency = self.config.concurrency.max(1);
        let storage = self.storage.clone();
        let (stopping, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            stop.await;
            let _ = stopping.send(true);
        });
        tokio::spawn(async move {
            let mut pause = FIRST_RESTART_PAUSE;
            for generation in 0_u64.. {
                // Workers started again take a new name: the jobs the stopped ones held go
                // back to the queue once their name's heartbeat is stale.
                let name = match generation {
                    0 => name.clone(),
                    n => format!("{name}-{n}"),
                };
                let ran = work(&name, concurrency, &storage, &handler, &stopped).await;
                let Err(error) = ran else {
                    return;
                };
                if *stopped.borrow() {
                    tracing::error!(%error, "the job workers stopped");
                    return;
                }
                tracing::warn!(%error, ?pause, "the job workers stopped; starting them again after a pause");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LONGEST_RESTART_PAUSE);
            }
        })
    }
}

/// The pause before workers that stopped on a failure start again, doubled each time.
const FIRST_RESTART_PAUSE: Duration = Duration::from_millis(500);
const LONGEST_RESTART_PAUSE: Duration = Duration::from_secs(10);

/// Runs the node's workers until `stopped` turns true or they fail.
async fn work(
    name: &str,
    concurrency: usize,
    storage: &Storage,
    handler: &Arc<dyn JobHandler>,
    stopped: &tokio::sync::watch::Receiver<bool>,
) -> Result<(), apalis::prelude::WorkerError> {
    let stopped = stopped.clone();
    let until = move |worker: WorkerContext| {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
            worker.stop()
        }
    };
    match storage.clone() {
        Storage::Sqlite(storage) => {
            WorkerBuilder::new(name)
                .backend(storage.poll_with_interval(POLL))
                .concurrency(concurrency)
                .data(Runner(handler.clone()))
                .build(handle)
                .run_with_ctx(until)
                .await
        }
        Storage::Postgres(storage) => {
            WorkerBuilder::new(name)
                .backend(storage.poll_with_interval(POLL))
                .concurrency(concurrency)
                .data(Runner(handler.clone()))
                .build(handle)
                .run_with_ctx(until)
                .await
        }
    }
}

/// The handler as the workers' shared data (a named type: apalis' extractors need one).
#[derive(Clone)]
struct Runner(Arc<dyn JobHandler + 'static>);

/// Handles a job in a task of its own: apalis drops the futures of a worker that stops (its
/// database went away), and a run cut off at any await would be left `running` in storage.
/// Detached, the handling goes to its end; if its worker is gone by then, the job is taken
/// again once the worker's heartbeat is stale, and finds its work done.
async fn handle(job: Job, runner: Data<Runner>) -> Result<(), BoxDynError> {
    let Runner(handler) = &*runner;
    let handler = handler.clone();
    match tokio::spawn(async move { handler.handle(job).await }).await {
        Ok(handled) => handled.map_err(|e| Box::new(e) as BoxDynError),
        Err(failed) => Err(Box::new(failed) as BoxDynError),
    }
}

#[async_trait]
impl JobQueue for ApalisQueue {
    async fn push(&self, job: Job, delay: Duration) -> Result<(), QueueError> {
        let task = TaskBuilder::new(job).run_after(delay).build();
        match self.storage.clone() {
            Storage::Sqlite(mut storage) => storage.push_task(task).await.map_err(queue_error),
            Storage::Postgres(mut storage) => storage.push_task(task).await.map_err(queue_error),
        }
    }

    async fn push_many(&self, jobs: Vec<Job>) -> Result<(), QueueError> {
        if jobs.is_empty() {
            return Ok(());
        }
        // One transaction for the lot.
        match self.storage.clone() {
            Storage::Sqlite(mut storage) => storage.push_bulk(jobs).await.map_err(queue_error),
            Storage::Postgres(mut storage) => storage.push_bulk(jobs).await.map_err(queue_error),
        }
    }

    async fn push_once(&self, job: Job, key: String) -> Result<(), QueueError> {
        let task = TaskBuilder::new(job).idempotency_key(key).build();
        let pushed = match self.storage.clone() {
            Storage::Sqlite(mut storage) => storage.push_task(task).await.map_err(queue_error),
            Storage::Postgres(mut storage) => storage.push_task(task).await.map_err(queue_error),
        };
        match pushed {
            // apalis' unique index on the key refused it: the job is queued already.
            Err(QueueError(message)) if message.contains("idempotency_key") => Ok(()),
            other => other,
        }
    }
}
