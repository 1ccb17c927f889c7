//! Building the object graph from settings, and running the HTTP server on it.

use crate::drain::Draining;
use crate::health::{NodeHealth, Probed};
use crate::settings::{Settings, SettingsError};
use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware};
use domain::jobs::JobHandler;
use domain::live::LiveLogBus;
use persistence::{
    ApalisQueue, Database, DatabaseError, PgLiveBus, SeaDeadLetterRepository,
    SeaEndpointRepository, SeaEventOutbox, SeaExecutionRepository, SeaNodeRepository,
    SeaRetentionRepository, SeaScheduleRepository, SeaScriptDatabase, SeaScriptRepository,
    SeaTenantRepository, SeaTokenRepository, SeaUserRepository,
};
use runtime::Engine;
use services::events::{DeliveryHandler, Dispatcher, EventParts, EventService};
use services::lease::NodeLease;
use services::retention::Retention;
use services::sdk::cache::{CacheLimits, CacheStore, MemoryCache, RedisCache};
use services::sdk::db::ScriptDb;
use services::sdk::events::EventPublisher;
use services::sdk::http::HttpGateway;
use services::sdk::script_cache::ScriptCache;
use services::sdk::{ScriptHost, ServiceRegistry};
use services::{
    AccountService, Clock, Drain, EndpointService, ExecutionService, LiveLogs, Scheduler,
    ScriptService, SystemClock,
};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use web::AppState;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Database(#[from] DatabaseError),
    #[error("the script cache is unavailable: {0}")]
    Cache(String),
    #[error("recovering unfinished executions failed: {0}")]
    Recover(String),
    #[error("loading the HTTP routes failed: {0}")]
    Routes(String),
    #[error("alerts: {0}")]
    Alerts(String),
    #[error("the script sandbox cannot start: {0}")]
    Sandbox(String),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
}

/// The services over one database: what the server and the CLI commands use.
#[derive(Clone)]
pub struct Components {
    pub database: Database,
    pub scripts: Arc<ScriptService>,
    pub executions: Arc<ExecutionService>,
    pub accounts: Arc<AccountService>,
    /// Script HTTP endpoints, with the in-memory route table loaded.
    pub endpoints: Arc<EndpointService>,
    pub engine: Engine,
    /// This node's cron scheduler; `Application` runs its passes when `[scheduler] enabled`.
    pub scheduler: Arc<Scheduler>,
    pub events: Arc<EventService>,
    /// Queues published events' deliveries; run with the workers when `[jobs] enabled`.
    pub dispatcher: Arc<Dispatcher>,
    pub deliveries: Arc<DeliveryHandler>,
    pub queue: ApalisQueue,
    /// This node's name in the ticks and jobs it takes.
    pub node: String,
    /// This node's lease; `Application` renews it while it serves.
    pub lease: Arc<NodeLease>,
    /// Runs' log lines as they are logged; `Application` runs its task while it serves.
    pub live: Arc<LiveLogs>,
    /// Started to stop the node: it then takes no new work (see `Application`).
    pub drain: Drain,
    /// Prunes the run history past `[retention]`; `Application` runs it while it serves.
    pub retention: Arc<Retention>,
    /// What the health probes read; `Application` runs the loops that keep it.
    pub health: NodeHealth,
}

impl Components {
    /// Connects to the configured database, migrates it and builds the services.
    pub async fn build(settings: &Settings) -> Result<Self, StartError> {
        Self::build_with(settings, ServiceRegistry::new()).await
    }

    /// As `build`, with the host application's own services for scripts to call.
    pub async fn build_with(
        settings: &Settings,
        registry: ServiceRegistry,
    ) -> Result<Self, StartError> {
        let rules = settings.script_rules()?;
        let database = Database::connect(&settings.database.url).await?;
        database.migrate().await?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let db_settings = settings.db_settings()?;
        let script_data =
            SeaScriptDatabase::connect(database.clone(), settings.script_data_config()?).await?;
        script_data.prepare().await;
        let limits = CacheLimits::default();
        let store: Arc<dyn CacheStore> = if settings.cache.redis_url.is_empty() {
            Arc::new(MemoryCache::new(limits.clone()))
        } else {
            let redis = RedisCache::connect(&settings.cache.redis_url, limits.clone()).await;
            Arc::new(redis.map_err(|e| StartError::Cache(e.to_string()))?)
        };
        let host = ScriptHost {
            http: HttpGateway::new(settings.http_settings()?),
            db: ScriptDb::new(Arc::new(script_data), db_settings),
            cache: ScriptCache::new(store, limits),
            events: EventPublisher::new(
                Arc::new(SeaEventOutbox::new(database.clone())),
                clock.clone(),
            ),
            services: registry,
        };
        let engine = Engine::new(
            settings.engine_config(),
            Arc::new(host),
            tokio::runtime::Handle::current(),
        );
        let (_, attempts) = engine
            .self_check()
            .await
            .map_err(|e| StartError::Sandbox(e.message))?;
        for attempt in attempts.iter().filter(|a| a.result.is_ok()) {
            tracing::warn!(action = %attempt.action, "the script sandbox does not refuse this");
        }
        let script_repository = Arc::new(SeaScriptRepository::new(database.clone()));
        let node = node_name();
        let bus = PgLiveBus::new(&database).map(|bus| Arc::new(bus) as Arc<dyn LiveLogBus>);
        let live = Arc::new(LiveLogs::new(bus, clock.clone()));
        let executions = Arc::new(
            ExecutionService::new(
                script_repository.clone(),
                Arc::new(SeaExecutionRepository::new(database.clone()).with_node(node.clone())),
                engine.clone(),
                clock.clone(),
            )
            .with_live_logs(live.clone()),
        );
        let lease = Arc::new(NodeLease::new(
            node.clone(),
            Arc::new(SeaNodeRepository::new(database.clone())),
            executions.clone(),
            clock.clone(),
            settings.node_heartbeat()?,
        ));
        // Runs of nodes that stopped (a previous process of this one among them) are failed;
        // those of live nodes sharing the database are left alone.
        lease
            .beat()
            .await
            .map_err(|e| StartError::Recover(e.to_string()))?;
        let jobs = settings.jobs_config()?;
        let queue = ApalisQueue::open(&database, jobs.queue).await?;
        let alerts = crate::alerting::alerts(settings, &database, clock.clone())?;
        let (events, dispatcher, deliveries) = EventParts {
            outbox: Arc::new(SeaEventOutbox::new(database.clone())),
            dead_letters: Arc::new(SeaDeadLetterRepository::new(database.clone())),
            queue: Arc::new(queue.clone()),
            scripts: script_repository.clone(),
            executions: executions.clone(),
            clock: clock.clone(),
            retry: jobs.retry,
            dispatch_interval: jobs.dispatch_interval,
            alerts: Some(alerts.clone()),
            publish_rate: Some(jobs.publish_rate),
        }
        .build();
        let scheduler = Arc::new(
            Scheduler::new(
                Arc::new(SeaScheduleRepository::new(database.clone())),
                script_repository.clone(),
                executions.clone(),
                clock.clone(),
                settings.scheduler_config(node.clone())?,
            )
            .with_alerts(alerts)
            .with_queue(Arc::new(queue.clone())),
        );
        let scripts = Arc::new(ScriptService::new(
            script_repository,
            rules,
            clock.clone(),
            executions.clone(),
        ));
        let endpoints = Arc::new(EndpointService::new(
            Arc::new(SeaEndpointRepository::new(database.clone())),
            Arc::new(SeaTenantRepository::new(database.clone())),
            executions.clone(),
            scripts.changes(),
            clock.clone(),
            settings.endpoint_config()?,
        ));
        endpoints
            .load()
            .await
            .map_err(|e| StartError::Routes(e.to_string()))?;
        let retention = Arc::new(Retention::new(
            Arc::new(SeaRetentionRepository::new(database.clone())),
            Arc::new(SeaTenantRepository::new(database.clone())),
            clock.clone(),
            settings.retention_config()?,
        ));
        let accounts = Arc::new(AccountService::new(
            Arc::new(SeaTenantRepository::new(database.clone())),
            Arc::new(SeaUserRepository::new(database.clone())),
            Arc::new(SeaTokenRepository::new(database.clone())),
            clock,
        ));
        Ok(Self {
            database,
            scripts,
            executions,
            accounts,
            endpoints,
            engine,
            scheduler,
            events: Arc::new(events),
            dispatcher: Arc::new(dispatcher),
            deliveries: Arc::new(deliveries),
            queue,
            node,
            lease,
            live,
            drain: Drain::new(),
            retention,
            health: NodeHealth::default(),
        })
    }
}

/// A name for this node in the ticks it claims: its process id and a random suffix, unique
/// among nodes sharing a database.
fn node_name() -> String {
    let suffix = domain::ids::fresh_uuid().simple().to_string();
    format!("node-{}-{}", std::process::id(), &suffix[..8])
}

/// A bound, not yet running HTTP server.
pub struct Application {
    port: u16,
    server: Server,
    scheduler_enabled: bool,
    jobs_enabled: bool,
    shutdown_grace: Duration,
    interrupt_grace: Duration,
    pub components: Components,
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and prepares the server.
    pub async fn build(settings: &Settings, components: Components) -> Result<Self, StartError> {
        let address = settings.bind_address()?;
        let listener = TcpListener::bind(address).map_err(|source| StartError::Bind {
            address: address.to_string(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                address: address.to_string(),
                source,
            })?
            .port();
        let state = AppState {
            scripts: components.scripts.clone(),
            executions: components.executions.clone(),
            accounts: components.accounts.clone(),
            events: components.events.clone(),
            queue: Arc::new(components.queue.clone()),
            endpoints: components.endpoints.clone(),
            health: components.health.checks(Probed {
                engine: &components.engine,
                scheduler: settings
                    .scheduler
                    .enabled
                    .then(|| components.scheduler.health()),
                jobs: settings.jobs.enabled,
            }),
            drain: components.drain.clone(),
            max_body_bytes: settings
                .scripts
                .max_source_bytes
                .saturating_mul(4)
                .saturating_add(64 * 1024),
            metrics: crate::metrics::export(settings),
        };
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(middleware::NormalizePath::trim())
                .wrap(middleware::Logger::new("%r %s %Dms").log_target("iota_scripts::http"))
                .configure(web::configure(state.clone()))
        })
        .listen(listener)
        .map_err(|source| StartError::Bind {
            address: address.to_string(),
            source,
        })?
        // Signals start the drain (`drain::on_signal`), which stops the server once the runs
        // are over; what requests are left then (streams, reads) get a short while.
        .disable_signals()
        .shutdown_timeout(5);
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        Ok(Self {
            port,
            server: server.run(),
            scheduler_enabled: settings.scheduler.enabled,
            jobs_enabled: settings.jobs.enabled,
            shutdown_grace: Duration::from_millis(settings.server.shutdown_grace_ms),
            interrupt_grace: Duration::from_millis(settings.sandbox.grace_ms)
                .saturating_add(Duration::from_secs(5)),
            components,
        })
    }

    /// A handle that stops the server (gracefully or not) from elsewhere.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves (and fires cron schedules, takes jobs, when enabled) until the node drains —
    /// its `Components::drain` started (`drain::on_signal` starts it on SIGTERM or Ctrl-C) —
    /// or its server is stopped through `handle`. Then it takes no new work, waits up to
    /// `[server] shutdown_grace_ms` for the runs going on, interrupts the others (durable
    /// ones are queued again), stops the server and leaves its lease.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let components = &self.components;
        let drain = components.drain.clone();
        let background = [
            components.lease.clone().spawn(),
            components.live.clone().spawn(),
            components
                .health
                .probe_database(components.database.clone()),
            crate::metrics::sample_backlog(
                components.database.clone(),
                Duration::from_secs(15),
                components.health.job_queue.clone(),
            ),
        ];
        let mut takers = vec![components.retention.clone().spawn(drain.clone())];
        if self.scheduler_enabled {
            takers.push(components.scheduler.clone().spawn(drain.clone()));
        }
        if self.jobs_enabled {
            takers.push(components.dispatcher.clone().spawn(drain.clone()));
            let handler: Arc<dyn JobHandler> = components.deliveries.clone();
            let stop = {
                let drain = drain.clone();
                async move { drain.started().await }
            };
            let workers = components.queue.run(&components.node, handler, stop);
            takers.push(components.health.watch_job_workers(workers));
        }
        let handle = self.server.handle();
        let mut server = tokio::spawn(self.server);
        let served = tokio::select! {
            served = &mut server => Some(served),
            () = drain.started() => None,
        };
        drain.start();
        Draining {
            takers,
            executions: components.executions.clone(),
            grace: self.shutdown_grace,
            interrupt_grace: self.interrupt_grace,
        }
        .run()
        .await;
        let served = match served {
            Some(served) => served,
            None => {
                handle.stop(true).await;
                server.await
            }
        };
        for task in background {
            task.abort();
        }
        components.lease.leave().await;
        tracing::info!(node = %components.node, "stopped: the node left");
        served.unwrap_or_else(|joined| Err(std::io::Error::other(joined)))
    }
}
