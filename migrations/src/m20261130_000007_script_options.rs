//! Script options and alert state: a script's missed-run policy, retry and alert settings
//! (one JSON column, empty for scripts written before it), and per script the alerting
//! state every node shares (consecutive failures, the throttle window, alerts held back).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::cascade;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Scripts {
    Table,
    Id,
    Options,
}

#[derive(DeriveIden)]
enum ScriptAlerts {
    Table,
    ScriptId,
    TenantId,
    ConsecutiveFailures,
    Alerting,
    LastSentAt,
    HeldBack,
    Revision,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Scripts::Table)
                    .add_column(json_binary_null(Scripts::Options))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ScriptAlerts::Table)
                    .col(uuid(ScriptAlerts::ScriptId).primary_key())
                    .col(uuid(ScriptAlerts::TenantId))
                    .col(big_integer(ScriptAlerts::ConsecutiveFailures))
                    .col(boolean(ScriptAlerts::Alerting))
                    .col(timestamp_with_time_zone_null(ScriptAlerts::LastSentAt))
                    .col(big_integer(ScriptAlerts::HeldBack))
                    .col(big_integer(ScriptAlerts::Revision))
                    .col(timestamp_with_time_zone(ScriptAlerts::UpdatedAt))
                    .foreign_key(&mut cascade(
                        "fk_script_alerts_script",
                        (ScriptAlerts::Table, ScriptAlerts::ScriptId),
                        (Scripts::Table, Scripts::Id),
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ScriptAlerts::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Scripts::Table)
                    .drop_column(Scripts::Options)
                    .to_owned(),
            )
            .await
    }
}
