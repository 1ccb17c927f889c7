//! Storage behind `sdk.cache`: the store trait and the key, value, TTL and quota rules both
//! back ends share, so a script sees the same cache on one node (memory) or many (Redis).

use domain::{ScriptId, TenantId};
use runtime::HostErrorCode;
use std::time::Duration;

mod memory;
mod redis;
#[cfg(test)]
mod tests;

pub use self::memory::MemoryCache;
pub use self::redis::RedisCache;

/// Expired keys of a tenant removed before each write.
const PURGE_BATCH: usize = 1_000;
/// Further expired keys removed when a write would otherwise exceed the tenant's quota.
const PURGE_BATCH_OVER_QUOTA: usize = 20_000;

/// A cache call that failed; `code` is what the script sees in `SdkError.code`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CacheError {
    pub code: HostErrorCode,
    pub message: String,
}

impl CacheError {
    pub const INVALID_KEY: HostErrorCode = HostErrorCode::InvalidKey;
    pub const VALUE_TOO_LARGE: HostErrorCode = HostErrorCode::ValueTooLarge;
    pub const QUOTA_EXCEEDED: HostErrorCode = HostErrorCode::QuotaExceeded;
    pub const NOT_A_NUMBER: HostErrorCode = HostErrorCode::NotANumber;
    pub const INVALID_TTL: HostErrorCode = HostErrorCode::InvalidTtl;
    pub const CACHE_UNAVAILABLE: HostErrorCode = HostErrorCode::CacheUnavailable;

    pub fn new(code: HostErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn invalid_ttl(limits: &CacheLimits) -> Self {
        Self::new(
            Self::INVALID_TTL,
            format!(
                "a TTL must be more than 0 and at most {} seconds",
                limits.max_ttl_seconds
            ),
        )
    }

    pub(crate) fn quota_exceeded(limits: &CacheLimits) -> Self {
        Self::new(
            Self::QUOTA_EXCEEDED,
            format!(
                "the tenant's cache is full ({} bytes)",
                limits.max_tenant_bytes
            ),
        )
    }

    pub(crate) fn not_a_number() -> Self {
        Self::new(
            Self::NOT_A_NUMBER,
            "the value under this key is not an integer",
        )
    }

    pub(crate) fn overflow() -> Self {
        Self::new(
            Self::NOT_A_NUMBER,
            "the increment would overflow a 64-bit integer",
        )
    }

    pub(crate) fn value_too_large(bytes: usize, limits: &CacheLimits) -> Self {
        Self::new(
            Self::VALUE_TOO_LARGE,
            format!(
                "the value is {bytes} bytes of JSON; the cap is {}",
                limits.max_value_bytes
            ),
        )
    }

    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Self::CACHE_UNAVAILABLE, message)
    }
}

/// Caps on what scripts may store.
#[derive(Clone, Debug)]
pub struct CacheLimits {
    /// Bytes of the script's own key, before prefixing.
    pub max_key_bytes: usize,
    /// Bytes of one value's JSON text.
    pub max_value_bytes: usize,
    /// Total bytes (script key + JSON value, per entry) one tenant may hold.
    pub max_tenant_bytes: u64,
    /// Longest TTL; a TTL of 0 or above this is refused.
    pub max_ttl_seconds: u64,
}

impl Default for CacheLimits {
    fn default() -> Self {
        Self {
            max_key_bytes: 256,
            max_value_bytes: 1024 * 1024,
            max_tenant_bytes: 64 * 1024 * 1024,
            max_ttl_seconds: 30 * 24 * 60 * 60,
        }
    }
}

/// Where a call comes from; the store builds the full key from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CacheScope {
    pub tenant_id: TenantId,
    pub script_id: ScriptId,
}

impl CacheScope {
    pub fn new(tenant_id: TenantId, script_id: ScriptId) -> Self {
        Self {
            tenant_id,
            script_id,
        }
    }
}

/// A script's cache. Every call takes the script's own key; the store prefixes it.
#[async_trait::async_trait]
pub trait CacheStore: Send + Sync {
    /// The JSON text stored under `key`, or `None` when missing or expired.
    async fn get(&self, scope: CacheScope, key: &str) -> Result<Option<String>, CacheError>;
    /// Stores `value` (JSON text). `ttl` None = no expiry. Returns true.
    async fn set(
        &self,
        scope: CacheScope,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError>;
    /// True if a key was removed.
    async fn delete(&self, scope: CacheScope, key: &str) -> Result<bool, CacheError>;
    async fn exists(&self, scope: CacheScope, key: &str) -> Result<bool, CacheError>;
    /// Atomic: a missing key counts as 0; an existing value that is not a JSON integer →
    /// NOT_A_NUMBER. Keeps the key's TTL.
    async fn increment(&self, scope: CacheScope, key: &str, delta: i64) -> Result<i64, CacheError>;
    /// Sets a new TTL on an existing key; false if the key does not exist.
    async fn expire(&self, scope: CacheScope, key: &str, ttl: Duration)
    -> Result<bool, CacheError>;
}

/// `tenant:{tenantId}:script:{scriptId}:{key}`.
pub fn full_key(scope: CacheScope, key: &str) -> String {
    format!(
        "tenant:{}:script:{}:{key}",
        scope.tenant_id, scope.script_id
    )
}

/// Checks a script's key: 1..=max_key_bytes bytes, no control characters → INVALID_KEY.
pub fn check_key(key: &str, limits: &CacheLimits) -> Result<(), CacheError> {
    if key.is_empty() || key.len() > limits.max_key_bytes {
        return Err(CacheError::new(
            CacheError::INVALID_KEY,
            format!(
                "a cache key must be 1 to {} bytes long",
                limits.max_key_bytes
            ),
        ));
    }
    if key.chars().any(char::is_control) {
        return Err(CacheError::new(
            CacheError::INVALID_KEY,
            "a cache key must not contain control characters",
        ));
    }
    Ok(())
}

/// Checks a TTL in seconds from a script (must be finite, > 0, ≤ max) → INVALID_TTL.
pub fn ttl_from_seconds(seconds: f64, limits: &CacheLimits) -> Result<Duration, CacheError> {
    // The comparisons are false for NaN, so NaN is refused too.
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= limits.max_ttl_seconds as f64) {
        return Err(CacheError::invalid_ttl(limits));
    }
    let ttl = Duration::try_from_secs_f64(seconds).map_err(|_| CacheError::invalid_ttl(limits))?;
    check_ttl(ttl, limits).map(|_| ttl)
}

/// Checks a TTL given to a store and returns it in whole milliseconds, rounded up (so a
/// sub-millisecond TTL still lives 1 ms).
fn check_ttl(ttl: Duration, limits: &CacheLimits) -> Result<u64, CacheError> {
    if ttl.is_zero() || ttl > Duration::from_secs(limits.max_ttl_seconds) {
        return Err(CacheError::invalid_ttl(limits));
    }
    u64::try_from(ttl.as_nanos().div_ceil(1_000_000)).map_err(|_| CacheError::invalid_ttl(limits))
}

/// Checks a value's JSON text against the per-value cap → VALUE_TOO_LARGE.
fn check_value(value: &str, limits: &CacheLimits) -> Result<(), CacheError> {
    if value.len() > limits.max_value_bytes {
        return Err(CacheError::value_too_large(value.len(), limits));
    }
    Ok(())
}

/// What one entry counts against its tenant's quota: the script's key plus the JSON text.
fn entry_size(key: &str, value: &str) -> u64 {
    (key.len() + value.len()) as u64
}

/// Reads a stored value as an integer the way Redis `INCRBY` does, so both stores agree:
/// `0` or `-?[1-9][0-9]*` within i64 (JSON integers; no fraction, exponent or whitespace).
fn parse_integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let well_formed = match digits.as_bytes() {
        [b'0'] => digits.len() == text.len(),
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if well_formed { text.parse().ok() } else { None }
}
