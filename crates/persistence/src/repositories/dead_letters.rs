//! `DeadLetterRepository` on sea-orm: failed event deliveries, always by tenant.

use crate::connection::Database;
use crate::entities::dead_letter;
use crate::errors::{corrupt, storage};
use crate::storable::storable;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::jobs::{DeadLetter, DeadLetterFilter, DeadLetterRepository, DeadLetterStatus};
use domain::repository::RepoError;
use domain::{ExecutionId, TenantId};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct SeaDeadLetterRepository {
    database: Database,
}

impl SeaDeadLetterRepository {
    pub fn new(database: Database) -> Self {
        Self { database }
    }
}

fn from_row(row: dead_letter::Model) -> Result<DeadLetter, RepoError> {
    Ok(DeadLetter {
        id: row.id,
        delivery: serde_json::from_value(row.delivery)
            .map_err(|e| corrupt("dead letter delivery", e))?,
        script_version: row.script_version,
        error: serde_json::from_value(row.error).map_err(|e| corrupt("dead letter error", e))?,
        attempts: u32::try_from(row.attempts).unwrap_or_default(),
        last_execution_id: row.last_execution_id.map(ExecutionId),
        status: DeadLetterStatus::parse(&row.status)
            .ok_or_else(|| corrupt("dead letter status", &row.status))?,
        created_at: row.created_at,
        handled_at: row.handled_at,
    })
}

#[async_trait]
impl DeadLetterRepository for SeaDeadLetterRepository {
    /// Stores a delivery's dead letter once: the same delivery failing its last attempt again
    /// (its job run a second time after a crash) finds its letter there and adds none.
    async fn insert(&self, letter: &DeadLetter) -> Result<(), RepoError> {
        let same = dead_letter::Entity::find()
            .filter(dead_letter::Column::TenantId.eq(letter.delivery.tenant_id.0))
            .filter(dead_letter::Column::ScriptId.eq(letter.delivery.script_id.0))
            .filter(dead_letter::Column::EventId.eq(letter.delivery.event_id))
            .filter(
                dead_letter::Column::Attempts
                    .eq(i32::try_from(letter.attempts).unwrap_or(i32::MAX)),
            )
            .all(self.database.connection())
            .await
            .map_err(|e| storage("read dead letters", e))?;
        for row in same {
            if from_row(row)?.delivery.retry_of == letter.delivery.retry_of {
                return Ok(());
            }
        }
        let delivery =
            serde_json::to_value(&letter.delivery).map_err(|e| corrupt("dead letter", e))?;
        let error = serde_json::to_value(&letter.error).map_err(|e| corrupt("dead letter", e))?;
        let row = dead_letter::ActiveModel {
            id: Set(letter.id),
            tenant_id: Set(letter.delivery.tenant_id.0),
            script_id: Set(letter.delivery.script_id.0),
            script_version: Set(letter.script_version),
            event_id: Set(letter.delivery.event_id),
            event_type: Set(letter.delivery.event_type.clone()),
            delivery: Set(storable(&delivery)),
            error: Set(storable(&error)),
            attempts: Set(i32::try_from(letter.attempts).unwrap_or(i32::MAX)),
            last_execution_id: Set(letter.last_execution_id.map(|e| e.0)),
            status: Set(letter.status.as_str().to_owned()),
            created_at: Set(letter.created_at),
            handled_at: Set(letter.handled_at),
        };
        dead_letter::Entity::insert(row)
            .exec(self.database.connection())
            .await
            .map_err(|e| storage("store dead letter", e))?;
        Ok(())
    }

    async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<DeadLetter>, RepoError> {
        dead_letter::Entity::find_by_id(id)
            .filter(dead_letter::Column::TenantId.eq(tenant.0))
            .one(self.database.connection())
            .await
            .map_err(|e| storage("read dead letter", e))?
            .map(from_row)
            .transpose()
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: &DeadLetterFilter,
        limit: u64,
    ) -> Result<Vec<DeadLetter>, RepoError> {
        let mut query =
            dead_letter::Entity::find().filter(dead_letter::Column::TenantId.eq(tenant.0));
        if let Some(script) = filter.script_id {
            query = query.filter(dead_letter::Column::ScriptId.eq(script.0));
        }
        if let Some(event_type) = &filter.event_type {
            query = query.filter(dead_letter::Column::EventType.eq(event_type.clone()));
        }
        if let Some(status) = filter.status {
            query = query.filter(dead_letter::Column::Status.eq(status.as_str()));
        }
        if let Some(from) = filter.from {
            query = query.filter(dead_letter::Column::CreatedAt.gte(from));
        }
        if let Some(to) = filter.to {
            query = query.filter(dead_letter::Column::CreatedAt.lt(to));
        }
        if let Some(cursor) = filter.after {
            query = query.filter(
                Condition::any()
                    .add(dead_letter::Column::CreatedAt.lt(cursor.created_at))
                    .add(
                        Condition::all()
                            .add(dead_letter::Column::CreatedAt.eq(cursor.created_at))
                            .add(dead_letter::Column::Id.lt(cursor.id)),
                    ),
            );
        }
        let rows = query
            .order_by_desc(dead_letter::Column::CreatedAt)
            .order_by_desc(dead_letter::Column::Id)
            .limit(limit)
            .all(self.database.connection())
            .await
            .map_err(|e| storage("list dead letters", e))?;
        rows.into_iter().map(from_row).collect()
    }

    async fn settle(
        &self,
        tenant: TenantId,
        id: Uuid,
        status: DeadLetterStatus,
        at: DateTime<Utc>,
    ) -> Result<bool, RepoError> {
        let settled = dead_letter::Entity::update_many()
            .col_expr(dead_letter::Column::Status, Expr::value(status.as_str()))
            .col_expr(dead_letter::Column::HandledAt, Expr::value(at))
            .filter(dead_letter::Column::Id.eq(id))
            .filter(dead_letter::Column::TenantId.eq(tenant.0))
            .filter(dead_letter::Column::Status.eq(DeadLetterStatus::Pending.as_str()))
            .exec(self.database.connection())
            .await
            .map_err(|e| storage("settle dead letter", e))?;
        Ok(settled.rows_affected == 1)
    }
}
