//! Tenants (with their built-in roles), users with roles, and API tokens.

use crate::connection::Database;
use crate::entities::{api_token, role, role_permission, tenant, user, user_role};
use crate::errors::{corrupt, storage, unique_violation};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::repository::{RepoError, TenantRepository, TokenRepository, UserRepository};
use domain::tenant::{Slug, Tenant};
use domain::token::ApiToken;
use domain::user::{Email, User};
use domain::{Role, TenantId, TokenId, UserId};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct SeaTenantRepository {
    database: Database,
}

impl SeaTenantRepository {
    pub fn new(database: Database) -> Self {
        Self { database }
    }
}

fn tenant_from_row(row: tenant::Model) -> Result<Tenant, RepoError> {
    Ok(Tenant {
        id: TenantId(row.id),
        name: row.name,
        slug: Slug::parse(&row.slug).map_err(|e| corrupt("tenant slug", e))?,
        created_at: row.created_at,
    })
}

#[async_trait]
impl TenantRepository for SeaTenantRepository {
    /// Inserts the tenant with its three built-in roles and their permissions.
    async fn create(&self, tenant: &Tenant) -> Result<(), RepoError> {
        let transaction = self
            .database
            .connection()
            .begin()
            .await
            .map_err(|e| storage("begin", e))?;
        let row = tenant::ActiveModel {
            id: Set(tenant.id.0),
            name: Set(tenant.name.clone()),
            slug: Set(tenant.slug.as_str().to_owned()),
            created_at: Set(tenant.created_at),
        };
        tenant::Entity::insert(row)
            .exec(&transaction)
            .await
            .map_err(|e| {
                if unique_violation(&e, &["slug"]) {
                    RepoError::Duplicate {
                        what: "tenant slug",
                        value: tenant.slug.as_str().to_owned(),
                    }
                } else {
                    storage("insert tenant", e)
                }
            })?;
        for built_in in Role::ALL {
            let role_id = Uuid::now_v7();
            let row = role::ActiveModel {
                id: Set(role_id),
                tenant_id: Set(tenant.id.0),
                name: Set(built_in.as_str().to_owned()),
            };
            role::Entity::insert(row)
                .exec(&transaction)
                .await
                .map_err(|e| storage("insert role", e))?;
            let permissions =
                built_in
                    .permissions()
                    .into_iter()
                    .map(|p| role_permission::ActiveModel {
                        role_id: Set(role_id),
                        permission: Set(p.as_str().to_owned()),
                    });
            role_permission::Entity::insert_many(permissions)
                .exec(&transaction)
                .await
                .map_err(|e| storage("insert role permissions", e))?;
        }
        transaction
            .commit()
            .await
            .map_err(|e| storage("commit tenant", e))
    }

    async fn get(&self, id: TenantId) -> Result<Option<Tenant>, RepoError> {
        let row = tenant::Entity::find_by_id(id.0)
            .one(self.database.connection())
            .await
            .map_err(|e| storage("get tenant", e))?;
        row.map(tenant_from_row).transpose()
    }

    async fn get_by_slug(&self, slug: &str) -> Result<Option<Tenant>, RepoError> {
        let row = tenant::Entity::find()
            .filter(tenant::Column::Slug.eq(slug))
            .one(self.database.connection())
            .await
            .map_err(|e| storage("get tenant by slug", e))?;
        row.map(tenant_from_row).transpose()
    }

    async fn count(&self) -> Result<u64, RepoError> {
        tenant::Entity::find()
            .count(self.database.connection())
            .await
            .map_err(|e| storage("count tenants", e))
    }
}

#[derive(Clone, Debug)]
pub struct SeaUserRepository {
    database: Database,
}

impl SeaUserRepository {
    pub fn new(database: Database) -> Self {
        Self { database }
    }
}

async fn load_user(connection: &impl ConnectionTrait, row: user::Model) -> Result<User, RepoError> {
    let links = user_role::Entity::find()
        .filter(user_role::Column::UserId.eq(row.id))
        .all(connection)
        .await
        .map_err(|e| storage("load user roles", e))?;
    let role_ids: Vec<Uuid> = links.into_iter().map(|link| link.role_id).collect();
    let roles = role::Entity::find()
        .filter(role::Column::Id.is_in(role_ids))
        .filter(role::Column::TenantId.eq(row.tenant_id))
        .all(connection)
        .await
        .map_err(|e| storage("load roles", e))?;
    let mut parsed = roles
        .into_iter()
        .map(|r| r.name.parse::<Role>().map_err(|e| corrupt("role", e)))
        .collect::<Result<Vec<_>, _>>()?;
    parsed.sort_by_key(|r| r.as_str());
    Ok(User {
        id: UserId(row.id),
        tenant_id: TenantId(row.tenant_id),
        email: Email::parse(&row.email).map_err(|e| corrupt("user email", e))?,
        password_hash: row.password_hash,
        roles: parsed,
        created_at: row.created_at,
    })
}

#[async_trait]
impl UserRepository for SeaUserRepository {
    async fn create(&self, user: &User) -> Result<(), RepoError> {
        let transaction = self
            .database
            .connection()
            .begin()
            .await
            .map_err(|e| storage("begin", e))?;
        let row = user::ActiveModel {
            id: Set(user.id.0),
            tenant_id: Set(user.tenant_id.0),
            email: Set(user.email.as_str().to_owned()),
            password_hash: Set(user.password_hash.clone()),
            created_at: Set(user.created_at),
        };
        user::Entity::insert(row)
            .exec(&transaction)
            .await
            .map_err(|e| {
                if unique_violation(&e, &["email"]) {
                    RepoError::Duplicate {
                        what: "user email",
                        value: user.email.as_str().to_owned(),
                    }
                } else {
                    storage("insert user", e)
                }
            })?;
        let names: Vec<&str> = user.roles.iter().map(Role::as_str).collect();
        let roles = role::Entity::find()
            .filter(role::Column::TenantId.eq(user.tenant_id.0))
            .filter(role::Column::Name.is_in(names.clone()))
            .all(&transaction)
            .await
            .map_err(|e| storage("find roles", e))?;
        if roles.len() != names.len() {
            return Err(RepoError::Corrupt(format!(
                "tenant {} lacks built-in roles",
                user.tenant_id
            )));
        }
        let links = roles.into_iter().map(|r| user_role::ActiveModel {
            user_id: Set(user.id.0),
            role_id: Set(r.id),
        });
        user_role::Entity::insert_many(links)
            .exec(&transaction)
            .await
            .map_err(|e| storage("insert user roles", e))?;
        transaction
            .commit()
            .await
            .map_err(|e| storage("commit user", e))
    }

    async fn get(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, RepoError> {
        let connection = self.database.connection();
        let row = user::Entity::find_by_id(id.0)
            .filter(user::Column::TenantId.eq(tenant.0))
            .one(connection)
            .await
            .map_err(|e| storage("get user", e))?;
        match row {
            Some(row) => load_user(connection, row).await.map(Some),
            None => Ok(None),
        }
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepoError> {
        let connection = self.database.connection();
        let row = user::Entity::find()
            .filter(user::Column::Email.eq(email.as_str()))
            .one(connection)
            .await
            .map_err(|e| storage("find user", e))?;
        match row {
            Some(row) => load_user(connection, row).await.map(Some),
            None => Ok(None),
        }
    }
}

#[derive(Clone, Debug)]
pub struct SeaTokenRepository {
    database: Database,
}

impl SeaTokenRepository {
    pub fn new(database: Database) -> Self {
        Self { database }
    }
}

#[async_trait]
impl TokenRepository for SeaTokenRepository {
    async fn create(&self, token: &ApiToken) -> Result<(), RepoError> {
        let row = api_token::ActiveModel {
            id: Set(token.id.0),
            tenant_id: Set(token.tenant_id.0),
            user_id: Set(token.user_id.0),
            name: Set(token.name.clone()),
            token_hash: Set(token.token_hash.clone()),
            created_at: Set(token.created_at),
            expires_at: Set(token.expires_at),
            last_used_at: Set(token.last_used_at),
        };
        api_token::Entity::insert(row)
            .exec(self.database.connection())
            .await
            .map_err(|e| storage("insert token", e))?;
        Ok(())
    }

    async fn find_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>, RepoError> {
        let row = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(token_hash))
            .one(self.database.connection())
            .await
            .map_err(|e| storage("find token", e))?;
        Ok(row.map(|row| ApiToken {
            id: TokenId(row.id),
            tenant_id: TenantId(row.tenant_id),
            user_id: UserId(row.user_id),
            name: row.name,
            token_hash: row.token_hash,
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
        }))
    }

    async fn touch(&self, id: TokenId, at: DateTime<Utc>) -> Result<(), RepoError> {
        let row = api_token::ActiveModel {
            id: sea_orm::ActiveValue::Unchanged(id.0),
            last_used_at: Set(Some(at)),
            ..Default::default()
        };
        api_token::Entity::update(row)
            .exec(self.database.connection())
            .await
            .map_err(|e| storage("touch token", e))?;
        Ok(())
    }

    async fn expire(&self, id: TokenId, at: DateTime<Utc>) -> Result<(), RepoError> {
        let row = api_token::ActiveModel {
            id: sea_orm::ActiveValue::Unchanged(id.0),
            expires_at: Set(Some(at)),
            ..Default::default()
        };
        api_token::Entity::update(row)
            .exec(self.database.connection())
            .await
            .map_err(|e| storage("expire token", e))?;
        Ok(())
    }
}
