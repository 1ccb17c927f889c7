//! Scripts, their HTTP routes and immutable versions, executions and dead letters.
//!
//! On PostgreSQL, a generated `search` column with a GIN index serves full-text search over
//! name and description; SQLite matches words with `LIKE`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20261122_000001_accounts::Tenants;
use crate::{cascade, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Scripts {
    Table,
    Id,
    TenantId,
    Name,
    Description,
    Source,
    Type,
    Status,
    CronExpression,
    Timezone,
    HttpPath,
    HttpMethods,
    EndpointAuth,
    EventTypes,
    MaxExecutionTimeMs,
    MaxMemoryBytes,
    MaxConcurrentRuns,
    MaxApiCallsPerMinute,
    MaxOutputSizeBytes,
    Metadata,
    Version,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    LastRunAt,
    NextRunAt,
}

#[derive(DeriveIden)]
enum ScriptHttpRoutes {
    Table,
    TenantId,
    Method,
    RouteKey,
    Path,
    ScriptId,
}

#[derive(DeriveIden)]
enum ScriptVersions {
    Table,
    Id,
    TenantId,
    ScriptId,
    Version,
    Source,
    Config,
    CreatedAt,
    CreatedBy,
    ChangeSummary,
}

#[derive(DeriveIden)]
enum ScriptExecutions {
    Table,
    Id,
    TenantId,
    ScriptId,
    ScriptVersion,
    Status,
    Trigger,
    Input,
    Output,
    Error,
    Logs,
    CreatedAt,
    StartedAt,
    CompletedAt,
    DurationMs,
    MemoryBytes,
    Attempt,
}

#[derive(DeriveIden)]
enum DeadLetters {
    Table,
    Id,
    TenantId,
    ScriptId,
    ExecutionId,
    EventId,
    EventType,
    Payload,
    Error,
    Attempts,
    CreatedAt,
    RetriedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Scripts::Table)
                    .col(pk_uuid(Scripts::Id))
                    .col(uuid(Scripts::TenantId))
                    .col(string_len(Scripts::Name, 100))
                    .col(text(Scripts::Description))
                    .col(text(Scripts::Source))
                    .col(string_len(Scripts::Type, 16))
                    .col(string_len(Scripts::Status, 16))
                    .col(string_len_null(Scripts::CronExpression, 200))
                    .col(string_len_null(Scripts::Timezone, 64))
                    .col(string_len_null(Scripts::HttpPath, 200))
                    .col(json_binary(Scripts::HttpMethods))
                    .col(string_len_null(Scripts::EndpointAuth, 16))
                    .col(json_binary(Scripts::EventTypes))
                    .col(big_integer(Scripts::MaxExecutionTimeMs))
                    .col(big_integer(Scripts::MaxMemoryBytes))
                    .col(big_integer(Scripts::MaxConcurrentRuns))
                    .col(big_integer(Scripts::MaxApiCallsPerMinute))
                    .col(big_integer(Scripts::MaxOutputSizeBytes))
                    .col(json_binary(Scripts::Metadata))
                    .col(integer(Scripts::Version))
                    .col(timestamp_with_time_zone(Scripts::CreatedAt))
                    .col(uuid_null(Scripts::CreatedBy))
                    .col(timestamp_with_time_zone(Scripts::UpdatedAt))
                    .col(uuid_null(Scripts::UpdatedBy))
                    .col(timestamp_with_time_zone_null(Scripts::LastRunAt))
                    .col(timestamp_with_time_zone_null(Scripts::NextRunAt))
                    .foreign_key(&mut cascade(
                        "fk_scripts_tenant",
                        (Scripts::Table, Scripts::TenantId),
                        (Tenants::Table, Tenants::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            ("ux_scripts_tenant_name", &["tenant_id", "name"][..], true),
            (
                "idx_scripts_tenant_updated",
                &["tenant_id", "updated_at"][..],
                false,
            ),
            ("idx_scripts_tenant_type", &["tenant_id", "type"][..], false),
            (
                "idx_scripts_tenant_status",
                &["tenant_id", "status"][..],
                false,
            ),
            ("idx_scripts_next_run", &["next_run_at"][..], false),
        ] {
            manager
                .create_index(index(name, Scripts::Table, columns, unique))
                .await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            let connection = manager.get_connection();
            connection
                .execute_unprepared(
                    "ALTER TABLE scripts ADD COLUMN search tsvector GENERATED ALWAYS AS \
                     (to_tsvector('simple', name || ' ' || description)) STORED",
                )
                .await?;
            connection
                .execute_unprepared("CREATE INDEX idx_scripts_search ON scripts USING GIN (search)")
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(ScriptHttpRoutes::Table)
                    .col(uuid(ScriptHttpRoutes::TenantId))
                    .col(string_len(ScriptHttpRoutes::Method, 8))
                    .col(string_len(ScriptHttpRoutes::RouteKey, 200))
                    .col(string_len(ScriptHttpRoutes::Path, 200))
                    .col(uuid(ScriptHttpRoutes::ScriptId))
                    .primary_key(
                        Index::create()
                            .col(ScriptHttpRoutes::TenantId)
                            .col(ScriptHttpRoutes::Method)
                            .col(ScriptHttpRoutes::RouteKey),
                    )
                    .foreign_key(&mut cascade(
                        "fk_script_http_routes_script",
                        (ScriptHttpRoutes::Table, ScriptHttpRoutes::ScriptId),
                        (Scripts::Table, Scripts::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_script_http_routes_script",
                ScriptHttpRoutes::Table,
                &["script_id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ScriptVersions::Table)
                    .col(pk_uuid(ScriptVersions::Id))
                    .col(uuid(ScriptVersions::TenantId))
                    .col(uuid(ScriptVersions::ScriptId))
                    .col(integer(ScriptVersions::Version))
                    .col(text(ScriptVersions::Source))
                    .col(json_binary(ScriptVersions::Config))
                    .col(timestamp_with_time_zone(ScriptVersions::CreatedAt))
                    .col(uuid_null(ScriptVersions::CreatedBy))
                    .col(text(ScriptVersions::ChangeSummary))
                    .foreign_key(&mut cascade(
                        "fk_script_versions_script",
                        (ScriptVersions::Table, ScriptVersions::ScriptId),
                        (Scripts::Table, Scripts::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ux_script_versions_script_version",
                ScriptVersions::Table,
                &["script_id", "version"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ScriptExecutions::Table)
                    .col(pk_uuid(ScriptExecutions::Id))
                    .col(uuid(ScriptExecutions::TenantId))
                    .col(uuid(ScriptExecutions::ScriptId))
                    .col(integer(ScriptExecutions::ScriptVersion))
                    .col(string_len(ScriptExecutions::Status, 16))
                    .col(json_binary(ScriptExecutions::Trigger))
                    .col(json_binary(ScriptExecutions::Input))
                    .col(json_binary_null(ScriptExecutions::Output))
                    .col(json_binary_null(ScriptExecutions::Error))
                    .col(json_binary(ScriptExecutions::Logs))
                    .col(timestamp_with_time_zone(ScriptExecutions::CreatedAt))
                    .col(timestamp_with_time_zone_null(ScriptExecutions::StartedAt))
                    .col(timestamp_with_time_zone_null(ScriptExecutions::CompletedAt))
                    .col(big_integer_null(ScriptExecutions::DurationMs))
                    .col(big_integer_null(ScriptExecutions::MemoryBytes))
                    .col(integer(ScriptExecutions::Attempt))
                    .foreign_key(&mut cascade(
                        "fk_script_executions_script",
                        (ScriptExecutions::Table, ScriptExecutions::ScriptId),
                        (Scripts::Table, Scripts::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "idx_executions_tenant_script_created",
                &["tenant_id", "script_id", "created_at"][..],
            ),
            ("idx_executions_tenant_status", &["tenant_id", "status"][..]),
            ("idx_executions_status", &["status"][..]),
            ("idx_executions_created", &["created_at"][..]),
        ] {
            manager
                .create_index(index(name, ScriptExecutions::Table, columns, false))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(DeadLetters::Table)
                    .col(pk_uuid(DeadLetters::Id))
                    .col(uuid(DeadLetters::TenantId))
                    .col(uuid(DeadLetters::ScriptId))
                    .col(uuid_null(DeadLetters::ExecutionId))
                    .col(string_len(DeadLetters::EventId, 64))
                    .col(string_len(DeadLetters::EventType, 200))
                    .col(json_binary(DeadLetters::Payload))
                    .col(json_binary(DeadLetters::Error))
                    .col(integer(DeadLetters::Attempts))
                    .col(timestamp_with_time_zone(DeadLetters::CreatedAt))
                    .col(timestamp_with_time_zone_null(DeadLetters::RetriedAt))
                    .foreign_key(&mut cascade(
                        "fk_dead_letters_script",
                        (DeadLetters::Table, DeadLetters::ScriptId),
                        (Scripts::Table, Scripts::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_dead_letters_tenant_created",
                DeadLetters::Table,
                &["tenant_id", "created_at"],
                false,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DeadLetters::Table.into_iden(),
            ScriptExecutions::Table.into_iden(),
            ScriptVersions::Table.into_iden(),
            ScriptHttpRoutes::Table.into_iden(),
            Scripts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
