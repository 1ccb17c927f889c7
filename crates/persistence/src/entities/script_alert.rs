//! Rows of `script_alerts`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "script_alerts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub script_id: Uuid,
    pub tenant_id: Uuid,
    pub consecutive_failures: i64,
    pub alerting: bool,
    pub last_sent_at: Option<DateTimeUtc>,
    pub held_back: i64,
    pub revision: i64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
