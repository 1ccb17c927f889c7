//! Rows of `dead_letters`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "dead_letters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub script_id: Uuid,
    pub script_version: i32,
    pub event_id: Uuid,
    pub event_type: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub delivery: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub error: Json,
    pub attempts: i32,
    pub last_execution_id: Option<Uuid>,
    pub status: String,
    pub created_at: DateTimeUtc,
    pub handled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
