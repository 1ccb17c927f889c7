//! A pooled SQLite connection still inside a transaction when it comes back to the pool is
//! closed, not reused. It happens when a `COMMIT` fails for lack of space (`SQLITE_FULL`):
//! SQLite keeps the transaction, with the database's write lock, and without this every
//! other connection would wait for that lock — and fail — until the process restarts, even
//! once space returns.

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

/// The pool options with the check.
pub(crate) fn with_check(
    options: sea_orm::sqlx::pool::PoolOptions<Sqlite>,
) -> sea_orm::sqlx::pool::PoolOptions<Sqlite> {
    options.after_release(keep_if_idle)
}
