//! `MemoryCache`: the `sdk.cache` store of a single node, held in this process by moka.
//!
//! Quota accounting: a tenant's `used` grows when an entry is inserted and shrinks in moka's
//! eviction listener, which moka calls once for every stored entry when it is replaced,
//! removed or expired, so usage always matches what is stored. The writes of one tenant are
//! serialised by the tenant's lock, which also guards an index of its expiring keys: each
//! write first invalidates the keys that have expired, so they stop counting at once instead
//! of when moka's timer wheel (about 1 s granularity) gets to them.

use super::{
    CacheError, CacheLimits, CacheScope, CacheStore, PURGE_BATCH, PURGE_BATCH_OVER_QUOTA,
    check_key, check_ttl, check_value, entry_size, full_key, parse_integer,
};
use crate::clock::{Clock, SystemClock};
use domain::TenantId;
use moka::{Expiry, notification::RemovalCause, sync::Cache};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// One stored value and what it counts against its tenant.
struct Entry {
    tenant: Arc<TenantState>,
    value: Arc<str>,
    size: u64,
    expires_at: Option<Instant>,
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// Lets moka drop each entry at its own expiry instant.
struct EntryExpiry;

impl Expiry<String, Arc<Entry>> for EntryExpiry {
    fn expire_after_create(
        &self,
        _key: &String,
        entry: &Arc<Entry>,
        created_at: Instant,
    ) -> Option<Duration> {
        entry
            .expires_at
            .map(|at| at.saturating_duration_since(created_at))
    }

    fn expire_after_update(
        &self,
        _key: &String,
        entry: &Arc<Entry>,
        updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        entry
            .expires_at
            .map(|at| at.saturating_duration_since(updated_at))
    }
}

struct TenantState {
    /// Bytes of the tenant's stored entries (script key + JSON value each).
    used: AtomicU64,
    /// Held for the whole of each write of the tenant.
    expiring: Mutex<ExpiryIndex>,
}

/// The tenant's keys that carry a TTL, by expiry, as of the last write of each key.
#[derive(Default)]
struct ExpiryIndex {
    by_time: BTreeSet<(Instant, String)>,
    by_key: HashMap<String, Instant>,
}

impl ExpiryIndex {
    fn expiry_of(&self, key: &str) -> Option<Instant> {
        self.by_key.get(key).copied()
    }

    fn set(&mut self, key: &str, expires_at: Option<Instant>) {
        if let Some(old) = self.by_key.remove(key) {
            self.by_time.remove(&(old, key.to_owned()));
        }
        if let Some(at) = expires_at {
            self.by_time.insert((at, key.to_owned()));
            self.by_key.insert(key.to_owned(), at);
        }
    }

    /// Removes and returns up to `budget` keys that expired at or before `now`.
    fn take_expired(&mut self, now: Instant, budget: usize) -> Vec<String> {
        let mut keys = Vec::new();
        while keys.len() < budget && self.by_time.first().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, key)) = self.by_time.pop_first() {
                self.by_key.remove(&key);
                keys.push(key);
            }
        }
        keys
    }
}

/// The in-process cache: right for one node; several nodes need [`super::RedisCache`].
pub struct MemoryCache {
    clock: Arc<dyn Clock>,
    entries: Cache<String, Arc<Entry>>,
    tenants: Mutex<HashMap<TenantId, Arc<TenantState>>>,
    limits: CacheLimits,
}

impl std::fmt::Debug for MemoryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCache")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// moka's eviction listener: an entry that was replaced, removed or expired stops counting.
/// Runs on whichever thread drives moka; touches only the atomic counter, never a lock.
fn release(_key: Arc<String>, entry: Arc<Entry>, _cause: RemovalCause) {
    let size = entry.size;
    let used = &entry.tenant.used;
    // Cannot fail: the closure always returns Some.
    let _ = used.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
        Some(used.saturating_sub(size))
    });
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing between the steps of a write can panic, so a poisoned lock guards sound data.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryCache {
    pub fn new(limits: CacheLimits) -> Self {
        Self::with_clock(limits, Arc::new(SystemClock))
    }

    /// A cache whose expiries follow `clock`.
    pub fn with_clock(limits: CacheLimits, clock: Arc<dyn Clock>) -> Self {
        let entries = Cache::builder()
            .expire_after(EntryExpiry)
            .eviction_listener(release)
            .build();
        Self {
            clock,
            entries,
            tenants: Mutex::new(HashMap::new()),
            limits,
        }
    }

    fn tenant(&self, id: TenantId) -> Arc<TenantState> {
        let mut tenants = lock(&self.tenants);
        Arc::clone(tenants.entry(id).or_insert_with(|| {
            Arc::new(TenantState {
                used: AtomicU64::new(0),
                expiring: Mutex::default(),
            })
        }))
    }

    fn live(&self, full: &str, now: Instant) -> Option<Arc<Entry>> {
        self.entries.get(full).filter(|entry| entry.is_live(now))
    }

    /// Invalidates up to `budget` of the tenant's expired keys; the listener frees their bytes.
    fn purge(&self, expiring: &mut ExpiryIndex, now: Instant, budget: usize) {
        for key in expiring.take_expired(now, budget) {
            self.entries.invalidate(&key);
        }
    }

    /// Starts a write on `full` (tenant lock held): purges expired keys, the target first,
    /// and returns the live entry under `full`.
    fn begin(&self, expiring: &mut ExpiryIndex, full: &str, now: Instant) -> Option<Arc<Entry>> {
        if expiring.expiry_of(full).is_some_and(|at| at <= now) {
            expiring.set(full, None);
            self.entries.invalidate(full);
        }
        self.purge(expiring, now, PURGE_BATCH);
        self.live(full, now)
    }

    /// Checks that replacing `old` bytes by `new` keeps the tenant within its quota, purging
    /// more expired keys if needed. A write that does not grow the tenant is always allowed.
    fn ensure_room(
        &self,
        tenant: &TenantState,
        expiring: &mut ExpiryIndex,
        now: Instant,
        old: u64,
        new: u64,
    ) -> Result<(), CacheError> {
        let max = self.limits.max_tenant_bytes;
        let after = || tenant.used.load(Ordering::SeqCst).saturating_sub(old) + new;
        let fits = || new <= old || after() <= max;
        if fits() {
            return Ok(());
        }
        self.purge(expiring, now, PURGE_BATCH_OVER_QUOTA);
        if fits() {
            Ok(())
        } else {
            Err(CacheError::quota_exceeded(&self.limits))
        }
    }

    /// Inserts an entry (tenant lock held). Its bytes count from now on; the entry it
    /// replaces stops counting when moka reports the replacement to the listener.
    fn store(
        &self,
        tenant: &Arc<TenantState>,
        expiring: &mut ExpiryIndex,
        full: String,
        value: Arc<str>,
        size: u64,
        expires_at: Option<Instant>,
    ) {
        tenant.used.fetch_add(size, Ordering::SeqCst);
        expiring.set(&full, expires_at);
        let entry = Entry {
            tenant: Arc::clone(tenant),
            value,
            size,
            expires_at,
        };
        self.entries.insert(full, Arc::new(entry));
    }

    fn set_now(
        &self,
        scope: CacheScope,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        check_key(key, &self.limits)?;
        check_value(value, &self.limits)?;
        if let Some(ttl) = ttl {
            check_ttl(ttl, &self.limits)?;
        }
        let full = full_key(scope, key);
        let size = entry_size(key, value);
        let tenant = self.tenant(scope.tenant_id);
        let mut expiring = lock(&tenant.expiring);
        let now = self.clock.instant();
        let expires_at = match ttl {
            Some(ttl) => Some(
                now.checked_add(ttl)
                    .ok_or_else(|| CacheError::invalid_ttl(&self.limits))?,
            ),
            None => None,
        };
        let old = self
            .begin(&mut expiring, &full, now)
            .map_or(0, |entry| entry.size);
        self.ensure_room(&tenant, &mut expiring, now, old, size)?;
        self.store(
            &tenant,
            &mut expiring,
            full,
            Arc::from(value),
            size,
            expires_at,
        );
        Ok(true)
    }

    fn delete_now(&self, scope: CacheScope, key: &str) -> Result<bool, CacheError> {
        check_key(key, &self.limits)?;
        let full = full_key(scope, key);
        let tenant = self.tenant(scope.tenant_id);
        let mut expiring = lock(&tenant.expiring);
        let now = self.clock.instant();
        let existed = self.begin(&mut expiring, &full, now).is_some();
        expiring.set(&full, None);
        self.entries.invalidate(&full);
        Ok(existed)
    }

    fn increment_now(&self, scope: CacheScope, key: &str, delta: i64) -> Result<i64, CacheError> {
        check_key(key, &self.limits)?;
        let full = full_key(scope, key);
        let tenant = self.tenant(scope.tenant_id);
        let mut expiring = lock(&tenant.expiring);
        let now = self.clock.instant();
        let current = self.begin(&mut expiring, &full, now);
        let base = match &current {
            Some(entry) => parse_integer(&entry.value).ok_or_else(CacheError::not_a_number)?,
            None => 0,
        };
        let next = base.checked_add(delta).ok_or_else(CacheError::overflow)?;
        let text = next.to_string();
        check_value(&text, &self.limits)?;
        let size = entry_size(key, &text);
        let old = current.as_ref().map_or(0, |entry| entry.size);
        self.ensure_room(&tenant, &mut expiring, now, old, size)?;
        let expires_at = current.and_then(|entry| entry.expires_at);
        self.store(
            &tenant,
            &mut expiring,
            full,
            Arc::from(text),
            size,
            expires_at,
        );
        Ok(next)
    }

    fn expire_now(&self, scope: CacheScope, key: &str, ttl: Duration) -> Result<bool, CacheError> {
        check_key(key, &self.limits)?;
        check_ttl(ttl, &self.limits)?;
        let full = full_key(scope, key);
        let tenant = self.tenant(scope.tenant_id);
        let mut expiring = lock(&tenant.expiring);
        let now = self.clock.instant();
        let Some(current) = self.begin(&mut expiring, &full, now) else {
            return Ok(false);
        };
        let expires_at = now
            .checked_add(ttl)
            .ok_or_else(|| CacheError::invalid_ttl(&self.limits))?;
        let value = Arc::clone(&current.value);
        self.store(
            &tenant,
            &mut expiring,
            full,
            value,
            current.size,
            Some(expires_at),
        );
        Ok(true)
    }

    /// The bytes a tenant is charged for right now (for tests).
    #[cfg(test)]
    pub(super) fn used_bytes(&self, tenant: TenantId) -> u64 {
        self.tenant(tenant).used.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl CacheStore for MemoryCache {
    async fn get(&self, scope: CacheScope, key: &str) -> Result<Option<String>, CacheError> {
        check_key(key, &self.limits)?;
        let entry = self.live(&full_key(scope, key), self.clock.instant());
        Ok(entry.map(|entry| entry.value.to_string()))
    }

    async fn set(
        &self,
        scope: CacheScope,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        self.set_now(scope, key, value, ttl)
    }

    async fn delete(&self, scope: CacheScope, key: &str) -> Result<bool, CacheError> {
        self.delete_now(scope, key)
    }

    async fn exists(&self, scope: CacheScope, key: &str) -> Result<bool, CacheError> {
        check_key(key, &self.limits)?;
        Ok(self
            .live(&full_key(scope, key), self.clock.instant())
            .is_some())
    }

    async fn increment(&self, scope: CacheScope, key: &str, delta: i64) -> Result<i64, CacheError> {
        self.increment_now(scope, key, delta)
    }

    async fn expire(
        &self,
        scope: CacheScope,
        key: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        self.expire_now(scope, key, ttl)
    }
}
