//! The ticks of cron schedules, one row per script and scheduled instant: the unique pair is
//! how exactly one node claims a tick, and the row's status carries it through a crash.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::index;
use crate::m20261122_000002_scripts::Scripts;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ScheduleTicks {
    Table,
    Id,
    TenantId,
    ScriptId,
    ScheduledFor,
    Status,
    Node,
    ClaimedAt,
    ExecutionId,
    Detail,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ScheduleTicks::Table)
                    .col(pk_uuid(ScheduleTicks::Id))
                    .col(uuid(ScheduleTicks::TenantId))
                    .col(uuid(ScheduleTicks::ScriptId))
                    .col(timestamp_with_time_zone(ScheduleTicks::ScheduledFor))
                    .col(string_len(ScheduleTicks::Status, 16))
                    .col(string_len(ScheduleTicks::Node, 64))
                    .col(timestamp_with_time_zone(ScheduleTicks::ClaimedAt))
                    .col(uuid_null(ScheduleTicks::ExecutionId))
                    .col(string_len_null(ScheduleTicks::Detail, 200))
                    .foreign_key(&mut crate::cascade(
                        "fk_schedule_ticks_script",
                        (ScheduleTicks::Table, ScheduleTicks::ScriptId),
                        (Scripts::Table, Scripts::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            (
                "idx_schedule_ticks_script_instant",
                &["script_id", "scheduled_for"][..],
                true,
            ),
            (
                "idx_schedule_ticks_status",
                &["status", "claimed_at"][..],
                false,
            ),
        ] {
            manager
                .create_index(index(name, ScheduleTicks::Table, columns, unique))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ScheduleTicks::Table).to_owned())
            .await
    }
}
