//! A pooled SQLite connection still inside a transaction when it comes back to the pool is
//! closed, not reused. It happens when a `COMMIT` fails for lack of space (`SQLITE_FULL`):
//! SQLite keeps the transaction, with the database's write lock, and without this every
//! other connection would wait for that lock — and fail — until the process restarts, even
//! once space returns. The other connections live as long as the process.

use sea_orm::sqlx::pool::PoolConnectionMetadata;
use sea_orm::sqlx::sqlite::SqliteConnection;
use sea_orm::sqlx::{Error, Sqlite};

type Released<'c> = futures::future::BoxFuture<'c, Result<bool, Error>>;

/// The pool's `after_release` check: keep the connection only outside any transaction.
pub(crate) fn keep_if_idle(
    connection: &mut SqliteConnection,
    _meta: PoolConnectionMetadata,
) -> Released<'_> {
    Box::pin(async move {
        let mut handle = connection.lock_handle().await?;
        if in_transaction(&mut handle) {
            tracing::warn!(
                "a database connection came back inside a transaction (a commit failed?): closed"
            );
            return Ok(false);
        }
        Ok(true)
    })
}

/// Whether the connection is inside a transaction (SQLite's autocommit is off).
#[allow(unsafe_code)]
fn in_transaction(handle: &mut sea_orm::sqlx::sqlite::LockedSqliteHandle<'_>) -> bool {
    // SAFETY: the handle is locked, so the pointer is sqlx's open connection and no other
    // thread uses it meanwhile; `sqlite3_get_autocommit` only reads its state.
    unsafe { libsqlite3_sys::sqlite3_get_autocommit(handle.as_raw_handle().as_ptr()) == 0 }
}

/// The pool options with the check, and connections kept for the life of the process: sqlx
/// replaces each after 30 minutes (and after 10 idle ones) by default, and each connection
/// that closes runs `PRAGMA optimize`, which re-analyses a grown table from the statistics
/// that connection loaded — every connection of the pool in turn, holding the write lock
/// (the one-hour soak stalled for about 20 s at minute 30 on 5.8 million executions).
pub(crate) fn with_check(
    options: sea_orm::sqlx::pool::PoolOptions<Sqlite>,
) -> sea_orm::sqlx::pool::PoolOptions<Sqlite> {
    options
        .after_release(keep_if_idle)
        .max_lifetime(None)
        .idle_timeout(None)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    /// The pool never retires a connection by age or idleness (each would analyse again).
    #[tokio::test]
    async fn pooled_sqlite_connections_live_as_long_as_the_process() {
        let file = std::env::temp_dir().join(format!("iota-pool-{}.db", uuid::Uuid::new_v4()));
        let database = crate::Database::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        let options = database
            .connection()
            .get_sqlite_connection_pool()
            .options()
            .clone();
        assert_eq!(options.get_max_lifetime(), None);
        assert_eq!(options.get_idle_timeout(), None);
        drop(database);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
    }
}
