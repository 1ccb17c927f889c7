//! Retention of the run history: finished executions (with their logs) and cron ticks older
//! than a number of days are pruned, by default for every tenant and with per-tenant
//! overrides. Executions still pending or running are never pruned, nor are dead letters
//! (they stay until someone handles them).

use crate::ids::TenantId;
use crate::repository::RepoError;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

/// Which tenants a prune covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One tenant (with its own retention).
    Tenant(TenantId),
    /// Every tenant but these (they have their own).
    AllBut(Vec<TenantId>),
}

/// How long the history is kept: days for every tenant, and tenants that keep theirs for
/// another number of days. Zero days keeps it forever.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub default_days: u32,
    pub tenants: Vec<(TenantId, u32)>,
}

impl RetentionPolicy {
    /// Each scope with the instant before which its history goes (scopes kept forever left
    /// out).
    pub fn cutoffs(&self, now: DateTime<Utc>) -> Vec<(Scope, DateTime<Utc>)> {
        let others = self.tenants.iter().map(|(tenant, _)| *tenant).collect();
        std::iter::once((Scope::AllBut(others), self.default_days))
            .chain(
                self.tenants
                    .iter()
                    .map(|(tenant, days)| (Scope::Tenant(*tenant), *days)),
            )
            .filter_map(|(scope, days)| cutoff(now, days).map(|at| (scope, at)))
            .collect()
    }
}

/// `days` before `now`; `None` for zero days (kept forever).
pub fn cutoff(now: DateTime<Utc>, days: u32) -> Option<DateTime<Utc>> {
    if days == 0 {
        return None;
    }
    now.checked_sub_signed(Duration::days(i64::from(days)))
}

/// Deletes old history in bounded batches (each a short statement, so that no lock is held
/// long).
#[async_trait]
pub trait RetentionRepository: Send + Sync {
    /// Deletes at most `limit` finished executions of `scope` created before `before`; how
    /// many.
    async fn prune_executions(
        &self,
        scope: &Scope,
        before: DateTime<Utc>,
        limit: u64,
    ) -> Result<u64, RepoError>;
    /// Deletes at most `limit` cron ticks of `scope` (not those still claimed) claimed before
    /// `before`; how many.
    async fn prune_ticks(
        &self,
        scope: &Scope,
        before: DateTime<Utc>,
        limit: u64,
    ) -> Result<u64, RepoError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_get_their_own_cutoff_and_zero_days_keeps_forever() {
        let now = DateTime::from_timestamp(100 * 86_400, 0).unwrap_or_default();
        let (long, forever) = (TenantId::new(), TenantId::new());
        let policy = RetentionPolicy {
            default_days: 30,
            tenants: vec![(long, 90), (forever, 0)],
        };
        let cutoffs = policy.cutoffs(now);
        assert_eq!(
            cutoffs,
            vec![
                (Scope::AllBut(vec![long, forever]), now - Duration::days(30)),
                (Scope::Tenant(long), now - Duration::days(90)),
            ]
        );
        let keep_all = RetentionPolicy::default();
        assert!(keep_all.cutoffs(now).is_empty());
    }
}
