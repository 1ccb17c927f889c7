//! The port through which `sdk.db` runs a script's (already checked and rewritten) SQL on the
//! tables the operator made available, inside the script's tenant.

use crate::ids::{ExecutionId, TenantId};
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlDialect {
    Sqlite,
    Postgres,
}

/// One statement to run, with its bound parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct SqlStatement {
    pub sql: String,
    pub params: Vec<Value>,
    pub returns_rows: bool,
    /// Wrap a query to fetch at most this many rows plus one, to detect overflow.
    pub is_query: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SqlOutcome {
    pub rows: Vec<Map<String, Value>>,
    pub affected: u64,
}

/// A failure the script sees with this code (`QUERY_TIMEOUT`, `ROW_LIMIT`, `RESULT_TOO_LARGE`,
/// `CONSTRAINT_VIOLATION`, `INVALID_SQL`, `TYPE_MISMATCH`, `DATABASE_ERROR`,
/// `TRANSACTION_NOT_FOUND`, `UNAVAILABLE`). Its message never quotes the database's own text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct SqlFailure {
    pub code: &'static str,
    pub message: String,
}

impl SqlFailure {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Limits of one statement.
#[derive(Clone, Copy, Debug)]
pub struct SqlBounds {
    pub timeout: Duration,
    pub max_rows: usize,
    pub sizes: ResultSizes,
}

/// How large a statement's result may be, checked while its rows are read, so that a result
/// past them never materialises (`RESULT_TOO_LARGE`). Sizes are of the values as the script
/// receives them (a blob as base64 text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResultSizes {
    /// Bytes of one value.
    pub max_value_bytes: usize,
    /// Bytes of one row: its values and column names.
    pub max_row_bytes: usize,
    /// Bytes of all rows together.
    pub max_result_bytes: usize,
}

impl Default for ResultSizes {
    fn default() -> Self {
        Self {
            max_value_bytes: 1024 * 1024,
            max_row_bytes: 2 * 1024 * 1024,
            max_result_bytes: 8 * 1024 * 1024,
        }
    }
}

#[async_trait]
pub trait ScriptDatabase: Send + Sync {
    fn dialect(&self) -> SqlDialect;

    /// Runs one statement for `tenant`: in the open transaction `tx` of the execution, or in
    /// a transaction of its own.
    async fn run(
        &self,
        tenant: TenantId,
        execution: ExecutionId,
        tx: Option<u64>,
        statement: SqlStatement,
        bounds: SqlBounds,
    ) -> Result<SqlOutcome, SqlFailure>;

    async fn begin(&self, tenant: TenantId, execution: ExecutionId) -> Result<u64, SqlFailure>;
    async fn commit(&self, execution: ExecutionId, tx: u64) -> Result<(), SqlFailure>;
    async fn rollback(&self, execution: ExecutionId, tx: u64) -> Result<(), SqlFailure>;
    /// Rolls back whatever the execution left open.
    async fn release(&self, execution: ExecutionId);
}
