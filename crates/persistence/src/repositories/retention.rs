//! `RetentionRepository` on sea-orm: old history deleted by primary key in batches of a
//! bounded size (`DELETE … WHERE id IN (SELECT id … LIMIT n)`), so that each statement is
//! short and locks little.

use crate::connection::Database;
use crate::entities::{schedule_tick, script_execution};
use crate::errors::storage;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::repository::RepoError;
use domain::retention::{RetentionRepository, Scope};
use domain::schedule::TickStatus;
use sea_orm::sea_query::{Condition, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[derive(Clone, Debug)]
pub struct SeaRetentionRepository {
    database: Database,
}

impl SeaRetentionRepository {
    pub fn new(database: Database) -> Self {
        Self { database }
    }
}

/// The rows of `scope`, by their `tenant_id` column.
fn in_scope(column: impl ColumnTrait, scope: &Scope) -> Condition {
    match scope {
        Scope::Tenant(tenant) => Condition::all().add(column.eq(tenant.0)),
        Scope::AllBut(others) if others.is_empty() => Condition::all(),
        Scope::AllBut(others) => Condition::all().add(column.is_not_in(others.iter().map(|t| t.0))),
    }
}

#[async_trait]
impl RetentionRepository for SeaRetentionRepository {
    async fn prune_executions(
        &self,
        scope: &Scope,
        before: DateTime<Utc>,
        limit: u64,
    ) -> Result<u64, RepoError> {
        use script_execution::Column;
        let batch = Query::select()
            .column(Column::Id)
            .from(script_execution::Entity)
            .and_where(Column::CreatedAt.lt(before))
            .and_where(Column::Status.is_not_in(["pending", "running"]))
            .cond_where(in_scope(Column::TenantId, scope))
            .limit(limit)
            .to_owned();
        let deleted = script_execution::Entity::delete_many()
            .filter(Column::Id.in_subquery(batch))
            .exec(self.database.connection())
            .await
            .map_err(|e| storage("prune executions", e))?;
        Ok(deleted.rows_affected)
    }

    async fn prune_ticks(
        &self,
        scope: &Scope,
        before: DateTime<Utc>,
        limit: u64,
    ) -> Result<u64, RepoError> {
        use schedule_tick::Column;
        let settled = [
            TickStatus::Started,
            TickStatus::SkippedOverlap,
            TickStatus::SkippedMissed,
        ]
        .map(TickStatus::as_str);
        let batch = Query::select()
            .column(Column::Id)
            .from(schedule_tick::Entity)
            .and_where(Column::Status.is_in(settled))
            .and_where(Column::ClaimedAt.lt(before))
            .cond_where(in_scope(Column::TenantId, scope))
            .limit(limit)
            .to_owned();
        let deleted = schedule_tick::Entity::delete_many()
            .filter(Column::Id.in_subquery(batch))
            .exec(self.database.connection())
            .await
            .map_err(|e| storage("prune cron ticks", e))?;
        Ok(deleted.rows_affected)
    }
}
