//! A script's runs in index order: an index over `(tenant_id, script_id, created_at, id)`
//! replaces the one over `(tenant_id, script_id, created_at)`. A script's history page and its
//! last run are asked newest first with the id to break ties; with the id missing from the
//! script's index, SQLite preferred the tenant's `(tenant_id, created_at, id)` index, whose
//! order matches, and walked the tenant's whole history looking for one script's runs.

use sea_orm_migration::prelude::*;

use crate::Replacement;

#[derive(DeriveMigrationName)]
pub struct Migration;

const REPLACEMENT: Replacement = Replacement {
    table: "script_executions",
    name: "idx_executions_tenant_script_created_id",
    columns: &["tenant_id", "script_id", "created_at", "id"],
    replaced: "idx_executions_tenant_script_created",
    replaced_columns: &["tenant_id", "script_id", "created_at"],
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
