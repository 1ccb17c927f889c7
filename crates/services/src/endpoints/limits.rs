//! The admission limits of HTTP endpoints: request rates per tenant and per (tenant, route),
//! with `governor` (GCRA), and the bounded queue of a tenant's requests waiting for a
//! concurrency slot of the engine.

use crate::clock::Clock;
use domain::TenantId;
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Requests per second, and how many may come at once after a quiet time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Rate {
    pub(crate) fn quota(self) -> Quota {
        Quota::per_second(self.per_second).allow_burst(self.burst)
    }
}

/// How often the limiters forget keys that are back at full capacity.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

pub(crate) struct RateLimits {
    tenants: DefaultKeyedRateLimiter<TenantId>,
    routes: DefaultKeyedRateLimiter<(TenantId, String)>,
    clock: Arc<dyn Clock>,
    swept_at: Mutex<Option<Instant>>,
}

impl RateLimits {
    pub(crate) fn new(tenant: Rate, route: Rate, clock: Arc<dyn Clock>) -> Self {
        Self {
            tenants: RateLimiter::dashmap(tenant.quota()),
            routes: RateLimiter::dashmap(route.quota()),
            clock,
            swept_at: Mutex::new(None),
        }
    }

    /// Admits one request to `route` of `tenant`, or says how long to wait.
    pub(crate) fn admit(&self, tenant: TenantId, route: &str) -> Result<(), Duration> {
        self.sweep();
        // The limiters' own clock: building a clock calibrates it (CPUID and a time read),
        // several microseconds that every request paid when one was built per request.
        let now = self.routes.clock().now();
        self.routes
            .check_key(&(tenant, route.to_owned()))
            .map_err(|refused| refused.wait_time_from(now))?;
        self.tenants
            .check_key(&tenant)
            .map_err(|refused| refused.wait_time_from(now))
    }

    fn sweep(&self) {
        let now = self.clock.instant();
        let mut swept_at = lock(&self.swept_at);
        if swept_at.is_some_and(|at| now < at + SWEEP_EVERY) {
            return;
        }
        *swept_at = Some(now);
        drop(swept_at);
        self.tenants.retain_recent();
        self.routes.retain_recent();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// How many of each tenant's requests may wait for a concurrency slot at once.
pub(crate) struct WaitQueue {
    depth: usize,
    waiting: Arc<Mutex<HashMap<TenantId, usize>>>,
}

/// A place in the queue, given back when dropped.
pub(crate) struct Place {
    waiting: Arc<Mutex<HashMap<TenantId, usize>>>,
    tenant: TenantId,
}

impl WaitQueue {
    pub(crate) fn new(depth: usize) -> Self {
        Self {
            depth,
            waiting: Arc::default(),
        }
    }

    /// A place for one of `tenant`'s requests; `None` when the tenant's queue is full.
    pub(crate) fn enter(&self, tenant: TenantId) -> Option<Place> {
        let mut waiting = lock(&self.waiting);
        let count = waiting.entry(tenant).or_default();
        if *count >= self.depth {
            return None;
        }
        *count += 1;
        Some(Place {
            waiting: self.waiting.clone(),
            tenant,
        })
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut waiting = lock(&self.waiting);
        if let Some(count) = waiting.get_mut(&self.tenant) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                waiting.remove(&self.tenant);
            }
        }
    }
}
