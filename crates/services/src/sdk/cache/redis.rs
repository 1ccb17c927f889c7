//! `RedisCache`: the `sdk.cache` store shared by several nodes through one Redis, with the
//! writes done by Lua scripts so each is atomic together with the tenant's quota accounting.
//!
//! Key layout; every key of a tenant carries the hash tag `{<tenantId>}`, so a tenant's keys
//! share one cluster slot and one script may touch all of them:
//! - `cache:{<tenantId>}:tenant:<tenantId>:script:<scriptId>:<key>`: a value (JSON text),
//!   expiring through PXAT;
//! - `cache:{<tenantId>}:keys`: sorted set of the tenant's data keys, scored by expiry in
//!   Unix milliseconds (`+inf` = none);
//! - `cache:{<tenantId>}:sizes`: hash, data key → bytes charged (script key + JSON value);
//! - `cache:{<tenantId>}:used`: the bytes charged to the tenant in all.
//!
//! Every script first forgets the tenant's expired keys (ZRANGEBYSCORE -inf now), giving
//! their bytes back. The score is the very instant given to PXAT, and a member counts as
//! expired from that millisecond on, no later than Redis drops the key, so a key Redis no
//! longer serves is never still counted by a quota check.
//! Needs Redis 6.2 or later (PXAT) and an eviction policy that never drops keys on its own
//! (`noeviction`), otherwise the bookkeeping could outlive the values it counts.

use super::{
    CacheError, CacheLimits, CacheScope, CacheStore, PURGE_BATCH, PURGE_BATCH_OVER_QUOTA,
    check_key, check_ttl, check_value, entry_size, full_key,
};
use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{FromRedisValue, RedisError, Script};
use domain::TenantId;
use std::time::Duration;

/// Shared start of every script. KEYS: sorted set, sizes hash, usage counter, data key.
const PRELUDE: &str = r#"
local zkey, hkey, ukey, dkey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

-- Drops a data key and its bookkeeping, giving its bytes back to the tenant.
local function forget(member)
  local size = tonumber(redis.call('HGET', hkey, member))
  redis.call('DEL', member)
  redis.call('ZREM', zkey, member)
  if size then
    redis.call('HDEL', hkey, member)
    redis.call('DECRBY', ukey, size)
  end
end

-- Forgets up to `budget` of the tenant's keys that have expired.
local function purge(budget)
  local expired = redis.call('ZRANGEBYSCORE', zkey, '-inf', now, 'LIMIT', 0, budget)
  for _, member in ipairs(expired) do forget(member) end
end

local function used() return tonumber(redis.call('GET', ukey)) or 0 end

-- Whether replacing `old` bytes by `new` keeps the tenant within `max`; a write that does
-- not grow the tenant always fits.
local function fits(old, new, max)
  if new <= old or used() - old + new <= max then return true end
  purge(PURGE_BATCH_OVER_QUOTA)
  return used() - old + new <= max
end

-- The target key: forgotten when it has expired (or vanished), else the bytes it counts.
local function settle()
  local score = redis.call('ZSCORE', zkey, dkey)
  if not score then return 0 end
  if tonumber(score) <= now or redis.call('EXISTS', dkey) == 0 then
    forget(dkey)
    return 0
  end
  return tonumber(redis.call('HGET', hkey, dkey)) or 0
end

local old = settle()
purge(PURGE_BATCH)
"#;

/// ARGV: value, bytes charged, TTL in ms (0 = none), tenant quota. 1 = stored, 0 = over quota.
const SET: &str = r#"
local size, ttl, max = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if not fits(old, size, max) then return 0 end
if ttl > 0 then
  local at = string.format('%.0f', now + ttl)
  redis.call('SET', dkey, ARGV[1], 'PXAT', at)
  redis.call('ZADD', zkey, at, dkey)
else
  redis.call('SET', dkey, ARGV[1])
  redis.call('ZADD', zkey, '+inf', dkey)
end
redis.call('HSET', hkey, dkey, size)
redis.call('INCRBY', ukey, size - old)
return 1
"#;

/// 1 when the key existed.
const DELETE: &str = r#"
local existed = redis.call('EXISTS', dkey)
forget(dkey)
return existed
"#;

/// ARGV: TTL in ms. 1 when the key exists (and now expires then), 0 when it does not.
const EXPIRE: &str = r#"
if redis.call('EXISTS', dkey) == 0 then return 0 end
local at = string.format('%.0f', now + tonumber(ARGV[1]))
redis.call('PEXPIREAT', dkey, at)
redis.call('ZADD', zkey, at, dkey)
return 1
"#;

/// ARGV: delta, bytes of the script's key, value cap, tenant quota. Returns {code, detail}:
/// {'OK', new value} or an error code. INCRBY keeps the key's TTL; a refused result is undone.
const INCREMENT: &str = r#"
local before = redis.call('GET', dkey)
local result = redis.pcall('INCRBY', dkey, ARGV[1])
if type(result) == 'table' and result.err then return {'NOT_A_NUMBER', result.err} end
local text = redis.call('GET', dkey)
local size = tonumber(ARGV[2]) + #text
local function undo()
  if before then redis.call('SET', dkey, before, 'KEEPTTL') else redis.call('DEL', dkey) end
end
if #text > tonumber(ARGV[3]) then
  undo()
  return {'VALUE_TOO_LARGE', text}
end
if not fits(old, size, tonumber(ARGV[4])) then
  undo()
  return {'QUOTA_EXCEEDED', ''}
end
if not before then redis.call('ZADD', zkey, '+inf', dkey) end
redis.call('HSET', hkey, dkey, size)
redis.call('INCRBY', ukey, size - old)
return {'OK', text}
"#;

fn script(body: &str) -> Script {
    let prelude = PRELUDE
        .replace(
            "PURGE_BATCH_OVER_QUOTA",
            &PURGE_BATCH_OVER_QUOTA.to_string(),
        )
        .replace("PURGE_BATCH", &PURGE_BATCH.to_string());
    Script::new(&format!("{prelude}{body}"))
}

/// `cache:{<tenantId>}`: the start of every key of the tenant.
pub(super) fn tenant_prefix(tenant: TenantId) -> String {
    format!("cache:{{{tenant}}}")
}

fn data_key(scope: CacheScope, key: &str) -> String {
    format!(
        "{}:{}",
        tenant_prefix(scope.tenant_id),
        full_key(scope, key)
    )
}

fn unavailable(err: RedisError) -> CacheError {
    tracing::warn!(error = %err, "Redis cache call failed");
    CacheError::unavailable("the cache is unavailable right now")
}

/// The cache shared by several nodes through one Redis.
pub struct RedisCache {
    conn: ConnectionManager,
    limits: CacheLimits,
    set: Script,
    delete: Script,
    expire: Script,
    increment: Script,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl RedisCache {
    /// Connects to Redis at `url` (`redis://host:port/db`); CACHE_UNAVAILABLE if it cannot.
    pub async fn connect(url: &str, limits: CacheLimits) -> Result<Self, CacheError> {
        let client = ::redis::Client::open(url).map_err(|err| {
            CacheError::unavailable(format!("the cache's Redis URL is not valid: {err}"))
        })?;
        let addr = client.get_connection_info().addr().to_string();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|err| {
                CacheError::unavailable(format!(
                    "cannot connect to the cache's Redis at {addr}: {err}"
                ))
            })?;
        Ok(Self {
            conn,
            limits,
            set: script(SET),
            delete: script(DELETE),
            expire: script(EXPIRE),
            increment: script(INCREMENT),
        })
    }

    /// Runs one of the scripts on `scope`'s tenant and `key`'s data key.
    async fn run<T: FromRedisValue>(
        &self,
        script: &Script,
        scope: CacheScope,
        key: &str,
        args: &[&str],
    ) -> Result<T, CacheError> {
        let prefix = tenant_prefix(scope.tenant_id);
        let mut invocation = script.key(format!("{prefix}:keys"));
        invocation
            .key(format!("{prefix}:sizes"))
            .key(format!("{prefix}:used"))
            .key(data_key(scope, key));
        for arg in args {
            invocation.arg(*arg);
        }
        let mut conn = self.conn.clone();
        invocation
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)
    }

    /// The bytes a tenant is charged for right now (for tests).
    #[cfg(test)]
    pub(super) async fn used_bytes(&self, tenant: TenantId) -> u64 {
        let mut conn = self.conn.clone();
        let used: Option<u64> = ::redis::cmd("GET")
            .arg(format!("{}:used", tenant_prefix(tenant)))
            .query_async(&mut conn)
            .await
            .expect("read the usage counter");
        used.unwrap_or(0)
    }
}

#[async_trait::async_trait]
impl CacheStore for RedisCache {
    async fn get(&self, scope: CacheScope, key: &str) -> Result<Option<String>, CacheError> {
        check_key(key, &self.limits)?;
        let mut conn = self.conn.clone();
        ::redis::cmd("GET")
            .arg(data_key(scope, key))
            .query_async(&mut conn)
            .await
            .map_err(unavailable)
    }

    async fn set(
        &self,
        scope: CacheScope,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        check_key(key, &self.limits)?;
        check_value(value, &self.limits)?;
        let ttl_ms = match ttl {
            Some(ttl) => check_ttl(ttl, &self.limits)?,
            None => 0,
        };
        let size = entry_size(key, value).to_string();
        let (ttl_ms, max) = (ttl_ms.to_string(), self.limits.max_tenant_bytes.to_string());
        let stored: bool = self
            .run(&self.set, scope, key, &[value, &size, &ttl_ms, &max])
            .await?;
        if stored {
            Ok(true)
        } else {
            Err(CacheError::quota_exceeded(&self.limits))
        }
    }

    async fn delete(&self, scope: CacheScope, key: &str) -> Result<bool, CacheError> {
        check_key(key, &self.limits)?;
        self.run(&self.delete, scope, key, &[]).await
    }

    async fn exists(&self, scope: CacheScope, key: &str) -> Result<bool, CacheError> {
        check_key(key, &self.limits)?;
        let mut conn = self.conn.clone();
        ::redis::cmd("EXISTS")
            .arg(data_key(scope, key))
            .query_async(&mut conn)
            .await
            .map_err(unavailable)
    }

    async fn increment(&self, scope: CacheScope, key: &str, delta: i64) -> Result<i64, CacheError> {
        check_key(key, &self.limits)?;
        let args = [
            delta.to_string(),
            key.len().to_string(),
            self.limits.max_value_bytes.to_string(),
            self.limits.max_tenant_bytes.to_string(),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, detail): (String, String) = self.run(&self.increment, scope, key, &args).await?;
        match code.as_str() {
            "OK" => detail.parse().map_err(|_| CacheError::not_a_number()),
            "NOT_A_NUMBER" if detail.contains("overflow") => Err(CacheError::overflow()),
            "NOT_A_NUMBER" => Err(CacheError::not_a_number()),
            "VALUE_TOO_LARGE" => Err(CacheError::value_too_large(detail.len(), &self.limits)),
            "QUOTA_EXCEEDED" => Err(CacheError::quota_exceeded(&self.limits)),
            other => Err(CacheError::unavailable(format!(
                "unexpected cache reply {other}"
            ))),
        }
    }

    async fn expire(
        &self,
        scope: CacheScope,
        key: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        check_key(key, &self.limits)?;
        let ttl_ms = check_ttl(ttl, &self.limits)?.to_string();
        self.run(&self.expire, scope, key, &[&ttl_ms]).await
    }
}
