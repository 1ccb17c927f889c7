//! Where `sdk.db` gets its connections: a pool of its own (never the product's), and a cap on
//! how many of them one tenant's scripts may hold at once on this node, so that one tenant
//! cannot take the connections every other tenant's scripts need.

use super::failures::{self, BUSY};
use crate::connection::Backend;
use domain::TenantId;
use domain::script_data::SqlFailure;
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::sqlite::Sqlite;
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A connection given to one statement or one transaction, with the tenant's share it takes.
pub(super) struct Lease {
    pub held: Held,
    _share: OwnedSemaphorePermit,
}

/// A sea-orm transaction on PostgreSQL; on SQLite a pooled connection, held directly so that
/// its progress handler can stop a statement.
pub(super) enum Held {
    Postgres(DatabaseTransaction),
    Sqlite(PoolConnection<Sqlite>),
}

pub(super) struct ScriptPool {
    connection: DatabaseConnection,
    backend: Backend,
    per_tenant: usize,
    acquire_timeout: Duration,
    shares: Mutex<HashMap<TenantId, Arc<Semaphore>>>,
}

/// Tenants whose shares are kept before idle ones are forgotten.
const KEPT_SHARES: usize = 1024;

impl ScriptPool {
    pub fn new(
        connection: DatabaseConnection,
        backend: Backend,
        per_tenant: usize,
        acquire_timeout: Duration,
    ) -> Self {
        Self {
            connection,
            backend,
            per_tenant: per_tenant.max(1),
            acquire_timeout,
            shares: Mutex::default(),
        }
    }

    /// A connection for `tenant`, waiting at most the pool's acquire timeout or `wait`,
    /// whichever is shorter; past it, `DATABASE_BUSY`. On PostgreSQL it comes inside a
    /// transaction already; on SQLite outside one.
    pub async fn lease(&self, tenant: TenantId, wait: Duration) -> Result<Lease, SqlFailure> {
        let wait = wait.min(self.acquire_timeout);
        let semaphore = self.share_of(tenant);
        let share = tokio::time::timeout(wait, semaphore.acquire_owned())
            .await
            .map_err(|_| {
                SqlFailure::new(
                    BUSY,
                    format!(
                        "this tenant's scripts already use {} database connections at once; \
                         try again",
                        self.per_tenant
                    ),
                )
            })?
            .map_err(|_| SqlFailure::new(BUSY, "the database is shutting down"))?;
        let busy = || SqlFailure::new(BUSY, "every sdk.db connection is in use; try again");
        let held = match self.backend {
            Backend::Postgres => {
                let begun = tokio::time::timeout(wait, self.connection.begin()).await;
                Held::Postgres(begun.map_err(|_| busy())?.map_err(failures::from_db_err)?)
            }
            Backend::Sqlite => {
                let pool = self.connection.get_sqlite_connection_pool();
                let acquired = tokio::time::timeout(wait, pool.acquire()).await;
                Held::Sqlite(
                    acquired
                        .map_err(|_| busy())?
                        .map_err(|e| failures::from_sqlx(&e))?,
                )
            }
        };
        Ok(Lease {
            held,
            _share: share,
        })
    }

    fn share_of(&self, tenant: TenantId) -> Arc<Semaphore> {
        let mut shares = self.shares.lock().unwrap_or_else(|p| p.into_inner());
        if shares.len() >= KEPT_SHARES && !shares.contains_key(&tenant) {
            // A share nobody holds (no lease, no waiter) is the same as a fresh one.
            let per_tenant = self.per_tenant;
            shares.retain(|_, s| Arc::strong_count(s) > 1 || s.available_permits() < per_tenant);
        }
        shares
            .entry(tenant)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_tenant)))
            .clone()
    }
}
