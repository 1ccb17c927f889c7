//! The script list in index order: an index over `(tenant_id, updated_at, id)` replaces the
//! one over `(tenant_id, updated_at)`, so that a page of a tenant's scripts, newest change
//! first with the id to break ties, is read by walking the index — no sort of every script of
//! the tenant (with its source) for each page.

use sea_orm_migration::prelude::*;

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "idx_scripts_tenant_updated_id";
const REPLACED: &str = "idx_scripts_tenant_updated";

#[derive(DeriveIden)]
enum Scripts {
    Table,
}

async fn drop(manager: &SchemaManager<'_>, name: &str) -> Result<(), DbErr> {
    manager
        .drop_index(Index::drop().name(name).table(Scripts::Table).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(index(
                NAME,
                Scripts::Table,
                &["tenant_id", "updated_at", "id"],
                false,
            ))
            .await?;
        drop(manager, REPLACED).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(index(
                REPLACED,
                Scripts::Table,
                &["tenant_id", "updated_at"],
                false,
            ))
            .await?;
        drop(manager, NAME).await
    }
}
