//! Node leases: each running node's heartbeat, and which node runs each execution, so that
//! only the runs of a node whose lease expired are failed as abandoned, never those of a
//! live one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Nodes {
    Table,
    Id,
    StartedAt,
    HeartbeatAt,
}

#[derive(DeriveIden)]
enum ScriptExecutions {
    Table,
    Node,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Nodes::Table)
                    .col(string_len(Nodes::Id, 64).primary_key())
                    .col(timestamp_with_time_zone(Nodes::StartedAt))
                    .col(timestamp_with_time_zone(Nodes::HeartbeatAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ScriptExecutions::Table)
                    .add_column(string_len_null(ScriptExecutions::Node, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_script_executions_node_status",
                ScriptExecutions::Table,
                &["node", "status"],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Nodes::Table).to_owned())
            .await
    }
}
