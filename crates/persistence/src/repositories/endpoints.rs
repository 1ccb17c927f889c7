//! `EndpointRepository` on sea-orm: the `http` scripts that the in-memory route tables load,
//! and their (id, version) stamps, read by every node about once a second.

use super::script_mapping::script_from_row;
use crate::connection::Database;
use crate::entities::script;
use crate::errors::storage;
use async_trait::async_trait;
use domain::endpoints::{EndpointRepository, EndpointStamp};
use domain::repository::RepoError;
use domain::script::{Script, ScriptType};
use domain::{ScriptId, TenantId};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct SeaEndpointRepository {
    database: Database,
}

impl SeaEndpointRepository {
    pub fn new(database: Database) -> Self {
        Self { database }
    }
}

#[async_trait]
impl EndpointRepository for SeaEndpointRepository {
    async fn http_stamps(&self) -> Result<Vec<EndpointStamp>, RepoError> {
        let rows: Vec<(Uuid, Uuid, i32)> = script::Entity::find()
            .select_only()
            .column(script::Column::TenantId)
            .column(script::Column::Id)
            .column(script::Column::Version)
            .filter(script::Column::ScriptType.eq(ScriptType::Http.as_str()))
            .into_tuple()
            .all(self.database.connection())
            .await
            .map_err(|e| storage("list http script stamps", e))?;
        Ok(rows
            .into_iter()
            .map(|(tenant, id, version)| EndpointStamp {
                tenant_id: TenantId(tenant),
                script_id: ScriptId(id),
                version,
            })
            .collect())
    }

    async fn http_scripts(&self, tenant: TenantId) -> Result<Vec<Script>, RepoError> {
        let rows = script::Entity::find()
            .filter(script::Column::TenantId.eq(tenant.0))
            .filter(script::Column::ScriptType.eq(ScriptType::Http.as_str()))
            .order_by_asc(script::Column::Id)
            .all(self.database.connection())
            .await
            .map_err(|e| storage("list http scripts", e))?;
        rows.into_iter().map(script_from_row).collect()
    }
}
