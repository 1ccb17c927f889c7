//! Opening the database named by a URL, with the settings each backend needs, and migrating it.

use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection, DbBackend};
use std::time::Duration;

/// Rows of each index SQLite's `ANALYZE` looks at (its own advice for `PRAGMA optimize`).
const ANALYSIS_LIMIT: u32 = 400;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("unsupported database URL \"{0}\": use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("cannot create the directory {path} for the SQLite database: {source}")]
    CreateDirectory {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("migration failed: {0}")]
    Migrate(String),
    #[error("database check failed: {0}")]
    Ping(String),
}

/// A connection pool to the product's database.
#[derive(Clone, Debug)]
pub struct Database {
    connection: DatabaseConnection,
    backend: Backend,
    url: String,
}

/// The pool `sdk.db` statements use, apart from the product's own, so that scripts can never
/// take the connections (or, on PostgreSQL, the sessions) the product needs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScriptPoolOptions {
    pub connections: u32,
    pub acquire_timeout: Duration,
    /// SQLite: how long a statement waits for the write lock. PostgreSQL: how long a session
    /// may sit idle inside a transaction before the server ends it.
    pub lock_wait: Duration,
    pub idle_in_transaction: Duration,
}

impl Database {
    /// Connects to `url`. SQLite files are created (with their directory) and run in WAL mode
    /// with foreign keys on; PostgreSQL URLs are used as they are.
    pub async fn connect(url: &str) -> Result<Self, DatabaseError> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(DatabaseError::UnsupportedUrl(url.to_owned()));
        };
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false);
        if backend == Backend::Sqlite {
            create_sqlite_directory(url)?;
            options
                .map_sqlx_sqlite_pool_opts(crate::sqlite_release::with_check)
                .max_connections(8)
                .map_sqlx_sqlite_opts(|sqlite| {
                    sqlite
                        .create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .foreign_keys(true)
                        .busy_timeout(Duration::from_secs(10))
                        // The planner's statistics refreshed as the node stops: a
                        // connection that closes runs `PRAGMA optimize` (pooled connections
                        // live as long as the process; see `sqlite_release::with_check`).
                        .optimize_on_close(true, ANALYSIS_LIMIT)
                });
        } else {
            options.max_connections(20);
        }
        let connection = sea_orm::Database::connect(options)
            .await
            .map_err(|e| DatabaseError::Connect(e.to_string()))?;
        Ok(Self {
            connection,
            backend,
            url: url.to_owned(),
        })
    }

    /// Opens the separate, bounded pool of `sdk.db` on the same database. An in-memory SQLite
    /// database cannot be opened twice, so there scripts share the product's pool.
    pub(crate) async fn script_pool(
        &self,
        pool: ScriptPoolOptions,
    ) -> Result<DatabaseConnection, DatabaseError> {
        if self.backend == Backend::Sqlite && self.url.contains(":memory:") {
            return Ok(self.connection.clone());
        }
        let mut options = ConnectOptions::new(self.url.clone());
        options
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(pool.acquire_timeout)
            .max_connections(pool.connections)
            .min_connections(0)
            .idle_timeout(Duration::from_secs(60))
            .sqlx_logging(false);
        if self.backend == Backend::Sqlite {
            options.map_sqlx_sqlite_opts(move |sqlite| {
                sqlite
                    .create_if_missing(false)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(pool.lock_wait)
            });
        } else {
            let idle_ms = pool.idle_in_transaction.as_millis().max(1);
            options.map_sqlx_postgres_opts(move |postgres| {
                postgres
                    .application_name("iota-scripts sdk.db")
                    .options([("idle_in_transaction_session_timeout", idle_ms.to_string())])
            });
        }
        sea_orm::Database::connect(options)
            .await
            .map_err(|e| DatabaseError::Connect(e.to_string()))
    }

    /// Applies every pending migration. On SQLite, the planner's statistics are then brought
    /// up to date (bounded by `ANALYSIS_LIMIT` rows an index): without them, SQLite may walk
    /// an index whose order suits a query over one whose columns select its rows.
    pub async fn migrate(&self) -> Result<(), DatabaseError> {
        Migrator::up(&self.connection, None)
            .await
            .map_err(|e| DatabaseError::Migrate(e.to_string()))?;
        if self.backend == Backend::Sqlite {
            for pragma in [
                format!("PRAGMA analysis_limit = {ANALYSIS_LIMIT}"),
                "PRAGMA optimize = 0x10002".to_owned(),
            ] {
                self.connection
                    .execute_unprepared(&pragma)
                    .await
                    .map_err(|e| DatabaseError::Migrate(format!("{pragma}: {e}")))?;
            }
        }
        Ok(())
    }

    /// Checks that the database answers (for `/health/ready`).
    pub async fn ping(&self) -> Result<(), DatabaseError> {
        self.connection
            .ping()
            .await
            .map_err(|e| DatabaseError::Ping(e.to_string()))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn connection(&self) -> &DatabaseConnection {
        &self.connection
    }

    pub async fn close(self) {
        // Closing only fails if the pool is already closed; nothing to do then.
        let _ = self.connection.close().await;
    }
}

pub(crate) fn is_postgres(connection: &impl ConnectionTrait) -> bool {
    connection.get_database_backend() == DbBackend::Postgres
}

fn create_sqlite_directory(url: &str) -> Result<(), DatabaseError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|source| DatabaseError::CreateDirectory {
            path: parent.display().to_string(),
            source,
        })?;
    }
    Ok(())
}
