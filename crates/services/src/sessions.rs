//! Signing in to the web pages: a password checked under a bound on failed attempts per
//! account and per address, and a session stored server-side (a token row with an expiry, so
//! that every node shares it) that signing out ends at once.

use crate::accounts::{AccountError, AccountService, hash_password, verify_password};
use domain::token::{ApiToken, TokenSecret, hash_token};
use domain::user::Email;
use domain::{Actor, TokenId};
use std::sync::OnceLock;
use std::time::Duration;

/// The cookie that carries a session's secret.
pub const SESSION_COOKIE: &str = "iota_session";
/// The cookie of the web pages' language switcher.
pub const LANG_COOKIE: &str = "lang";
/// The name a session's token row carries.
pub const SESSION_TOKEN_NAME: &str = "web session";
/// How long a session lasts from sign-in.
pub const SESSION_HOURS: i64 = 12;
/// How long a checked session is trusted without reading storage again (signing out on this
/// node ends it at once; on another node within this time).
const SESSION_CACHE_TTL: Duration = Duration::from_secs(5);

/// The bound on failed sign-ins: past `per_account` failures for one email, or `per_address`
/// from one client address, sign-in is refused until `window` has passed since the last one.
#[derive(Clone, Copy, Debug)]
pub struct LoginLimits {
    pub per_account: u32,
    pub per_address: u32,
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_address: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// A signed-in user of the web pages.
#[derive(Clone, Debug)]
pub struct Session {
    pub actor: Actor,
    pub email: String,
    /// The token every state-changing request of this session must carry (derived from the
    /// session's secret, which the page never sees).
    pub csrf_token: String,
}

/// A new session: the secret for the cookie (shown once, stored only as a hash).
#[derive(Debug)]
pub struct SignIn {
    pub secret: TokenSecret,
    pub session: Session,
    pub max_age_seconds: i64,
}

#[derive(Clone)]
struct CheckedSession {
    id: TokenId,
    session: Session,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Failed sign-ins per account and per address (in this node's memory), and recently
/// checked sessions.
pub(crate) struct SessionState {
    limits: LoginLimits,
    failures: moka::sync::Cache<String, u32>,
    checked: moka::sync::Cache<String, CheckedSession>,
}

impl SessionState {
    pub(crate) fn new(limits: LoginLimits) -> Self {
        Self {
            limits,
            failures: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(limits.window)
                .build(),
            checked: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(SESSION_CACHE_TTL)
                .build(),
        }
    }

    fn throttled(&self, account: &str, address: &str) -> bool {
        let count = |key: &str| self.failures.get(key).unwrap_or(0);
        count(account) >= self.limits.per_account || count(address) >= self.limits.per_address
    }

    fn fail(&self, key: String) {
        let next = self.failures.get(&key).unwrap_or(0).saturating_add(1);
        self.failures.insert(key, next);
    }
}

/// The CSRF token of a session: a hash of its secret under a fixed label.
pub fn csrf_token(secret: &str) -> String {
    hash_token(&format!("csrf:{secret}"))
}

/// A hash to check passwords of unknown emails against, so that both take as long.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password, never valid").unwrap_or_default())
}

impl AccountService {
    /// Replaces the bound on failed sign-ins (the default is 5 per account, 20 per address,
    /// in 15 minutes).
    pub fn with_login_limits(mut self, limits: LoginLimits) -> Self {
        self.sessions = SessionState::new(limits);
        self
    }

    /// Checks `email` and `password` and opens a session; `address` is the client's.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        address: &str,
    ) -> Result<SignIn, AccountError> {
        let account_key = format!("account:{}", email.trim().to_lowercase());
        let address_key = format!("address:{address}");
        let state = &self.sessions;
        if state.throttled(&account_key, &address_key) {
            return Err(AccountError::SignInThrottled {
                minutes: state.limits.window.as_secs().div_ceil(60),
            });
        }
        let user = match Email::parse(email) {
            Ok(parsed) => self.users.find_by_email(&parsed).await?,
            Err(_) => None,
        };
        let hash = user
            .as_ref()
            .map_or(decoy_hash(), |user| user.password_hash.as_str());
        let user = match user {
            Some(user) if verify_password(password, hash) => user,
            _ => {
                verify_password(password, hash);
                state.fail(account_key);
                state.fail(address_key);
                tracing::info!("sign-in refused");
                return Err(AccountError::BadCredentials);
            }
        };
        state.failures.invalidate(&account_key);
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        let secret = TokenSecret::session_from_random_bytes(bytes);
        let now = self.clock.now();
        let token = ApiToken {
            id: TokenId::new(),
            tenant_id: user.tenant_id,
            user_id: user.id,
            name: SESSION_TOKEN_NAME.to_owned(),
            token_hash: secret.hash(),
            created_at: now,
            expires_at: Some(now + chrono::Duration::hours(SESSION_HOURS)),
            last_used_at: None,
        };
        self.tokens.create(&token).await?;
        tracing::info!(user = %user.id, "signed in");
        let session = Session {
            actor: Actor::new(user.tenant_id, Some(user.id), user.permissions()),
            email: user.email.as_str().to_owned(),
            csrf_token: csrf_token(secret.expose()),
        };
        Ok(SignIn {
            secret,
            session,
            max_age_seconds: SESSION_HOURS * 3600,
        })
    }

    /// The session a cookie's secret stands for.
    pub async fn authenticate_session(&self, presented: &str) -> Result<Session, AccountError> {
        self.checked_session(presented)
            .await
            .map(|checked| checked.session)
    }

    async fn checked_session(&self, presented: &str) -> Result<CheckedSession, AccountError> {
        if !presented.starts_with(TokenSecret::SESSION_PREFIX) || presented.len() > 128 {
            return Err(AccountError::BadSession);
        }
        let now = self.clock.now();
        let hash = hash_token(presented);
        let cache = &self.sessions.checked;
        if let Some(checked) = cache.get(&hash) {
            if checked.expires_at.is_none_or(|expiry| now < expiry) {
                return Ok(checked);
            }
            cache.invalidate(&hash);
            return Err(AccountError::BadSession);
        }
        let token = self
            .tokens
            .find_by_hash(&hash)
            .await?
            .filter(|token| token.is_valid_at(now) && token.name == SESSION_TOKEN_NAME)
            .ok_or(AccountError::BadSession)?;
        let user = self
            .users
            .get(token.tenant_id, token.user_id)
            .await?
            .ok_or(AccountError::BadSession)?;
        let checked = CheckedSession {
            id: token.id,
            session: Session {
                actor: Actor::new(user.tenant_id, Some(user.id), user.permissions()),
                email: user.email.as_str().to_owned(),
                csrf_token: csrf_token(presented),
            },
            expires_at: token.expires_at,
        };
        cache.insert(hash, checked.clone());
        Ok(checked)
    }

    /// Ends the session of a cookie's secret (nothing happens for an unknown one).
    #[tracing::instrument(skip_all)]
    pub async fn sign_out(&self, presented: &str) -> Result<(), AccountError> {
        let checked = match self.checked_session(presented).await {
            Ok(checked) => checked,
            Err(AccountError::BadSession) => return Ok(()),
            Err(other) => return Err(other),
        };
        self.tokens.expire(checked.id, self.clock.now()).await?;
        self.sessions.checked.invalidate(&hash_token(presented));
        tracing::info!("signed out");
        Ok(())
    }
}
