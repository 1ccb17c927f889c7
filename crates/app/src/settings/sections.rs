//! The sections of the settings tree, one struct each, with the defaults a setting takes when
//! neither the file nor the environment gives it.

use serde::{Deserialize, Serialize};

/// `sdk.db`: which tables scripts may use, and the limits of their statements.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SdkDbSettings {
    /// Comma-separated names of the tables scripts may use, such as `orders,customers`; each
    /// must have the tenant column.
    pub tables: String,
    /// The column of those tables that holds the tenant's id.
    pub tenant_column: String,
    /// The most rows one statement may return (more fails with `ROW_LIMIT`).
    pub max_rows: usize,
    /// How long one statement may run, in milliseconds (longer fails with `QUERY_TIMEOUT`).
    pub statement_timeout_ms: u64,
    /// Bytes of one value of a result (a blob counts as its hex text).
    pub max_value_bytes: usize,
    /// Bytes of one row of a result; on SQLite also the longest value or row a statement
    /// may build.
    pub max_row_bytes: usize,
    /// Bytes of a whole result.
    pub max_result_bytes: usize,
    /// Connections of the pool scripts use, apart from the product's own.
    pub pool_size: u32,
    /// Connections one tenant's scripts may hold at once on one node.
    pub per_tenant_connections: usize,
    /// How long a statement waits for a connection before `DATABASE_BUSY`, in milliseconds.
    pub acquire_timeout_ms: u64,
    /// How long a script may keep a transaction open before it is rolled back, in milliseconds.
    pub max_transaction_ms: u64,
    /// SQLite: how long a script may hold the database's single write lock, in milliseconds
    /// (the product's own writes wait behind it).
    pub sqlite_write_lock_ms: u64,
}

impl Default for SdkDbSettings {
    fn default() -> Self {
        let sizes = domain::script_data::ResultSizes::default();
        let pool = persistence::ScriptDataConfig::default();
        Self {
            tables: String::new(),
            tenant_column: "tenant_id".into(),
            max_rows: 1000,
            statement_timeout_ms: 5000,
            max_value_bytes: sizes.max_value_bytes,
            max_row_bytes: sizes.max_row_bytes,
            max_result_bytes: sizes.max_result_bytes,
            pool_size: pool.pool_size,
            per_tenant_connections: pool.per_tenant_connections,
            acquire_timeout_ms: millis(pool.acquire_timeout),
            max_transaction_ms: millis(pool.max_transaction),
            sqlite_write_lock_ms: millis(pool.sqlite_write_lock),
        }
    }
}

/// The durable job queue (event deliveries and their retries) and this node's workers.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsSettings {
    /// Whether this node dispatches events and works on jobs (any number of nodes may).
    pub enabled: bool,
    /// Jobs this node works on at once.
    pub concurrency: usize,
    /// How often a node's workers prove they are alive, in milliseconds; the jobs of a node
    /// silent for ten beats go to other nodes.
    pub heartbeat_ms: u64,
    /// How often published events are looked for, in milliseconds.
    pub dispatch_interval_ms: u64,
    /// Attempts of an event delivery before it becomes a dead letter.
    pub max_attempts: u32,
    /// Backoff before the second attempt, in milliseconds; it doubles each time, with full
    /// jitter, up to `max_delay_ms`.
    pub base_delay_ms: u64,
    /// The backoff's ceiling, in milliseconds.
    pub max_delay_ms: u64,
    /// Events one tenant may publish per second over the API (on each node), and at once
    /// after a quiet time; more get 429.
    pub publish_per_second: u32,
    /// Events one tenant may publish at once after a quiet time.
    pub publish_burst: u32,
}

impl Default for JobsSettings {
    fn default() -> Self {
        let queue = persistence::QueueConfig::default();
        let retry = domain::jobs::RetryPolicy::default();
        Self {
            enabled: true,
            concurrency: queue.concurrency,
            heartbeat_ms: millis(queue.heartbeat),
            dispatch_interval_ms: 250,
            max_attempts: retry.max_attempts,
            base_delay_ms: millis(retry.base_delay),
            max_delay_ms: millis(retry.max_delay),
            publish_per_second: 100,
            publish_burst: 200,
        }
    }
}

/// The cron scheduler of this node.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulerSettings {
    /// Whether this node fires cron schedules (every node may: a tick is claimed once).
    pub enabled: bool,
    /// How often due ticks are looked for, in milliseconds.
    pub poll_interval_ms: u64,
    /// A tick later than this, in milliseconds, fell due while no node was running.
    pub missed_after_ms: u64,
    /// A claimed tick not started after this long, in milliseconds, is taken over.
    pub stale_claim_after_ms: u64,
    /// Whether a scheduled script's cron expression may have a sixth, leading seconds field
    /// (for test set-ups: a schedule every second); otherwise such an expression is refused.
    pub allow_seconds: bool,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        let config = services::SchedulerConfig::default();
        Self {
            enabled: true,
            poll_interval_ms: millis(config.poll_interval),
            missed_after_ms: millis(config.missed_after),
            stale_claim_after_ms: millis(config.stale_claim_after),
            allow_seconds: false,
        }
    }
}

/// `sdk.cache`: in this process, or in Redis to share it between nodes.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// `redis://host:port`; empty keeps the cache in this process.
    pub redis_url: String,
}

/// `sdk.http`: what scripts may reach besides the public internet, and how much.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpClientSettings {
    /// Comma-separated hosts, host:port pairs or CIDR networks that scripts may reach although
    /// they are private (for example `10.0.0.0/8,billing.internal:8443`).
    pub allow: String,
    /// How long a request may take when the script sets no `timeout`, in milliseconds.
    pub default_timeout_ms: u64,
    /// The largest response body a script may receive, in bytes.
    pub max_response_bytes: usize,
    /// Redirects followed at most (each one checked against the address policy).
    pub max_redirects: usize,
    /// The largest request body a script may send, in bytes (more fails with
    /// `REQUEST_TOO_LARGE`).
    pub max_request_body_bytes: usize,
    /// Request headers a script may send at most (more fails with `HEADERS_TOO_LARGE`).
    pub max_request_headers: usize,
    /// Bytes of all request headers together at most (more fails with `HEADERS_TOO_LARGE`).
    pub max_request_header_bytes: usize,
    /// The longest URL, in bytes (longer fails with `URL_TOO_LONG`).
    pub max_url_bytes: usize,
}

impl Default for HttpClientSettings {
    fn default() -> Self {
        let defaults = services::sdk::http::HttpSettings::default();
        Self {
            allow: String::new(),
            default_timeout_ms: defaults.default_timeout.as_millis() as u64,
            max_response_bytes: defaults.max_response_bytes,
            max_redirects: defaults.max_redirects,
            max_request_body_bytes: defaults.request.max_body_bytes,
            max_request_headers: defaults.request.max_headers,
            max_request_header_bytes: defaults.request.max_header_bytes,
            max_url_bytes: defaults.request.max_url_bytes,
        }
    }
}

/// The script engine: concurrency, log volume, stack, and whether `eval` is allowed.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineSettings {
    /// Executions running at once in the whole process.
    pub max_concurrent_executions: usize,
    /// Executions of one tenant running at once on this node.
    pub max_concurrent_per_tenant: usize,
    /// Log lines one execution may write (more stops it with `LOG_LIMIT`).
    pub max_log_entries: usize,
    /// Bytes of log one execution may write.
    pub max_log_bytes: usize,
    /// The JavaScript stack limit, in bytes (65536–2097152).
    pub max_stack_bytes: usize,
    /// Whether scripts may use `eval` and `new Function`.
    pub allow_eval: bool,
}

impl Default for EngineSettings {
    fn default() -> Self {
        let config = runtime::EngineConfig::default();
        Self {
            max_concurrent_executions: config.max_concurrent_executions,
            max_concurrent_per_tenant: config.max_concurrent_per_tenant,
            max_log_entries: config.max_log_entries,
            max_log_bytes: config.max_log_bytes,
            max_stack_bytes: config.max_stack_bytes,
            allow_eval: config.allow_eval,
        }
    }
}

/// The sandbox worker processes that run scripts.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxSettings {
    /// The program started as a worker (with the hidden worker argument); empty: this binary.
    pub program: String,
    /// Most executions one worker holds at once (all of one tenant). A run that only waits
    /// (for an SDK call, a timer) is parked with no thread, so a tenant with many waiting runs
    /// is served best by a few large workers (hundreds or thousands of runs each).
    pub runs_per_worker: usize,
    /// Executions after which a worker is replaced.
    pub recycle_after_runs: u64,
    /// Workers started ahead of demand.
    pub warm_workers: usize,
    /// How long a tenant's idle worker is kept, in milliseconds.
    pub idle_timeout_ms: u64,
    /// A worker's data-segment cap in bytes; 0 sizes it from `runs_per_worker` and the largest
    /// memory limit a script may have.
    pub worker_memory_bytes: u64,
    /// How long compiling a source to check it may take, in milliseconds.
    pub compile_time_ms: u64,
    /// How long past its deadline or cancellation a run may take to stop before its worker is
    /// killed, in milliseconds.
    pub grace_ms: u64,
    /// How much nicer than the server workers run (0–19): scripts yield the CPU to the server's own work.
    pub worker_nice: i32,
}

impl Default for SandboxSettings {
    fn default() -> Self {
        let config = runtime::EngineConfig::default();
        let sandbox = config.sandbox;
        Self {
            program: String::new(),
            runs_per_worker: sandbox.runs_per_worker,
            recycle_after_runs: sandbox.recycle_after_runs,
            warm_workers: sandbox.warm_workers,
            idle_timeout_ms: u64::try_from(sandbox.idle_timeout.as_millis()).unwrap_or(u64::MAX),
            worker_memory_bytes: 0,
            compile_time_ms: u64::try_from(sandbox.compile_time.as_millis()).unwrap_or(u64::MAX),
            grace_ms: u64::try_from(config.watchdog_grace.as_millis()).unwrap_or(u64::MAX),
            worker_nice: sandbox.worker_nice,
        }
    }
}

/// The HTTP server of this node, and how it stops.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// `host:port` to listen on.
    pub bind: String,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// On SIGTERM or Ctrl-C, how long the runs going on may take to finish before they are
    /// interrupted (durable ones queued again), in milliseconds.
    pub shutdown_grace_ms: u64,
}

/// The product's database: SQLite (embedded, the default) or PostgreSQL (several nodes).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH?mode=rwc` or `postgres://…`; `DATABASE_URL` overrides it.
    pub url: String,
}

/// What the first start against an empty database creates.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BootstrapSettings {
    /// The email of the admin created on the first start against an empty database.
    pub admin_email: String,
}

/// The server's own log, on standard error.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter such as `info` or `iota=debug,sqlx=warn`; `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            workers: 0,
            shutdown_grace_ms: 30_000,
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://./data/iota-scripts.db?mode=rwc".into(),
        }
    }
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        Self {
            admin_email: "admin@iota.local".into(),
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info,sea_orm_migration=warn,sqlx=warn".into(),
        }
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `/metrics`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// Whether `/metrics` answers (404 otherwise).
    pub enabled: bool,
    /// A bearer token a scrape must carry; empty: none needed.
    pub token: String,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            token: String::new(),
        }
    }
}
