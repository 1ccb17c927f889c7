//! Rows of `script_versions`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "script_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub script_id: Uuid,
    pub version: i32,
    pub source: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub config: Json,
    pub created_at: DateTimeUtc,
    pub created_by: Option<Uuid>,
    pub change_summary: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
