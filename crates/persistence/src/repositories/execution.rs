//! `ExecutionRepository` on sea-orm: the history of runs, always by tenant.

use crate::connection::Database;
use crate::entities::script_execution as row;
use crate::errors::{corrupt, storage};
use crate::paging::fetch_page;
use crate::storable::storable;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::execution::{Execution, ExecutionError, ExecutionStatus};
use domain::paging::{ExecutionFilter, HistoryCursor, Page, PageRequest};
use domain::repository::{ExecutionRepository, RepoError};
use domain::{ExecutionId, ScriptId, TenantId};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};
use serde_json::Value;

#[derive(Clone, Debug)]
pub struct SeaExecutionRepository {
    database: Database,
    node: Option<String>,
}

impl SeaExecutionRepository {
    pub fn new(database: Database) -> Self {
        Self {
            database,
            node: None,
        }
    }

    /// Records `node` as the runner of the executions it inserts.
    pub fn with_node(mut self, node: String) -> Self {
        self.node = Some(node);
        self
    }
}

impl SeaExecutionRepository {
    /// Applies `change` to execution `id` if it is `running` on this node; whether it was.
    async fn settle_lost(
        &self,
        change: sea_orm::UpdateMany<row::Entity>,
        tenant: TenantId,
        id: ExecutionId,
        what: &str,
    ) -> Result<bool, RepoError> {
        let Some(node) = &self.node else {
            return Ok(false);
        };
        let result = change
            .filter(row::Column::Id.eq(id.0))
            .filter(row::Column::TenantId.eq(tenant.0))
            .filter(row::Column::Status.eq(ExecutionStatus::Running.as_str()))
            .filter(row::Column::Node.eq(node.as_str()))
            .exec(self.database.connection())
            .await
            .map_err(|e| storage(what, e))?;
        Ok(result.rows_affected == 1)
    }
}

const UNFINISHED: [&str; 2] = ["pending", "running"];

/// A value as storable JSON (U+0000 in its text stored as U+FFFD; see `storable`).
fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value)
        .map(|v| storable(&v))
        .unwrap_or(Value::Null)
}

pub(crate) fn to_active(execution: &Execution) -> row::ActiveModel {
    row::ActiveModel {
        id: Set(execution.id.0),
        tenant_id: Set(execution.tenant_id.0),
        script_id: Set(execution.script_id.0),
        script_version: Set(execution.script_version),
        status: Set(execution.status.as_str().to_owned()),
        trigger: Set(to_json(&execution.trigger)),
        input: Set(storable(&execution.input)),
        output: Set(execution.output.as_ref().map(storable)),
        error: Set(execution.error.as_ref().map(to_json)),
        logs: Set(to_json(&execution.logs)),
        created_at: Set(execution.created_at),
        started_at: Set(execution.started_at),
        completed_at: Set(execution.completed_at),
        duration_ms: Set(execution.duration_ms),
        memory_bytes: Set(execution.memory_bytes),
        attempt: Set(execution.attempt),
        node: sea_orm::ActiveValue::NotSet,
    }
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, value: Value) -> Result<T, RepoError> {
    serde_json::from_value(value).map_err(|e| corrupt(what, e))
}

fn from_row(model: row::Model) -> Result<Execution, RepoError> {
    Ok(Execution {
        id: ExecutionId(model.id),
        tenant_id: TenantId(model.tenant_id),
        script_id: ScriptId(model.script_id),
        script_version: model.script_version,
        status: model
            .status
            .parse()
            .map_err(|e| corrupt("execution status", e))?,
        trigger: parse("execution trigger", model.trigger)?,
        input: model.input,
        output: model.output,
        error: model
            .error
            .map(|e| parse("execution error", e))
            .transpose()?,
        logs: parse("execution logs", model.logs)?,
        created_at: model.created_at,
        started_at: model.started_at,
        completed_at: model.completed_at,
        duration_ms: model.duration_ms,
        memory_bytes: model.memory_bytes,
        attempt: model.attempt,
    })
}

#[async_trait]
impl ExecutionRepository for SeaExecutionRepository {
    async fn has_unfinished(&self, tenant: TenantId, script: ScriptId) -> Result<bool, RepoError> {
        let found = row::Entity::find()
            .select_only()
            .column(row::Column::Id)
            .filter(row::Column::TenantId.eq(tenant.0))
            .filter(row::Column::ScriptId.eq(script.0))
            .filter(row::Column::Status.is_in(UNFINISHED))
            .limit(1)
            .into_tuple::<uuid::Uuid>()
            .one(self.database.connection())
            .await
            .map_err(|e| storage("look for unfinished executions", e))?;
        Ok(found.is_some())
    }

    async fn unfinished_among(
        &self,
        scripts: &[(TenantId, ScriptId)],
    ) -> Result<std::collections::HashSet<ScriptId>, RepoError> {
        let mut found = std::collections::HashSet::new();
        // Ids are unique across tenants; the pair is checked again on the rows found.
        for chunk in scripts.chunks(500) {
            let rows = row::Entity::find()
                .select_only()
                .column(row::Column::TenantId)
                .column(row::Column::ScriptId)
                .distinct()
                .filter(row::Column::Status.is_in(UNFINISHED))
                .filter(row::Column::ScriptId.is_in(chunk.iter().map(|(_, s)| s.0)))
                .into_tuple::<(uuid::Uuid, uuid::Uuid)>()
                .all(self.database.connection())
                .await
                .map_err(|e| storage("look for unfinished executions", e))?;
            found.extend(
                rows.into_iter()
                    .filter(|(tenant, script)| {
                        chunk.contains(&(TenantId(*tenant), ScriptId(*script)))
                    })
                    .map(|(_, script)| ScriptId(script)),
            );
        }
        Ok(found)
    }

    async fn insert(&self, execution: &Execution) -> Result<(), RepoError> {
        let mut active = to_active(execution);
        active.node = Set(self.node.clone());
        row::Entity::insert(active)
            .exec(self.database.connection())
            .await
            .map_err(|e| storage("insert execution", e))?;
        Ok(())
    }

    /// One transaction of multi-row inserts (25 rows a statement: larger ones plan slowly on
    /// PostgreSQL).
    async fn insert_many(&self, executions: &[Execution]) -> Result<(), RepoError> {
        let rows: Vec<row::ActiveModel> = executions
            .iter()
            .map(|execution| {
                let mut active = to_active(execution);
                active.node = Set(self.node.clone());
                active
            })
            .collect();
        let transaction = self
            .database
            .connection()
            .begin()
            .await
            .map_err(|e| storage("begin execution records", e))?;
        for chunk in rows.chunks(25) {
            row::Entity::insert_many(chunk.to_vec())
                .exec(&transaction)
                .await
                .map_err(|e| storage("insert execution records", e))?;
        }
        transaction
            .commit()
            .await
            .map_err(|e| storage("commit execution records", e))
    }

    async fn update(&self, execution: &Execution) -> Result<(), RepoError> {
        let mut active = to_active(execution);
        active.id = sea_orm::ActiveValue::Unchanged(execution.id.0);
        if execution.status == ExecutionStatus::Running {
            // A queued run is started by whichever node took its job.
            active.node = Set(self.node.clone());
        }
        // Starting is a compare-and-set from `pending`: of two nodes that take the same queued
        // run (a redelivered job, or the scheduler's own start racing its job), one starts it.
        let from: &[&str] = if execution.status == ExecutionStatus::Running {
            &[ExecutionStatus::Pending.as_str()]
        } else {
            &UNFINISHED
        };
        let result = row::Entity::update_many()
            .set(active)
            .filter(row::Column::Id.eq(execution.id.0))
            .filter(row::Column::TenantId.eq(execution.tenant_id.0))
            .filter(row::Column::Status.is_in(from.iter().copied()))
            .exec(self.database.connection())
            .await
            .map_err(|e| storage("update execution", e))?;
        if result.rows_affected == 1 {
            Ok(())
        } else {
            Err(RepoError::Stale)
        }
    }

    async fn get(&self, tenant: TenantId, id: ExecutionId) -> Result<Option<Execution>, RepoError> {
        let model = row::Entity::find_by_id(id.0)
            .filter(row::Column::TenantId.eq(tenant.0))
            .one(self.database.connection())
            .await
            .map_err(|e| storage("get execution", e))?;
        model.map(from_row).transpose()
    }

    async fn list_for_script(
        &self,
        tenant: TenantId,
        script: ScriptId,
        status: Option<ExecutionStatus>,
        page: PageRequest,
    ) -> Result<Page<Execution>, RepoError> {
        let connection = self.database.connection();
        let mut query = row::Entity::find()
            .filter(row::Column::TenantId.eq(tenant.0))
            .filter(row::Column::ScriptId.eq(script.0));
        if let Some(status) = status {
            query = query.filter(row::Column::Status.eq(status.as_str()));
        }
        let ordered = query
            .order_by_desc(row::Column::CreatedAt)
            .order_by_desc(row::Column::Id);
        fetch_page(ordered, page, connection, "executions", from_row).await
    }

    async fn history(
        &self,
        tenant: TenantId,
        filter: &ExecutionFilter,
        after: Option<HistoryCursor>,
        limit: u64,
    ) -> Result<Vec<Execution>, RepoError> {
        let connection = self.database.connection();
        super::execution_history::history(connection, tenant, filter, after, limit)
            .await?
            .into_iter()
            .map(from_row)
            .collect()
    }

    async fn latest_of(
        &self,
        tenant: TenantId,
        scripts: &[ScriptId],
    ) -> Result<Vec<Execution>, RepoError> {
        let connection = self.database.connection();
        super::execution_history::latest_of(connection, tenant, scripts)
            .await?
            .into_iter()
            .map(from_row)
            .collect()
    }

    async fn fail_orphaned(
        &self,
        error: &ExecutionError,
        at: DateTime<Utc>,
        live_since: DateTime<Utc>,
    ) -> Result<u64, RepoError> {
        let live = sea_orm::sea_query::Query::select()
            .column(crate::entities::node::Column::Id)
            .from(crate::entities::node::Entity)
            .and_where(crate::entities::node::Column::HeartbeatAt.gte(live_since))
            .to_owned();
        let orphaned = sea_orm::Condition::any()
            .add(row::Column::Node.is_null())
            .add(row::Column::Node.not_in_subquery(live));
        let result = row::Entity::update_many()
            .col_expr(
                row::Column::Status,
                Expr::value(ExecutionStatus::Failed.as_str()),
            )
            .col_expr(row::Column::Error, Expr::value(to_json(error)))
            .col_expr(row::Column::CompletedAt, Expr::value(at))
            // Only runs: a pending execution is a queued one, owned by the job queue.
            .filter(row::Column::Status.eq(ExecutionStatus::Running.as_str()))
            .filter(orphaned)
            .exec(self.database.connection())
            .await
            .map_err(|e| storage("fail orphaned executions", e))?;
        Ok(result.rows_affected)
    }

    async fn requeue_lost(&self, tenant: TenantId, id: ExecutionId) -> Result<bool, RepoError> {
        let pending = row::Entity::update_many()
            .col_expr(
                row::Column::Status,
                Expr::value(ExecutionStatus::Pending.as_str()),
            )
            .col_expr(row::Column::StartedAt, Expr::value(None::<DateTime<Utc>>))
            .col_expr(row::Column::Node, Expr::value(None::<String>));
        self.settle_lost(pending, tenant, id, "requeue a lost start")
            .await
    }

    async fn fail_lost(
        &self,
        tenant: TenantId,
        id: ExecutionId,
        error: &ExecutionError,
        at: DateTime<Utc>,
    ) -> Result<bool, RepoError> {
        let failed = row::Entity::update_many()
            .col_expr(
                row::Column::Status,
                Expr::value(ExecutionStatus::Failed.as_str()),
            )
            .col_expr(row::Column::Error, Expr::value(to_json(error)))
            .col_expr(row::Column::CompletedAt, Expr::value(at));
        self.settle_lost(failed, tenant, id, "fail a lost start")
            .await
    }

    async fn cancelled_on(
        &self,
        node: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<ExecutionId>, RepoError> {
        let rows = row::Entity::find()
            .filter(row::Column::Node.eq(node))
            .filter(row::Column::Status.eq(ExecutionStatus::Cancelled.as_str()))
            .filter(row::Column::CompletedAt.gte(since))
            .all(self.database.connection())
            .await
            .map_err(|e| storage("find cancelled executions", e))?;
        Ok(rows.into_iter().map(|r| ExecutionId(r.id)).collect())
    }
}
