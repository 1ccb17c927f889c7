//! `ScriptRepository` on sea-orm: scripts, their versions and HTTP routes, always by tenant.

use super::script_mapping::{
    script_from_row, script_to_active, version_from_row, version_to_active,
};
use super::script_search;
use crate::connection::Database;
use crate::entities::{script, script_http_route, script_version};
use crate::errors::{storage, unique_violation};
use crate::paging::fetch_page;
use async_trait::async_trait;
use domain::paging::{Page, PageRequest, ScriptFilter};
use domain::repository::{RepoError, ScriptRepository};
use domain::script::{Script, ScriptVersion};
use domain::{ScriptId, TenantId};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};

#[derive(Clone, Debug)]
pub struct SeaScriptRepository {
    database: Database,
}

impl SeaScriptRepository {
    pub fn new(database: Database) -> Self {
        Self { database }
    }
}

const NAME_MARKERS: &[&str] = &["ux_scripts_tenant_name", "scripts.name"];
const ROUTE_MARKERS: &[&str] = &["script_http_routes"];

fn duplicate_name(script: &Script) -> RepoError {
    RepoError::DuplicateName(script.spec.name.as_str().to_owned())
}

/// Replaces the script's routes; a route another script of the tenant serves is a conflict.
async fn write_routes(transaction: &DatabaseTransaction, script: &Script) -> Result<(), RepoError> {
    script_http_route::Entity::delete_many()
        .filter(script_http_route::Column::ScriptId.eq(script.id.0))
        .exec(transaction)
        .await
        .map_err(|e| storage("delete script routes", e))?;
    let Some(endpoint) = script.spec.http() else {
        return Ok(());
    };
    let key = endpoint.path.route_key();
    for method in &endpoint.methods {
        let taken = script_http_route::Entity::find()
            .filter(script_http_route::Column::TenantId.eq(script.tenant_id.0))
            .filter(script_http_route::Column::Method.eq(method.as_str()))
            .filter(script_http_route::Column::RouteKey.eq(key.clone()))
            .one(transaction)
            .await
            .map_err(|e| storage("check script routes", e))?;
        let conflict = |path: String| RepoError::DuplicateRoute {
            method: method.as_str().to_owned(),
            path,
        };
        if let Some(existing) = taken {
            return Err(conflict(existing.path));
        }
        let route = script_http_route::ActiveModel {
            tenant_id: Set(script.tenant_id.0),
            method: Set(method.as_str().to_owned()),
            route_key: Set(key.clone()),
            path: Set(endpoint.path.as_str().to_owned()),
            script_id: Set(script.id.0),
        };
        script_http_route::Entity::insert(route)
            .exec(transaction)
            .await
            .map_err(|e| {
                if unique_violation(&e, ROUTE_MARKERS) {
                    conflict(endpoint.path.as_str().to_owned())
                } else {
                    storage("insert script route", e)
                }
            })?;
    }
    Ok(())
}

async fn insert_version(
    transaction: &DatabaseTransaction,
    version: &ScriptVersion,
) -> Result<(), RepoError> {
    script_version::Entity::insert(version_to_active(version))
        .exec(transaction)
        .await
        .map_err(|e| {
            if unique_violation(&e, &["script_versions"]) {
                RepoError::Stale
            } else {
                storage("insert script version", e)
            }
        })?;
    Ok(())
}

#[async_trait]
impl ScriptRepository for SeaScriptRepository {
    async fn create(&self, script: &Script, version: &ScriptVersion) -> Result<(), RepoError> {
        let transaction = self
            .database
            .connection()
            .begin()
            .await
            .map_err(|e| storage("begin", e))?;
        script::Entity::insert(script_to_active(script))
            .exec(&transaction)
            .await
            .map_err(|e| {
                if unique_violation(&e, NAME_MARKERS) {
                    duplicate_name(script)
                } else {
                    storage("insert script", e)
                }
            })?;
        write_routes(&transaction, script).await?;
        insert_version(&transaction, version).await?;
        transaction
            .commit()
            .await
            .map_err(|e| storage("commit script", e))
    }

    async fn update(
        &self,
        script: &Script,
        expected_version: i32,
        version: &ScriptVersion,
    ) -> Result<(), RepoError> {
        let transaction = self
            .database
            .connection()
            .begin()
            .await
            .map_err(|e| storage("begin", e))?;
        let mut active = script_to_active(script);
        active.id = sea_orm::ActiveValue::Unchanged(script.id.0);
        active.tenant_id = sea_orm::ActiveValue::Unchanged(script.tenant_id.0);
        let result = script::Entity::update_many()
            .set(active)
            .filter(script::Column::Id.eq(script.id.0))
            .filter(script::Column::TenantId.eq(script.tenant_id.0))
            .filter(script::Column::Version.eq(expected_version))
            .exec(&transaction)
            .await
            .map_err(|e| {
                if unique_violation(&e, NAME_MARKERS) {
                    duplicate_name(script)
                } else {
                    storage("update script", e)
                }
            })?;
        if result.rows_affected != 1 {
            return Err(RepoError::Stale);
        }
        write_routes(&transaction, script).await?;
        insert_version(&transaction, version).await?;
        transaction
            .commit()
            .await
            .map_err(|e| storage("commit script", e))
    }

    async fn get(&self, tenant: TenantId, id: ScriptId) -> Result<Option<Script>, RepoError> {
        let row = script::Entity::find_by_id(id.0)
            .filter(script::Column::TenantId.eq(tenant.0))
            .one(self.database.connection())
            .await
            .map_err(|e| storage("get script", e))?;
        row.map(script_from_row).transpose()
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: &ScriptFilter,
        page: PageRequest,
    ) -> Result<Page<Script>, RepoError> {
        let connection = self.database.connection();
        let mut query = script::Entity::find().filter(script::Column::TenantId.eq(tenant.0));
        if let Some(script_type) = filter.script_type {
            query = query.filter(script::Column::ScriptType.eq(script_type.as_str()));
        }
        if let Some(status) = filter.status {
            query = query.filter(script::Column::Status.eq(status.as_str()));
        }
        if !filter.search_words().is_empty() {
            query = query.filter(script_search::condition(connection, filter));
            return script_search::page(connection, query, page).await;
        }
        fetch_page(
            script_search::ordered(query),
            page,
            connection,
            "scripts",
            script_from_row,
        )
        .await
    }

    async fn delete(&self, tenant: TenantId, id: ScriptId) -> Result<bool, RepoError> {
        let result = script::Entity::delete_many()
            .filter(script::Column::Id.eq(id.0))
            .filter(script::Column::TenantId.eq(tenant.0))
            .exec(self.database.connection())
            .await
            .map_err(|e| storage("delete script", e))?;
        Ok(result.rows_affected == 1)
    }

    async fn list_versions(
        &self,
        tenant: TenantId,
        id: ScriptId,
        page: PageRequest,
    ) -> Result<Page<ScriptVersion>, RepoError> {
        let connection = self.database.connection();
        let query = script_version::Entity::find()
            .filter(script_version::Column::TenantId.eq(tenant.0))
            .filter(script_version::Column::ScriptId.eq(id.0))
            .order_by_desc(script_version::Column::Version);
        fetch_page(query, page, connection, "versions", version_from_row).await
    }

    async fn get_version(
        &self,
        tenant: TenantId,
        id: ScriptId,
        version: i32,
    ) -> Result<Option<ScriptVersion>, RepoError> {
        let row = script_version::Entity::find()
            .filter(script_version::Column::TenantId.eq(tenant.0))
            .filter(script_version::Column::ScriptId.eq(id.0))
            .filter(script_version::Column::Version.eq(version))
            .one(self.database.connection())
            .await
            .map_err(|e| storage("get version", e))?;
        row.map(version_from_row).transpose()
    }
}
