//! What is waiting, for the metrics: jobs in the durable queue (apalis' own table, by
//! backend) and dead letters nobody retried or discarded yet.

use crate::connection::{Backend, Database};
use crate::entities::dead_letter;
use crate::errors::storage;
use domain::repository::RepoError;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Statement};

/// Jobs waiting to run (or to be retried) and pending dead letters, across tenants.
pub async fn backlog(database: &Database) -> Result<(u64, u64), RepoError> {
    let connection = database.connection();
    let jobs_table = match database.backend() {
        Backend::Sqlite => "Jobs",
        Backend::Postgres => "apalis.jobs",
    };
    let sql = format!(
        "SELECT COUNT(*) AS waiting FROM {jobs_table} \
         WHERE status = 'Pending' OR (status = 'Failed' AND attempts < max_attempts)"
    );
    let row = connection
        .query_one_raw(Statement::from_string(
            connection.get_database_backend(),
            sql,
        ))
        .await
        .map_err(|e| storage("count queued jobs", e))?;
    let jobs: i64 = match row {
        Some(row) => row
            .try_get("", "waiting")
            .map_err(|e| storage("read queued jobs", e))?,
        None => 0,
    };
    let dead_letters = dead_letter::Entity::find()
        .filter(dead_letter::Column::Status.eq("pending"))
        .count(connection)
        .await
        .map_err(|e| storage("count dead letters", e))?;
    Ok((u64::try_from(jobs).unwrap_or(0), dead_letters))
}
