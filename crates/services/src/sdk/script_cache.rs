//! `sdk.cache` calls: checks the script's key, value and TTL, and stores JSON text under the
//! script's own prefix in the configured store (in-process or Redis).

use super::cache::{CacheLimits, CacheScope, CacheStore, check_key, ttl_from_seconds};
use runtime::{CallScope, HostError, HostErrorCode};
use serde_json::Value;
use std::sync::Arc;

pub struct ScriptCache {
    store: Arc<dyn CacheStore>,
    limits: CacheLimits,
}

fn failure(error: super::cache::CacheError) -> HostError {
    HostError::new(error.code, error.message)
}

impl ScriptCache {
    pub fn new(store: Arc<dyn CacheStore>, limits: CacheLimits) -> Self {
        Self { store, limits }
    }

    /// `args` are the script's arguments: `[key, value?, ttl?]` or `[key, delta]`.
    pub async fn call(
        &self,
        scope: &CallScope,
        method: &str,
        args: &Value,
    ) -> Result<Value, HostError> {
        let key = args[0]
            .as_str()
            .ok_or_else(|| HostError::new(HostErrorCode::InvalidKey, "the key must be a string"))?;
        check_key(key, &self.limits).map_err(failure)?;
        let within = CacheScope::new(scope.tenant_id, scope.script_id);
        let ttl = |value: &Value| -> Result<Option<std::time::Duration>, HostError> {
            match value {
                Value::Null => Ok(None),
                other => {
                    let seconds = other.as_f64().ok_or_else(|| {
                        HostError::new(
                            HostErrorCode::InvalidTtl,
                            "the TTL must be a number of seconds",
                        )
                    })?;
                    ttl_from_seconds(seconds, &self.limits)
                        .map(Some)
                        .map_err(failure)
                }
            }
        };
        match method {
            "get" => {
                let stored = self.store.get(within, key).await.map_err(failure)?;
                Ok(stored
                    .and_then(|text| serde_json::from_str(&text).ok())
                    .unwrap_or(Value::Null))
            }
            "set" => {
                let value = args.get(1).cloned().unwrap_or(Value::Null);
                let expiry = ttl(args.get(2).unwrap_or(&Value::Null))?;
                self.store
                    .set(within, key, &value.to_string(), expiry)
                    .await
                    .map(Value::Bool)
                    .map_err(failure)
            }
            "delete" => self
                .store
                .delete(within, key)
                .await
                .map(Value::Bool)
                .map_err(failure),
            "exists" => self
                .store
                .exists(within, key)
                .await
                .map(Value::Bool)
                .map_err(failure),
            "increment" => {
                let delta = args.get(1).and_then(Value::as_i64).ok_or_else(|| {
                    HostError::new(
                        HostErrorCode::NotANumber,
                        "the delta must be a whole number",
                    )
                })?;
                self.store
                    .increment(within, key, delta)
                    .await
                    .map(Value::from)
                    .map_err(failure)
            }
            "expire" => {
                let expiry = ttl(args.get(1).unwrap_or(&Value::Null))?.ok_or_else(|| {
                    HostError::new(HostErrorCode::InvalidTtl, "expire needs a TTL in seconds")
                })?;
                self.store
                    .expire(within, key, expiry)
                    .await
                    .map(Value::Bool)
                    .map_err(failure)
            }
            other => Err(HostError::new(
                HostErrorCode::Unavailable,
                format!("sdk.cache.{other} is not available"),
            )),
        }
    }
}
