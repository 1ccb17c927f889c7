//! `sdk.db` statements on PostgreSQL: each transaction is scoped to the script's tenant
//! (`iota.tenant_id`), switched to the `iota_script` role that row-level security confines to
//! it, and given a `statement_timeout`; rows are decoded and counted one at a time.

use super::budget::ResultBudget;
use super::failures::{self, from_db_err};
use super::rows::{row_to_json, to_value};
use domain::TenantId;
use domain::script_data::{SqlBounds, SqlFailure, SqlOutcome, SqlStatement};
use futures::TryStreamExt;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement, StreamTrait};
use std::time::Duration;

pub(super) const SCRIPT_ROLE: &str = "iota_script";

/// Scopes a fresh transaction to `tenant`: its setting, the script role when row-level
/// security is set up, and the statement timeout.
pub(super) async fn scope(
    transaction: &DatabaseTransaction,
    tenant: TenantId,
    row_security: bool,
    statement_timeout: Duration,
) -> Result<(), SqlFailure> {
    let set = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT set_config('iota.tenant_id', $1, true)",
        [sea_orm::Value::String(Some(tenant.to_string()))],
    );
    transaction.execute_raw(set).await.map_err(from_db_err)?;
    if row_security {
        transaction
            .execute_unprepared(&format!("SET LOCAL ROLE {SCRIPT_ROLE}"))
            .await
            .map_err(from_db_err)?;
    }
    let timeout_ms = statement_timeout.as_millis().max(1);
    transaction
        .execute_unprepared(&format!("SET LOCAL statement_timeout = {timeout_ms}"))
        .await
        .map_err(from_db_err)?;
    Ok(())
}

/// Runs one statement in `transaction`, within `bounds`.
pub(super) async fn statement(
    transaction: &DatabaseTransaction,
    statement: &SqlStatement,
    bounds: SqlBounds,
) -> Result<SqlOutcome, SqlFailure> {
    let values: Vec<sea_orm::Value> = statement.params.iter().map(to_value).collect();
    let backend = DbBackend::Postgres;
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
            // Rows are decoded and counted one at a time, so a result past its limits stops
            // the read instead of being held whole.
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
