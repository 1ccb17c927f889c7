//! Dead letters: event deliveries that failed their last attempt, kept until someone retries
//! or discards them. Replaces the first schema's `dead_letters` table, which nothing wrote to.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::index;
use crate::m20261122_000001_accounts::Tenants;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DeadLetters {
    Table,
    Id,
    TenantId,
    ScriptId,
    ScriptVersion,
    EventId,
    EventType,
    Delivery,
    Error,
    Attempts,
    LastExecutionId,
    Status,
    CreatedAt,
    HandledAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(DeadLetters::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DeadLetters::Table)
                    .col(pk_uuid(DeadLetters::Id))
                    .col(uuid(DeadLetters::TenantId))
                    .col(uuid(DeadLetters::ScriptId))
                    .col(integer(DeadLetters::ScriptVersion))
                    .col(uuid(DeadLetters::EventId))
                    .col(string_len(DeadLetters::EventType, 200))
                    .col(json_binary(DeadLetters::Delivery))
                    .col(json_binary(DeadLetters::Error))
                    .col(integer(DeadLetters::Attempts))
                    .col(uuid_null(DeadLetters::LastExecutionId))
                    .col(string_len(DeadLetters::Status, 16))
                    .col(timestamp_with_time_zone(DeadLetters::CreatedAt))
                    .col(timestamp_with_time_zone_null(DeadLetters::HandledAt))
                    .foreign_key(&mut crate::cascade(
                        "fk_dead_letters_tenant",
                        (DeadLetters::Table, DeadLetters::TenantId),
                        (Tenants::Table, Tenants::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "idx_dead_letters_by_tenant",
                &["tenant_id", "created_at"][..],
            ),
            (
                "idx_dead_letters_by_script",
                &["tenant_id", "script_id", "created_at"][..],
            ),
        ] {
            manager
                .create_index(index(name, DeadLetters::Table, columns, false))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DeadLetters::Table).to_owned())
            .await
    }
}
