//! `EventOutbox` on sea-orm: published events, durable until dispatched.

use crate::connection::Database;
use crate::entities::event_outbox as row;
use crate::errors::{corrupt, storage};
use async_trait::async_trait;
use domain::event::DomainEvent;
use domain::repository::{EventOutbox, RepoError};
use domain::script::EventType;
use domain::{ScriptId, TenantId};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

#[derive(Clone, Debug)]
pub struct SeaEventOutbox {
    database: Database,
}

impl SeaEventOutbox {
    pub fn new(database: Database) -> Self {
        Self { database }
    }
}

#[async_trait]
impl EventOutbox for SeaEventOutbox {
    async fn append(&self, event: &DomainEvent) -> Result<(), RepoError> {
        let model = row::ActiveModel {
            id: Set(event.event_id),
            tenant_id: Set(event.tenant_id.0),
            event_type: Set(event.event_type.as_str().to_owned()),
            payload: Set(crate::storable::storable(&event.payload)),
            source_script_id: Set(event.source_script_id.map(|s| s.0)),
            depth: Set(i32::try_from(event.depth).unwrap_or(i32::MAX)),
            created_at: Set(event.timestamp),
            dispatched_at: Set(None),
        };
        row::Entity::insert(model)
            .exec(self.database.connection())
            .await
            .map_err(|e| storage("append event", e))?;
        Ok(())
    }

    async fn list_for_tenant(
        &self,
        tenant: TenantId,
        limit: u64,
    ) -> Result<Vec<DomainEvent>, RepoError> {
        let rows = row::Entity::find()
            .filter(row::Column::TenantId.eq(tenant.0))
            .order_by_asc(row::Column::CreatedAt)
            .order_by_asc(row::Column::Id)
            .limit(limit)
            .all(self.database.connection())
            .await
            .map_err(|e| storage("list events", e))?;
        from_rows(rows)
    }

    async fn pending(&self, limit: u64) -> Result<Vec<DomainEvent>, RepoError> {
        let rows = row::Entity::find()
            .filter(row::Column::DispatchedAt.is_null())
            .order_by_asc(row::Column::CreatedAt)
            .order_by_asc(row::Column::Id)
            .limit(limit)
            .all(self.database.connection())
            .await
            .map_err(|e| storage("list pending events", e))?;
        from_rows(rows)
    }

    async fn mark_dispatched(
        &self,
        event: uuid::Uuid,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), RepoError> {
        row::Entity::update_many()
            .col_expr(
                row::Column::DispatchedAt,
                sea_orm::sea_query::Expr::value(at),
            )
            .filter(row::Column::Id.eq(event))
            .exec(self.database.connection())
            .await
            .map_err(|e| storage("mark event dispatched", e))?;
        Ok(())
    }
}

fn from_rows(rows: Vec<row::Model>) -> Result<Vec<DomainEvent>, RepoError> {
    rows.into_iter()
        .map(|r| {
            Ok(DomainEvent {
                event_id: r.id,
                tenant_id: TenantId(r.tenant_id),
                event_type: EventType::parse(&r.event_type)
                    .map_err(|e| corrupt("event type", e))?,
                payload: r.payload,
                timestamp: r.created_at,
                source_script_id: r.source_script_id.map(ScriptId),
                depth: u32::try_from(r.depth).unwrap_or(0),
            })
        })
        .collect()
}
