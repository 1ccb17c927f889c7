//! Tenants, users and API tokens: creating them, signing in with a token, and the first
//! admin that a fresh installation gets.

use crate::clock::Clock;
use argon2::password_hash::SaltString;
use argon2::password_hash::rand_core::OsRng;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use domain::repository::{RepoError, TenantRepository, TokenRepository, UserRepository};
use domain::tenant::{Tenant, TenantError};
use domain::token::{ApiToken, TokenSecret, hash_token};
use domain::user::{Email, User, UserError, check_password};
use domain::{Actor, Role, TokenId, UserId};
use rand::Rng;
use rand::distr::Alphanumeric;
use std::sync::Arc;
use std::time::Duration;

/// How long a checked token is trusted without reading storage again. Tokens cannot be revoked
/// yet (only expire, which a cached entry still honours); revoking one must invalidate it here.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(5);
const TOKEN_CACHE_ENTRIES: u64 = 10_000;

/// A token recently checked: who it acts as, until when it is valid.
#[derive(Clone)]
struct CheckedToken {
    actor: Actor,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error(transparent)]
    User(#[from] UserError),
    #[error("no tenant with slug \"{0}\"")]
    UnknownTenant(String),
    #[error("no user with email \"{0}\"")]
    UnknownUser(String),
    #[error("{what} \"{value}\" already exists")]
    Duplicate { what: &'static str, value: String },
    #[error("missing, unknown or expired API token")]
    BadToken,
    #[error("token name must be 1–100 characters")]
    BadTokenName,
    #[error("wrong email or password")]
    BadCredentials,
    #[error("too many failed sign-ins; try again in {minutes} minutes")]
    SignInThrottled { minutes: u64 },
    #[error("missing, unknown or expired session")]
    BadSession,
    #[error("password hashing failed")]
    Hashing(#[source] argon2::password_hash::Error),
    #[error("storage failure")]
    Storage(#[source] RepoError),
}

impl From<RepoError> for AccountError {
    fn from(error: RepoError) -> Self {
        match error {
            RepoError::Duplicate { what, value } => AccountError::Duplicate { what, value },
            other => AccountError::Storage(other),
        }
    }
}

/// A user to create: the tenant by slug, as the CLI and operators know it.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub tenant_slug: String,
    pub email: String,
    pub password: String,
    pub role: Role,
}

/// What a fresh installation prints once: where and how to sign in.
#[derive(Clone, Debug)]
pub struct FirstAdmin {
    pub tenant: Tenant,
    pub email: String,
    pub password: String,
}

pub struct AccountService {
    tenants: Arc<dyn TenantRepository>,
    pub(crate) users: Arc<dyn UserRepository>,
    pub(crate) tokens: Arc<dyn TokenRepository>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Sign-in sessions of the web pages and the failed sign-ins held against their accounts
    /// and addresses (`sessions.rs`).
    pub(crate) sessions: crate::sessions::SessionState,
    /// Token hash → the actor, for `TOKEN_CACHE_TTL`: no storage read on every request.
    checked: moka::sync::Cache<String, CheckedToken>,
}

pub(crate) fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(AccountError::Hashing)
}

/// Checks a password against a stored argon2 hash.
pub fn verify_password(password: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

impl AccountService {
    pub fn new(
        tenants: Arc<dyn TenantRepository>,
        users: Arc<dyn UserRepository>,
        tokens: Arc<dyn TokenRepository>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            tenants,
            users,
            tokens,
            clock,
            sessions: crate::sessions::SessionState::new(crate::sessions::LoginLimits::default()),
            checked: moka::sync::Cache::builder()
                .max_capacity(TOKEN_CACHE_ENTRIES)
                .time_to_live(TOKEN_CACHE_TTL)
                .build(),
        }
    }

    #[tracing::instrument(skip_all, fields(name))]
    pub async fn create_tenant(
        &self,
        name: &str,
        slug: Option<&str>,
    ) -> Result<Tenant, AccountError> {
        let tenant = Tenant::new(name, slug, self.clock.now())?;
        self.tenants.create(&tenant).await?;
        tracing::info!(tenant = %tenant.id, slug = tenant.slug.as_str(), "tenant created");
        Ok(tenant)
    }

    /// The tenant `actor` acts in (its slug names the public webhook URLs).
    pub async fn tenant_of(&self, actor: &Actor) -> Result<Tenant, AccountError> {
        self.tenants
            .get(actor.tenant_id)
            .await?
            .ok_or_else(|| AccountError::UnknownTenant(actor.tenant_id.to_string()))
    }

    #[tracing::instrument(skip_all, fields(tenant = new.tenant_slug))]
    pub async fn create_user(&self, new: &NewUser) -> Result<User, AccountError> {
        let email = Email::parse(&new.email)?;
        check_password(&new.password)?;
        let tenant = self
            .tenants
            .get_by_slug(&new.tenant_slug)
            .await?
            .ok_or_else(|| AccountError::UnknownTenant(new.tenant_slug.clone()))?;
        let user = User {
            id: UserId::new(),
            tenant_id: tenant.id,
            email,
            password_hash: hash_password(&new.password)?,
            roles: vec![new.role],
            created_at: self.clock.now(),
        };
        self.users.create(&user).await?;
        tracing::info!(user = %user.id, role = %new.role, "user created");
        Ok(user)
    }

    /// Issues a token for the user with `email`; the secret is returned once and never stored.
    #[tracing::instrument(skip_all)]
    pub async fn create_token(
        &self,
        email: &str,
        name: &str,
    ) -> Result<(ApiToken, TokenSecret), AccountError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AccountError::BadTokenName);
        }
        let parsed = Email::parse(email)?;
        let user = self
            .users
            .find_by_email(&parsed)
            .await?
            .ok_or_else(|| AccountError::UnknownUser(parsed.as_str().to_owned()))?;
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        let secret = TokenSecret::from_random_bytes(bytes);
        let token = ApiToken {
            id: TokenId::new(),
            tenant_id: user.tenant_id,
            user_id: user.id,
            name: name.to_owned(),
            token_hash: secret.hash(),
            created_at: self.clock.now(),
            expires_at: None,
            last_used_at: None,
        };
        self.tokens.create(&token).await?;
        tracing::info!(token = %token.id, user = %user.id, "API token created");
        Ok((token, secret))
    }

    /// The actor a presented bearer token stands for: its user, tenant and permissions. A token
    /// checked in the last `TOKEN_CACHE_TTL` is answered from memory (its expiry still holds).
    pub async fn authenticate_token(&self, presented: &str) -> Result<Actor, AccountError> {
        if !presented.starts_with(TokenSecret::PREFIX) || presented.len() > 128 {
            return Err(AccountError::BadToken);
        }
        let now = self.clock.now();
        let hash = hash_token(presented);
        if let Some(checked) = self.checked.get(&hash) {
            if checked.expires_at.is_none_or(|expiry| now < expiry) {
                return Ok(checked.actor);
            }
            self.checked.invalidate(&hash);
            return Err(AccountError::BadToken);
        }
        let token = self
            .tokens
            .find_by_hash(&hash)
            .await?
            .ok_or(AccountError::BadToken)?;
        if !token.is_valid_at(now) {
            return Err(AccountError::BadToken);
        }
        let user = self
            .users
            .get(token.tenant_id, token.user_id)
            .await?
            .ok_or(AccountError::BadToken)?;
        // Recording use at most once a minute keeps reads from turning into writes.
        if token
            .last_used_at
            .is_none_or(|at| now - at > chrono::Duration::minutes(1))
        {
            self.tokens.touch(token.id, now).await?;
        }
        let actor = Actor::new(user.tenant_id, Some(user.id), user.permissions());
        let checked = CheckedToken {
            actor: actor.clone(),
            expires_at: token.expires_at,
        };
        self.checked.insert(hash, checked);
        Ok(actor)
    }

    /// On an empty installation, creates the `default` tenant and an admin with a generated
    /// password; returns `None` when any tenant exists (or another node just made one).
    #[tracing::instrument(skip_all)]
    pub async fn ensure_first_admin(
        &self,
        email: &str,
    ) -> Result<Option<FirstAdmin>, AccountError> {
        if self.tenants.count().await? > 0 {
            return Ok(None);
        }
        let tenant = match self.create_tenant("Default", Some("default")).await {
            Ok(tenant) => tenant,
            Err(AccountError::Duplicate { .. }) => return Ok(None),
            Err(other) => return Err(other),
        };
        let password: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(20)
            .map(char::from)
            .collect();
        let new = NewUser {
            tenant_slug: tenant.slug.as_str().to_owned(),
            email: email.to_owned(),
            password: password.clone(),
            role: Role::Admin,
        };
        let user = self.create_user(&new).await?;
        Ok(Some(FirstAdmin {
            tenant,
            email: user.email.as_str().to_owned(),
            password,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong horse battery", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
    }
}
