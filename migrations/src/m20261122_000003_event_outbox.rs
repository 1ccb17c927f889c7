//! The outbox of published domain events, kept until they are dispatched.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::index;
use crate::m20261122_000001_accounts::Tenants;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EventOutbox {
    Table,
    Id,
    TenantId,
    EventType,
    Payload,
    SourceScriptId,
    Depth,
    CreatedAt,
    DispatchedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EventOutbox::Table)
                    .col(pk_uuid(EventOutbox::Id))
                    .col(uuid(EventOutbox::TenantId))
                    .col(string_len(EventOutbox::EventType, 200))
                    .col(json_binary(EventOutbox::Payload))
                    .col(uuid_null(EventOutbox::SourceScriptId))
                    .col(integer(EventOutbox::Depth))
                    .col(timestamp_with_time_zone(EventOutbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(EventOutbox::DispatchedAt))
                    .foreign_key(&mut crate::cascade(
                        "fk_event_outbox_tenant",
                        (EventOutbox::Table, EventOutbox::TenantId),
                        (Tenants::Table, Tenants::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "idx_event_outbox_pending",
                &["dispatched_at", "created_at"][..],
            ),
            (
                "idx_event_outbox_tenant_created",
                &["tenant_id", "created_at"][..],
            ),
        ] {
            manager
                .create_index(index(name, EventOutbox::Table, columns, false))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EventOutbox::Table).to_owned())
            .await
    }
}
