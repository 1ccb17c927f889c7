//! A pass's batch with the durable queue: one look for runs still going, one transaction for
//! the claims with their ticks and their runs' `pending` executions, one for the jobs, one to
//! mark the ticks started. The runs then start on this node at once while slots are free; the
//! rest wait in the queue for any node's workers.

use super::{PassReport, Scheduler};
use crate::executions::ExecutionServiceError;
use chrono::{DateTime, Utc};
use domain::execution::Execution;
use domain::jobs::{Job, JobQueue, QueuedRun};
use domain::repository::RepoError;
use domain::schedule::{TickClaim, TickStatus, is_missed};
use domain::script::Script;
use std::time::Duration;
use tokio::task::JoinHandle;

/// A due script of the batch, with what the pass decided for it.
struct Decided {
    script: Script,
    missed: bool,
}

impl Scheduler {
    pub(super) async fn claim_batch(
        &self,
        due: Vec<Script>,
        now: DateTime<Utc>,
        queue: &dyn JobQueue,
        report: &mut PassReport,
    ) -> Result<(), RepoError> {
        let keys: Vec<_> = due.iter().map(|s| (s.tenant_id, s.id)).collect();
        let running = self
            .executions
            .running_among(&keys)
            .await
            .map_err(|e| RepoError::Storage(e.to_string()))?;
        let mut claims = Vec::with_capacity(due.len());
        let mut decided = Vec::with_capacity(due.len());
        for script in due {
            let (Some(at), Some(cron)) = (script.next_run_at, script.spec.cron()) else {
                continue;
            };
            // The next tick after now: ticks between `at` and now are not run one by one.
            let next_run_at = cron.next_after(now.max(at));
            let missed = is_missed(at, now, self.config.missed_after);
            let status = Self::tick_status(&script, missed, running.contains(&script.id));
            let run = (status == TickStatus::Claimed)
                .then(|| self.executions.pending_run(&script, Self::request(at)));
            claims.push((
                TickClaim {
                    tenant_id: script.tenant_id,
                    script_id: script.id,
                    scheduled_for: at,
                    next_run_at,
                    node: self.config.node.clone(),
                    claimed_at: now,
                    status,
                },
                run,
            ));
            decided.push(Decided { script, missed });
        }
        let won = self.schedule.claim_many(&claims).await?;
        let mut jobs = Vec::new();
        let mut ticks = Vec::new();
        let mut runs = Vec::new();
        for (((claim, run), decided), won) in claims.into_iter().zip(decided).zip(won) {
            if !won {
                report.lost += 1;
                continue;
            }
            let Decided { script, missed } = decided;
            self.claimed(&script, claim.scheduled_for, claim.status, missed, report)
                .await;
            if let Some(run) = run {
                jobs.push(Job::Run(QueuedRun {
                    execution_id: run.id,
                    tenant_id: run.tenant_id,
                }));
                ticks.push((script.id, claim.scheduled_for));
                runs.push((script, run));
            }
        }
        // Should this fail, the ticks stay claimed and linked to their runs: once stale, they
        // are taken over and their runs queued then.
        queue
            .push_many(jobs)
            .await
            .map_err(|e| RepoError::Storage(e.to_string()))?;
        let fired_at = self.clock.now();
        for (_, scheduled_for) in &ticks {
            crate::metrics::cron_fired((fired_at - *scheduled_for).to_std().unwrap_or_default());
        }
        self.schedule.started_many(&ticks).await?;
        for (script, run) in runs {
            report.started.push(self.start_queued(script, run).await);
        }
        Ok(())
    }

    /// Starts a queued run on this node if a slot is free now; otherwise its job starts it
    /// later, on whichever node takes it (only one start of a `pending` execution wins). The
    /// handle ends when the run is recorded (at once when it was left to its job).
    pub(super) async fn start_queued(&self, script: Script, run: Execution) -> JoinHandle<()> {
        let Ok(reservation) = self.executions.reserve(&script, Duration::ZERO).await else {
            return tokio::spawn(async {});
        };
        let executions = self.executions.clone();
        let alerts = self.alerts.clone();
        tokio::spawn(async move {
            match executions
                .run_queued_reserved(&script, run, reservation)
                .await
            {
                Ok(Some(execution)) => {
                    if let Some(alerts) = &alerts {
                        alerts.after_run(&script, &execution).await;
                    }
                }
                Ok(None) | Err(ExecutionServiceError::Busy(_)) => {}
                Err(error) => {
                    tracing::warn!(%error, script = %script.id, "a cron run left to its job")
                }
            }
        })
    }
}
