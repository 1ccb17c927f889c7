//! `Retention`: prunes the run history past the operator's retention (per tenant where it is
//! overridden), in small batches with a pause between them, on every node every `interval`
//! (deleting the same old rows twice is harmless: the second finds none).

use crate::clock::Clock;
use crate::drain::Drain;
use domain::repository::{RepoError, TenantRepository};
use domain::retention::{RetentionPolicy, RetentionRepository};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// The longest wait before a node's first prune.
const FIRST_PRUNE: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
pub struct RetentionConfig {
    /// Days the history of every tenant is kept (0: forever).
    pub default_days: u32,
    /// Tenants (by slug) that keep theirs another number of days.
    pub tenant_days: Vec<(String, u32)>,
    /// How often the history is pruned.
    pub interval: Duration,
    /// Rows per delete statement.
    pub batch: u64,
    /// The pause between two batches, leaving the database to others.
    pub pause: Duration,
}

/// Rows one prune deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub executions: u64,
    pub ticks: u64,
}

pub struct Retention {
    history: Arc<dyn RetentionRepository>,
    tenants: Arc<dyn TenantRepository>,
    clock: Arc<dyn Clock>,
    config: RetentionConfig,
}

impl Retention {
    pub fn new(
        history: Arc<dyn RetentionRepository>,
        tenants: Arc<dyn TenantRepository>,
        clock: Arc<dyn Clock>,
        config: RetentionConfig,
    ) -> Self {
        Self {
            history,
            tenants,
            clock,
            config,
        }
    }

    /// The policy now: overrides of tenants that exist (an unknown slug is logged and left).
    async fn policy(&self) -> Result<RetentionPolicy, RepoError> {
        let mut tenants = Vec::new();
        for (slug, days) in &self.config.tenant_days {
            match self.tenants.get_by_slug(slug).await? {
                Some(tenant) => tenants.push((tenant.id, *days)),
                None => tracing::warn!(%slug, "retention set for a tenant that does not exist"),
            }
        }
        Ok(RetentionPolicy {
            default_days: self.config.default_days,
            tenants,
        })
    }

    /// Prunes everything past retention now, batch by batch.
    pub async fn prune(&self) -> Result<PruneReport, RepoError> {
        let policy = self.policy().await?;
        let mut report = PruneReport::default();
        for (scope, before) in policy.cutoffs(self.clock.now()) {
            report.executions += self
                .drain_batches(|limit| self.history.prune_executions(&scope, before, limit))
                .await?;
            report.ticks += self
                .drain_batches(|limit| self.history.prune_ticks(&scope, before, limit))
                .await?;
        }
        Ok(report)
    }

    /// Runs `delete` until a batch comes back short; the rows deleted.
    async fn drain_batches<F, Fut>(&self, delete: F) -> Result<u64, RepoError>
    where
        F: Fn(u64) -> Fut,
        Fut: std::future::Future<Output = Result<u64, RepoError>>,
    {
        let batch = self.config.batch.max(1);
        let mut total = 0;
        loop {
            let deleted = delete(batch).await?;
            total += deleted;
            if deleted < batch {
                return Ok(total);
            }
            tokio::time::sleep(self.config.pause).await;
        }
    }

    /// Prunes a minute after start (or after `interval`, if shorter: nodes restarting
    /// together do not all prune at once, and a node that fails at start does not prune),
    /// then every `interval`, until the node drains.
    pub fn spawn(self: Arc<Self>, drain: Drain) -> JoinHandle<()> {
        tokio::spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(self.config.interval.min(FIRST_PRUNE)) => {}
                () = drain.started() => {}
            }
            while !drain.is_draining() {
                match self.prune().await {
                    Ok(report) if report == PruneReport::default() => {}
                    Ok(report) => {
                        crate::metrics::pruned(report.executions, report.ticks);
                        tracing::info!(
                            executions = report.executions,
                            ticks = report.ticks,
                            "history past retention pruned"
                        )
                    }
                    Err(error) => tracing::warn!(%error, "the history could not be pruned"),
                }
                tokio::select! {
                    () = tokio::time::sleep(self.config.interval) => {}
                    () = drain.started() => {}
                }
            }
        })
    }
}
