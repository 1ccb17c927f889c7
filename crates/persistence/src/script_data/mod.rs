//! `ScriptDatabase` on sea-orm: runs `sdk.db` statements in short transactions with the
//! script's tenant set. On PostgreSQL each transaction also switches to the `iota_script`
//! role, which row-level security confines to the tenant in `iota.tenant_id` (a second line
//! of defence behind the statement rewrite), and sets `statement_timeout`, so that a slow
//! statement is cancelled by the server.

mod budget;
mod failures;
mod pg_values;
mod rows;
mod sqlite;

use crate::connection::{Backend, Database};
use async_trait::async_trait;
use budget::ResultBudget;
use domain::script_data::{
    ScriptDatabase, SqlBounds, SqlDialect, SqlFailure, SqlOutcome, SqlStatement,
};
use domain::{ExecutionId, TenantId};
use failures::from_db_err;
use futures::TryStreamExt;
use rows::{row_to_json, to_value};
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::sqlite::Sqlite;
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, Statement, StreamTrait, TransactionTrait,
};
use sqlite::{sqlite_exec, sqlite_statement};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::sync::Mutex;

const SCRIPT_ROLE: &str = "iota_script";
/// Open transactions an execution may hold at once.
const MAX_OPEN_TRANSACTIONS: usize = 1;

/// An open `sdk.db` transaction: a sea-orm transaction on PostgreSQL; on SQLite a pooled
/// connection inside `BEGIN`, held directly so that its progress handler can stop a statement.
enum Held {
    Postgres(DatabaseTransaction),
    Sqlite(PoolConnection<Sqlite>),
}

type Open = Arc<Mutex<Option<(TenantId, Held)>>>;

pub struct SeaScriptDatabase {
    database: Database,
    tables: Vec<String>,
    tenant_column: String,
    row_security: AtomicBool,
    open: std::sync::Mutex<HashMap<(ExecutionId, u64), Open>>,
    next: AtomicU64,
}

impl SeaScriptDatabase {
    /// `tables` are the operator's tables scripts may use; `tenant_column` their tenant column.
    pub fn new(database: Database, tables: Vec<String>, tenant_column: String) -> Self {
        Self {
            database,
            tables,
            tenant_column,
            row_security: AtomicBool::new(false),
            open: std::sync::Mutex::default(),
            next: AtomicU64::new(1),
        }
    }

    fn backend(&self) -> DbBackend {
        match self.database.backend() {
            Backend::Sqlite => DbBackend::Sqlite,
            Backend::Postgres => DbBackend::Postgres,
        }
    }

    /// On PostgreSQL: creates the `iota_script` role and the row-level security policies of
    /// the tables. A table that does not exist yet is skipped with a warning; if the database
    /// user may not do this, scripts still run, protected by the rewrite alone.
    pub async fn prepare(&self) {
        if self.database.backend() != Backend::Postgres || self.tables.is_empty() {
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
        let column = &self.tenant_column;
        for table in &self.tables {
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
        tracing::info!(tables = ?self.tables, "row-level security set up for sdk.db tables");
    }

    /// Starts a transaction scoped to `tenant`, with the statement timeout on PostgreSQL.
    async fn start(
        &self,
        tenant: TenantId,
        bounds: Option<SqlBounds>,
    ) -> Result<DatabaseTransaction, SqlFailure> {
        let transaction = self
            .database
            .connection()
            .begin()
            .await
            .map_err(from_db_err)?;
        if self.database.backend() == Backend::Postgres {
            let tenant_text = tenant.to_string();
            let set = Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config('iota.tenant_id', $1, true)",
                [sea_orm::Value::String(Some(tenant_text))],
            );
            transaction.execute_raw(set).await.map_err(from_db_err)?;
            if self.row_security.load(Ordering::Acquire) {
                transaction
                    .execute_unprepared(&format!("SET LOCAL ROLE {SCRIPT_ROLE}"))
                    .await
                    .map_err(from_db_err)?;
            }
            let timeout_ms = bounds.map_or(5_000, |b| b.timeout.as_millis().max(1));
            transaction
                .execute_unprepared(&format!("SET LOCAL statement_timeout = {timeout_ms}"))
                .await
                .map_err(from_db_err)?;
        }
        Ok(transaction)
    }

    async fn statement(
        &self,
        transaction: &DatabaseTransaction,
        statement: &SqlStatement,
        bounds: SqlBounds,
    ) -> Result<SqlOutcome, SqlFailure> {
        let values: Vec<sea_orm::Value> = statement.params.iter().map(to_value).collect();
        let backend = self.backend();
        let run = async {
            if statement.returns_rows {
                let sql = if statement.is_query {
                    format!(
                        "SELECT * FROM ({}) AS iota_rows LIMIT {}",
                        statement.sql,
                        bounds.max_rows + 1
                    )
                } else {
                    statement.sql.clone()
                };
                // Rows are decoded and counted one at a time, so a result past its limits
                // stops the read instead of being held whole.
                let mut stream = transaction
                    .stream_raw(Statement::from_sql_and_values(backend, sql, values))
                    .await
                    .map_err(from_db_err)?;
                let mut budget = ResultBudget::new(bounds.sizes, bounds.max_rows);
                let mut rows = Vec::new();
                while let Some(result) = stream.try_next().await.map_err(from_db_err)? {
                    rows.push(row_to_json(&result, &mut budget)?);
                }
                let affected = rows.len() as u64;
                Ok(SqlOutcome { rows, affected })
            } else {
                let result = transaction
                    .execute_raw(Statement::from_sql_and_values(
                        backend,
                        &statement.sql,
                        values,
                    ))
                    .await
                    .map_err(from_db_err)?;
                Ok(SqlOutcome {
                    rows: Vec::new(),
                    affected: result.rows_affected(),
                })
            }
        };
        match tokio::time::timeout(bounds.timeout, run).await {
            Ok(outcome) => outcome,
            Err(_) => Err(SqlFailure::new(
                failures::TIMEOUT,
                "the statement ran longer than its time limit",
            )),
        }
    }

    /// Opens a transaction for `tenant` on the backend's terms.
    async fn open_held(
        &self,
        tenant: TenantId,
        bounds: Option<SqlBounds>,
    ) -> Result<Held, SqlFailure> {
        match self.database.backend() {
            Backend::Postgres => self.start(tenant, bounds).await.map(Held::Postgres),
            Backend::Sqlite => {
                let pool = self.database.connection().get_sqlite_connection_pool();
                let mut connection = pool.acquire().await.map_err(|e| failures::from_sqlx(&e))?;
                sqlite_exec(&mut connection, "BEGIN").await?;
                Ok(Held::Sqlite(connection))
            }
        }
    }

    async fn on_held(
        &self,
        held: &mut Held,
        statement: &SqlStatement,
        bounds: SqlBounds,
    ) -> Result<SqlOutcome, SqlFailure> {
        match held {
            Held::Postgres(transaction) => self.statement(transaction, statement, bounds).await,
            Held::Sqlite(connection) => sqlite_statement(connection, statement, bounds).await,
        }
    }

    /// Commits or rolls back; a SQLite connection goes back to the pool outside any transaction.
    async fn end_held(&self, held: Held, commit: bool) -> Result<(), SqlFailure> {
        match held {
            Held::Postgres(transaction) if commit => {
                transaction.commit().await.map_err(from_db_err)
            }
            Held::Postgres(transaction) => transaction.rollback().await.map_err(from_db_err),
            Held::Sqlite(mut connection) => {
                let ended =
                    sqlite_exec(&mut connection, if commit { "COMMIT" } else { "ROLLBACK" }).await;
                if ended.is_err() {
                    let _ = sqlite_exec(&mut connection, "ROLLBACK").await;
                }
                ended
            }
        }
    }

    fn take(&self, execution: ExecutionId, tx: u64) -> Result<Open, SqlFailure> {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(&(execution, tx))
            .cloned()
            .ok_or_else(|| SqlFailure::new("TRANSACTION_NOT_FOUND", "the transaction is not open"))
    }

    fn forget(&self, execution: ExecutionId, tx: u64) {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(execution, tx));
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
        bounds: SqlBounds,
    ) -> Result<SqlOutcome, SqlFailure> {
        let Some(id) = tx else {
            let mut held = self.open_held(tenant, Some(bounds)).await?;
            let outcome = self.on_held(&mut held, &statement, bounds).await;
            let ended = self.end_held(held, outcome.is_ok()).await;
            return outcome.and_then(|outcome| ended.map(|()| outcome));
        };
        let open = self.take(execution, id)?;
        let mut guard = open.lock().await;
        match guard.as_mut() {
            Some((owner, held)) if *owner == tenant => self.on_held(held, &statement, bounds).await,
            _ => Err(SqlFailure::new(
                "TRANSACTION_NOT_FOUND",
                "the transaction is not open",
            )),
        }
    }

    async fn begin(&self, tenant: TenantId, execution: ExecutionId) -> Result<u64, SqlFailure> {
        let held = self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .filter(|(e, _)| *e == execution)
            .count();
        if held >= MAX_OPEN_TRANSACTIONS {
            return Err(SqlFailure::new(
                failures::INVALID,
                "a transaction is already open; transactions cannot be nested",
            ));
        }
        let held = self.open_held(tenant, None).await?;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((execution, id), Arc::new(Mutex::new(Some((tenant, held)))));
        Ok(id)
    }

    async fn commit(&self, execution: ExecutionId, tx: u64) -> Result<(), SqlFailure> {
        let open = self.take(execution, tx)?;
        self.forget(execution, tx);
        let taken = open.lock().await.take();
        match taken {
            Some((_, held)) => self.end_held(held, true).await,
            None => Err(SqlFailure::new(
                "TRANSACTION_NOT_FOUND",
                "the transaction has ended",
            )),
        }
    }

    async fn rollback(&self, execution: ExecutionId, tx: u64) -> Result<(), SqlFailure> {
        let open = self.take(execution, tx)?;
        self.forget(execution, tx);
        let taken = open.lock().await.take();
        match taken {
            Some((_, held)) => self.end_held(held, false).await,
            None => Ok(()),
        }
    }

    async fn release(&self, execution: ExecutionId) {
        let left: Vec<Open> = {
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            let keys: Vec<_> = open
                .keys()
                .filter(|(e, _)| *e == execution)
                .copied()
                .collect();
            keys.into_iter()
                .filter_map(|key| open.remove(&key))
                .collect()
        };
        for open in left {
            let taken = open.lock().await.take();
            if let Some((_, held)) = taken {
                let _ = self.end_held(held, false).await;
            }
        }
    }
}
