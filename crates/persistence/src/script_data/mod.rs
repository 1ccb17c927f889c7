//! `ScriptDatabase` on sea-orm: runs `sdk.db` statements on a pool of their own, in short
//! transactions with the script's tenant set, never on the product's connections. On
//! PostgreSQL each transaction also switches to the `iota_script` role, which row-level
//! security confines to the tenant in `iota.tenant_id` (a second line of defence behind the
//! statement rewrite). A transaction a script keeps open is rolled back at its deadline; on
//! SQLite, where one write lock serves the whole database, a script holds it only briefly.

mod budget;
mod failures;
mod pg_values;
mod pool;
mod postgres;
mod rows;
mod sqlite;
mod transactions;

use crate::connection::{Backend, Database, DatabaseError, ScriptPoolOptions};
use async_trait::async_trait;
use domain::script_data::{
    ScriptDatabase, SqlBounds, SqlDialect, SqlFailure, SqlOutcome, SqlStatement,
};
use domain::{ExecutionId, TenantId};
use pool::{Held, Lease, ScriptPool};
use postgres::SCRIPT_ROLE;
use sea_orm::ConnectionTrait;
use sqlite::{sqlite_exec, sqlite_statement};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use transactions::{Transactions, TxState, end, not_found};

/// Open transactions an execution may hold at once.
const MAX_OPEN_TRANSACTIONS: usize = 1;

/// What `sdk.db` may use of the database, and for how long.
#[derive(Clone, Debug)]
pub struct ScriptDataConfig {
    /// The operator's tables scripts may use.
    pub tables: Vec<String>,
    /// Their tenant column.
    pub tenant_column: String,
    /// Connections of the pool scripts use, apart from the product's own.
    pub pool_size: u32,
    /// Connections one tenant's scripts may hold at once on this node.
    pub per_tenant_connections: usize,
    /// How long a statement waits for a connection before `DATABASE_BUSY`.
    pub acquire_timeout: Duration,
    /// How long a script may keep a transaction open.
    pub max_transaction: Duration,
    /// SQLite: how long a script may hold the database's write lock (every write of the
    /// product waits behind it), in a transaction or in one statement.
    pub sqlite_write_lock: Duration,
}

impl Default for ScriptDataConfig {
    fn default() -> Self {
        Self {
            tables: Vec::new(),
            tenant_column: "tenant_id".into(),
            pool_size: 8,
            per_tenant_connections: 4,
            acquire_timeout: Duration::from_secs(2),
            max_transaction: Duration::from_secs(5),
            sqlite_write_lock: Duration::from_millis(1000),
        }
    }
}

pub struct SeaScriptDatabase {
    database: Database,
    config: ScriptDataConfig,
    pool: ScriptPool,
    transactions: Transactions,
    row_security: AtomicBool,
    next: AtomicU64,
}

impl SeaScriptDatabase {
    /// Opens the scripts' pool on `database`.
    pub async fn connect(
        database: Database,
        config: ScriptDataConfig,
    ) -> Result<Self, DatabaseError> {
        let connection = database
            .script_pool(ScriptPoolOptions {
                connections: config.pool_size.max(1),
                acquire_timeout: config.acquire_timeout,
                lock_wait: config.sqlite_write_lock,
                idle_in_transaction: config.max_transaction + Duration::from_secs(1),
            })
            .await?;
        let pool = ScriptPool::new(
            connection,
            database.backend(),
            config.per_tenant_connections,
            config.acquire_timeout,
        );
        Ok(Self {
            database,
            config,
            pool,
            transactions: Transactions::default(),
            row_security: AtomicBool::new(false),
            next: AtomicU64::new(1),
        })
    }

    fn is_sqlite(&self) -> bool {
        self.database.backend() == Backend::Sqlite
    }

    /// On PostgreSQL: creates the `iota_script` role and the row-level security policies of
    /// the tables. A table that does not exist yet is skipped with a warning; if the database
    /// user may not do this, scripts still run, protected by the rewrite alone.
    pub async fn prepare(&self) {
        if self.database.backend() != Backend::Postgres || self.config.tables.is_empty() {
            return;
        }
        let connection = self.database.connection();
        let role = format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{SCRIPT_ROLE}') THEN \
             CREATE ROLE {SCRIPT_ROLE} NOLOGIN; END IF; END $$"
        );
        if let Err(error) = connection.execute_unprepared(&role).await {
            tracing::warn!(%error, "cannot create the script role; row-level security is off for sdk.db");
            return;
        }
        let _ = connection
            .execute_unprepared(&format!("GRANT {SCRIPT_ROLE} TO CURRENT_USER"))
            .await;
        let column = &self.config.tenant_column;
        for table in &self.config.tables {
            let statements = [
                format!(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE \"{table}\" TO {SCRIPT_ROLE}"
                ),
                format!("ALTER TABLE \"{table}\" ENABLE ROW LEVEL SECURITY"),
                format!("DROP POLICY IF EXISTS iota_host_access ON \"{table}\""),
                format!(
                    "CREATE POLICY iota_host_access ON \"{table}\" USING (true) WITH CHECK (true)"
                ),
                format!("DROP POLICY IF EXISTS iota_tenant_isolation ON \"{table}\""),
                format!(
                    "CREATE POLICY iota_tenant_isolation ON \"{table}\" AS RESTRICTIVE TO {SCRIPT_ROLE} \
                     USING (\"{column}\"::text = current_setting('iota.tenant_id', true)) \
                     WITH CHECK (\"{column}\"::text = current_setting('iota.tenant_id', true))"
                ),
            ];
            for statement in statements {
                if let Err(error) = connection.execute_unprepared(&statement).await {
                    tracing::warn!(%error, table = table.as_str(), "row-level security not set up for this table");
                    return;
                }
            }
        }
        self.row_security.store(true, Ordering::Release);
        tracing::info!(tables = ?self.config.tables, "row-level security set up for sdk.db tables");
    }

    /// A connection for `tenant`, scoped to it on PostgreSQL and inside `BEGIN` on SQLite.
    async fn open(
        &self,
        tenant: TenantId,
        wait: Duration,
        statement_timeout: Duration,
    ) -> Result<Lease, SqlFailure> {
        let mut lease = self.pool.lease(tenant, wait).await?;
        match &mut lease.held {
            Held::Postgres(transaction) => {
                let row_security = self.row_security.load(Ordering::Acquire);
                postgres::scope(transaction, tenant, row_security, statement_timeout).await?;
            }
            Held::Sqlite(connection) => sqlite_exec(connection, "BEGIN").await?,
        }
        Ok(lease)
    }

    async fn on_held(
        held: &mut Held,
        statement: &SqlStatement,
        bounds: SqlBounds,
    ) -> Result<SqlOutcome, SqlFailure> {
        match held {
            Held::Postgres(transaction) => {
                postgres::statement(transaction, statement, bounds).await
            }
            Held::Sqlite(connection) => sqlite_statement(connection, statement, bounds).await,
        }
    }

    /// Whether `statement` takes SQLite's write lock: anything but a query does.
    fn takes_write_lock(&self, statement: &SqlStatement) -> bool {
        self.is_sqlite() && !statement.is_query
    }

    /// One statement in a transaction of its own.
    async fn run_alone(
        &self,
        tenant: TenantId,
        statement: SqlStatement,
        mut bounds: SqlBounds,
    ) -> Result<SqlOutcome, SqlFailure> {
        if self.takes_write_lock(&statement) {
            bounds.timeout = bounds.timeout.min(self.config.sqlite_write_lock);
        }
        let mut lease = self.open(tenant, bounds.timeout, bounds.timeout).await?;
        let outcome = Self::on_held(&mut lease.held, &statement, bounds).await;
        let ended = end(lease.held, outcome.is_ok()).await;
        outcome.and_then(|outcome| ended.map(|()| outcome))
    }
}

#[async_trait]
impl ScriptDatabase for SeaScriptDatabase {
    fn dialect(&self) -> SqlDialect {
        match self.database.backend() {
            Backend::Sqlite => SqlDialect::Sqlite,
            Backend::Postgres => SqlDialect::Postgres,
        }
    }

    async fn run(
        &self,
        tenant: TenantId,
        execution: ExecutionId,
        tx: Option<u64>,
        statement: SqlStatement,
        mut bounds: SqlBounds,
    ) -> Result<SqlOutcome, SqlFailure> {
        let Some(id) = tx else {
            return self.run_alone(tenant, statement, bounds).await;
        };
        let open = self.transactions.get((execution, id), tenant)?;
        let mut state = open.state.lock().await;
        let lease = match &mut *state {
            TxState::Active(lease) => lease,
            TxState::Expired => return Err(open.expired()),
            TxState::Ended => return Err(not_found()),
        };
        let now = crate::clock::now();
        if self.takes_write_lock(&statement) {
            open.shorten(now + self.config.sqlite_write_lock);
        }
        let left = open.deadline().saturating_duration_since(now);
        if left.is_zero() {
            if let TxState::Active(lease) = std::mem::replace(&mut *state, TxState::Expired) {
                let _ = end(lease.held, false).await;
            }
            return Err(open.expired());
        }
        bounds.timeout = bounds.timeout.min(left);
        Self::on_held(&mut lease.held, &statement, bounds).await
    }

    async fn begin(&self, tenant: TenantId, execution: ExecutionId) -> Result<u64, SqlFailure> {
        if self.transactions.count_of(execution) >= MAX_OPEN_TRANSACTIONS {
            return Err(SqlFailure::new(
                failures::INVALID,
                "a transaction is already open; transactions cannot be nested",
            ));
        }
        let allowed = self.config.max_transaction;
        let lease = self
            .open(tenant, self.config.acquire_timeout, allowed)
            .await?;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.transactions
            .insert((execution, id), tenant, lease, crate::clock::now(), allowed);
        Ok(id)
    }

    async fn commit(&self, execution: ExecutionId, tx: u64) -> Result<(), SqlFailure> {
        let open = self.transactions.remove((execution, tx))?;
        let mut state = open.state.lock().await;
        match std::mem::replace(&mut *state, TxState::Ended) {
            TxState::Active(lease) if crate::clock::now() >= open.deadline() => {
                let _ = end(lease.held, false).await;
                Err(open.expired())
            }
            TxState::Active(lease) => end(lease.held, true).await,
            TxState::Expired => Err(open.expired()),
            TxState::Ended => Err(SqlFailure::new(
                "TRANSACTION_NOT_FOUND",
                "the transaction has ended",
            )),
        }
    }

    async fn rollback(&self, execution: ExecutionId, tx: u64) -> Result<(), SqlFailure> {
        let open = self.transactions.remove((execution, tx))?;
        let mut state = open.state.lock().await;
        match std::mem::replace(&mut *state, TxState::Ended) {
            TxState::Active(lease) => end(lease.held, false).await,
            TxState::Expired | TxState::Ended => Ok(()),
        }
    }

    async fn release(&self, execution: ExecutionId) {
        for open in self.transactions.remove_all(execution) {
            let mut state = open.state.lock().await;
            if let TxState::Active(lease) = std::mem::replace(&mut *state, TxState::Ended) {
                let _ = end(lease.held, false).await;
            }
        }
    }
}
