//! The script list in index order: an index over `(tenant_id, updated_at, id)` replaces the
//! one over `(tenant_id, updated_at)`, so that a page of a tenant's scripts, newest change
//! first with the id to break ties, is read by walking the index — no sort of every script of
//! the tenant (with its source) for each page.

use sea_orm_migration::prelude::*;

use crate::Replacement;

#[derive(DeriveMigrationName)]
pub struct Migration;

const REPLACEMENT: Replacement = Replacement {
    table: "scripts",
    name: "idx_scripts_tenant_updated_id",
    columns: &["tenant_id", "updated_at", "id"],
    replaced: "idx_scripts_tenant_updated",
    replaced_columns: &["tenant_id", "updated_at"],
};

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        REPLACEMENT.up(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        REPLACEMENT.down(manager).await
    }
}
