//! Rows of `scripts`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "scripts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub description: String,
    pub source: String,
    #[sea_orm(column_name = "type")]
    pub script_type: String,
    pub status: String,
    pub cron_expression: Option<String>,
    pub timezone: Option<String>,
    pub http_path: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub http_methods: Json,
    pub endpoint_auth: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub event_types: Json,
    pub max_execution_time_ms: i64,
    pub max_memory_bytes: i64,
    pub max_concurrent_runs: i64,
    pub max_api_calls_per_minute: i64,
    pub max_output_size_bytes: i64,
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Json,
    /// `{missedRuns, retry, alerts}`; `NULL` for scripts written before options existed.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub options: Option<Json>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub created_by: Option<Uuid>,
    pub updated_at: DateTimeUtc,
    pub updated_by: Option<Uuid>,
    pub last_run_at: Option<DateTimeUtc>,
    pub next_run_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
