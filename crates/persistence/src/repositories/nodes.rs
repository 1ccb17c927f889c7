//! `NodeRepository` on sea-orm: each node's lease, renewed by its heartbeat.

use crate::connection::Database;
use crate::entities::node;
use crate::errors::storage;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::repository::{NodeRepository, RepoError};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[derive(Clone, Debug)]
pub struct SeaNodeRepository {
    database: Database,
}

impl SeaNodeRepository {
    pub fn new(database: Database) -> Self {
        Self { database }
    }
}

#[async_trait]
impl NodeRepository for SeaNodeRepository {
    async fn heartbeat(&self, node: &str, at: DateTime<Utc>) -> Result<(), RepoError> {
        let row = node::ActiveModel {
            id: Set(node.to_owned()),
            started_at: Set(at),
            heartbeat_at: Set(at),
        };
        node::Entity::insert(row)
            .on_conflict(
                OnConflict::column(node::Column::Id)
                    .update_column(node::Column::HeartbeatAt)
                    .to_owned(),
            )
            .exec(self.database.connection())
            .await
            .map_err(|e| storage("renew node lease", e))?;
        Ok(())
    }

    async fn leave(&self, node: &str) -> Result<(), RepoError> {
        node::Entity::delete_many()
            .filter(node::Column::Id.eq(node))
            .exec(self.database.connection())
            .await
            .map_err(|e| storage("end node lease", e))?;
        Ok(())
    }

    async fn forget_expired(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
        let gone = node::Entity::delete_many()
            .filter(node::Column::HeartbeatAt.lt(before))
            .exec(self.database.connection())
            .await
            .map_err(|e| storage("forget expired nodes", e))?;
        Ok(gone.rows_affected)
    }
}
