//! `sdk.db`: checks and rewrites each statement with the SQL guard, then runs it through the
//! `ScriptDatabase` port in the script's tenant, with its row limit and statement timeout.

use super::sql_guard::{SqlDialectKind, SqlPolicy, StatementKind, guard};
use crate::clock::{Clock, SystemClock};
use domain::script_data::{
    ResultSizes, ScriptDatabase, SqlBounds, SqlDialect, SqlFailure, SqlStatement,
};
use runtime::{CallScope, HostError, HostErrorCode};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct DbSettings {
    /// The tables scripts may use (lower-case).
    pub tables: BTreeSet<String>,
    pub tenant_column: String,
    pub max_rows: usize,
    pub statement_timeout: Duration,
    /// How large one value, one row and a whole result may be.
    pub result_sizes: ResultSizes,
}

impl Default for DbSettings {
    fn default() -> Self {
        Self {
            tables: BTreeSet::new(),
            tenant_column: "tenant_id".into(),
            max_rows: 1000,
            statement_timeout: Duration::from_secs(5),
            result_sizes: ResultSizes::default(),
        }
    }
}

pub struct ScriptDb {
    database: Arc<dyn ScriptDatabase>,
    policy: SqlPolicy,
    settings: DbSettings,
    clock: Arc<dyn Clock>,
}

fn failure(code: HostErrorCode, message: impl Into<String>) -> HostError {
    HostError::new(code, message)
}

/// A failure of the database port as the script sees it. Every code the port gives is one of
/// the platform's; one it does not know (a port newer than this list) is logged and reaches
/// the script as `DATABASE_ERROR`, with the port's message, which never quotes the database.
fn from_sql(failure: SqlFailure) -> HostError {
    let code = HostErrorCode::known(failure.code).unwrap_or_else(|| {
        tracing::warn!(code = failure.code, "sdk.db: unknown failure code");
        HostErrorCode::DatabaseError
    });
    HostError::new(code, failure.message)
}

impl ScriptDb {
    pub fn new(database: Arc<dyn ScriptDatabase>, settings: DbSettings) -> Self {
        let policy = SqlPolicy {
            tables: settings.tables.clone(),
            tenant_column: settings.tenant_column.clone(),
        };
        Self {
            database,
            policy,
            settings,
            clock: Arc::new(SystemClock),
        }
    }

    fn dialect(&self) -> SqlDialectKind {
        match self.database.dialect() {
            SqlDialect::Sqlite => SqlDialectKind::Sqlite,
            SqlDialect::Postgres => SqlDialectKind::Postgres,
        }
    }

    fn bounds(&self, deadline: Instant) -> Result<SqlBounds, HostError> {
        let left = deadline.saturating_duration_since(self.clock.instant());
        if left.is_zero() {
            return Err(failure(
                HostErrorCode::Timeout,
                "the execution has no time left for a query",
            ));
        }
        Ok(SqlBounds {
            timeout: self.settings.statement_timeout.min(left),
            max_rows: self.settings.max_rows,
            sizes: self.settings.result_sizes,
        })
    }

    /// `query`, `queryOne` and `execute`: `args` is `[sql, params, tx]`.
    pub async fn statement(
        &self,
        scope: &CallScope,
        method: &str,
        args: &Value,
    ) -> Result<Value, HostError> {
        if self.policy.tables.is_empty() {
            return Err(failure(
                HostErrorCode::UnauthorizedOperation,
                "no tables are available to scripts (the operator lists them in sdk_db.tables)",
            ));
        }
        let sql = args[0]
            .as_str()
            .ok_or_else(|| failure(HostErrorCode::InvalidSql, "the SQL must be a string"))?;
        let params = match &args[1] {
            Value::Array(items) => items.clone(),
            Value::Null => Vec::new(),
            _ => {
                return Err(failure(
                    HostErrorCode::InvalidSql,
                    "the parameters must be an array",
                ));
            }
        };
        let tx = args.get(2).and_then(Value::as_u64);
        let guarded = guard(
            sql,
            self.dialect(),
            &self.policy,
            &scope.tenant_id.to_string(),
        )
        .map_err(|e| failure(e.code, e.message))?;
        if params.len() < guarded.parameter_count {
            return Err(failure(
                HostErrorCode::InvalidSql,
                format!(
                    "the statement uses {} parameters but {} were given",
                    guarded.parameter_count,
                    params.len()
                ),
            ));
        }
        let wants_rows = method != "execute";
        if wants_rows && !guarded.returns_rows {
            return Err(failure(
                HostErrorCode::InvalidSql,
                "this statement returns no rows: use sdk.db.execute",
            ));
        }
        let statement = SqlStatement {
            sql: guarded.sql,
            params: params.into_iter().take(guarded.parameter_count).collect(),
            returns_rows: guarded.returns_rows,
            is_query: guarded.kind == StatementKind::Select,
        };
        let outcome = self
            .database
            .run(
                scope.tenant_id,
                scope.execution_id,
                tx,
                statement,
                self.bounds(scope.deadline)?,
            )
            .await
            .map_err(from_sql)?;
        Ok(match method {
            "execute" => Value::from(outcome.affected),
            "queryOne" => outcome
                .rows
                .into_iter()
                .next()
                .map(Value::Object)
                .unwrap_or(Value::Null),
            _ => Value::Array(outcome.rows.into_iter().map(Value::Object).collect()),
        })
    }

    pub async fn begin(&self, scope: &CallScope) -> Result<Value, HostError> {
        self.database
            .begin(scope.tenant_id, scope.execution_id)
            .await
            .map(Value::from)
            .map_err(from_sql)
    }

    pub async fn finish(
        &self,
        scope: &CallScope,
        commit: bool,
        args: &Value,
    ) -> Result<Value, HostError> {
        let tx = args[0]
            .as_u64()
            .ok_or_else(|| failure(HostErrorCode::TransactionNotFound, "no such transaction"))?;
        let done = if commit {
            self.database.commit(scope.execution_id, tx).await
        } else {
            self.database.rollback(scope.execution_id, tx).await
        };
        done.map(|()| Value::Bool(true)).map_err(from_sql)
    }

    pub async fn release(&self, scope: &CallScope) {
        self.database.release(scope.execution_id).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_of_the_database_port_reaches_the_script_as_itself() {
        let codes = [
            "QUERY_TIMEOUT",
            "ROW_LIMIT",
            "RESULT_TOO_LARGE",
            "CONSTRAINT_VIOLATION",
            "INVALID_SQL",
            "TYPE_MISMATCH",
            "DATABASE_ERROR",
            "DATABASE_BUSY",
            "TRANSACTION_NOT_FOUND",
            "TRANSACTION_EXPIRED",
            "UNAUTHORIZED_OPERATION",
            "UNAVAILABLE",
        ];
        for code in codes {
            let error = from_sql(SqlFailure::new(code, "fixed words"));
            assert_eq!(
                (error.code.as_str(), error.message.as_str()),
                (code, "fixed words")
            );
            assert!(!matches!(error.code, HostErrorCode::Service(_)), "{code}");
        }
        let unknown = from_sql(SqlFailure::new("SOMETHING_NEW", "fixed words"));
        assert_eq!(unknown.code, HostErrorCode::DatabaseError);
    }
}
