//! Concurrency limits: runs at once in the process, per tenant and per script. A permit is
//! held by the execution's thread until that thread is really done. A caller may wait a bounded
//! time for a permit: every permit given back wakes the waiters to try again.

use domain::{ScriptId, TenantId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    #[error("the server is running its maximum of {max} executions")]
    Process { max: usize },
    #[error("the tenant is running its maximum of {max} executions")]
    Tenant { max: usize },
    #[error("the script is running its maximum of {max} executions (maxConcurrentRuns)")]
    Script { max: usize },
}

#[derive(Default)]
struct Counts {
    total: usize,
    tenants: HashMap<TenantId, usize>,
    scripts: HashMap<ScriptId, usize>,
}

#[derive(Clone)]
pub(crate) struct Limiter {
    counts: Arc<Mutex<Counts>>,
    released: Arc<Notify>,
    max_total: usize,
    max_per_tenant: usize,
}

pub(crate) struct Permit {
    counts: Arc<Mutex<Counts>>,
    released: Arc<Notify>,
    tenant: TenantId,
    script: ScriptId,
}

fn lock(counts: &Mutex<Counts>) -> MutexGuard<'_, Counts> {
    // The counts stay consistent even if a holder panicked: every change is a single step.
    counts
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Limiter {
    pub(crate) fn new(max_total: usize, max_per_tenant: usize) -> Self {
        Self {
            counts: Arc::default(),
            released: Arc::default(),
            max_total,
            max_per_tenant,
        }
    }

    pub(crate) fn acquire(
        &self,
        tenant: TenantId,
        script: ScriptId,
        max_per_script: usize,
    ) -> Result<Permit, LimitExceeded> {
        let mut counts = lock(&self.counts);
        if counts.total >= self.max_total {
            return Err(LimitExceeded::Process {
                max: self.max_total,
            });
        }
        if counts.tenants.get(&tenant).copied().unwrap_or(0) >= self.max_per_tenant {
            return Err(LimitExceeded::Tenant {
                max: self.max_per_tenant,
            });
        }
        if counts.scripts.get(&script).copied().unwrap_or(0) >= max_per_script {
            return Err(LimitExceeded::Script {
                max: max_per_script,
            });
        }
        counts.total += 1;
        *counts.tenants.entry(tenant).or_default() += 1;
        *counts.scripts.entry(script).or_default() += 1;
        Ok(Permit {
            counts: self.counts.clone(),
            released: self.released.clone(),
            tenant,
            script,
        })
    }

    /// As [`Limiter::acquire`], waiting up to `wait` for a permit to be given back; the
    /// refusal of the last try when none was.
    pub(crate) async fn acquire_within(
        &self,
        tenant: TenantId,
        script: ScriptId,
        max_per_script: usize,
        wait: Duration,
    ) -> Result<Permit, LimitExceeded> {
        let deadline = tokio::time::Instant::from_std(crate::clock::now() + wait);
        loop {
            // Registered before the try, so that a permit given back in between is not missed.
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            let refusal = match self.acquire(tenant, script, max_per_script) {
                Ok(permit) => return Ok(permit),
                Err(refusal) => refusal,
            };
            if tokio::time::timeout_at(deadline, released).await.is_err() {
                return Err(refusal);
            }
        }
    }

    pub(crate) fn running(&self) -> usize {
        lock(&self.counts).total
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.tenants.get_mut(&self.tenant) {
            *n -= 1;
            if *n == 0 {
                counts.tenants.remove(&self.tenant);
            }
        }
        if let Some(n) = counts.scripts.get_mut(&self.script) {
            *n -= 1;
            if *n == 0 {
                counts.scripts.remove(&self.script);
            }
        }
        drop(counts);
        self.released.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_hold_and_permits_give_back() {
        let limiter = Limiter::new(3, 2);
        let (a, b) = (TenantId::new(), TenantId::new());
        let (s1, s2, s3) = (ScriptId::new(), ScriptId::new(), ScriptId::new());
        let p1 = limiter.acquire(a, s1, 1).expect("first");
        assert_eq!(
            limiter.acquire(a, s1, 1).err(),
            Some(LimitExceeded::Script { max: 1 })
        );
        let _p2 = limiter.acquire(a, s2, 5).expect("second script");
        assert_eq!(
            limiter.acquire(a, s3, 5).err(),
            Some(LimitExceeded::Tenant { max: 2 })
        );
        let _p3 = limiter.acquire(b, s3, 5).expect("other tenant");
        assert_eq!(
            limiter.acquire(b, ScriptId::new(), 5).err(),
            Some(LimitExceeded::Process { max: 3 })
        );
        drop(p1);
        assert_eq!(limiter.running(), 2);
        assert!(limiter.acquire(a, s1, 1).is_ok());
    }

    #[tokio::test]
    async fn a_waiter_gets_the_permit_given_back_and_a_timed_out_one_is_refused() {
        let limiter = Limiter::new(1, 1);
        let (tenant, script) = (TenantId::new(), ScriptId::new());
        let held = limiter.acquire(tenant, script, 1).expect("first");
        let refused = limiter
            .acquire_within(tenant, script, 1, Duration::from_millis(1))
            .await;
        assert_eq!(refused.err(), Some(LimitExceeded::Process { max: 1 }));
        let waiting = {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                limiter
                    .acquire_within(tenant, script, 1, Duration::from_secs(60))
                    .await
                    .map(drop)
            })
        };
        tokio::task::yield_now().await;
        drop(held);
        assert_eq!(waiting.await.expect("join"), Ok(()));
    }
}
