//! The execution history by keyset: an index over `(tenant_id, created_at, id)`, so that a
//! tenant's newest runs, and each next page after a `(created_at, id)` cursor, are read in
//! index order however long the history is.

use sea_orm_migration::prelude::*;

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "idx_executions_tenant_created_id";

#[derive(DeriveIden)]
enum ScriptExecutions {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(index(
                NAME,
                ScriptExecutions::Table,
                &["tenant_id", "created_at", "id"],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(NAME)
                    .table(ScriptExecutions::Table)
                    .to_owned(),
            )
            .await
    }
}
