//! The cron scheduler: each pass (every `poll_interval` on a running node) claims the ticks of
//! active scheduled scripts that fell due and starts their runs. A claim moves the script's
//! `next_run_at` on in storage and records the tick in the same transaction, so across any
//! number of nodes each tick fires once; a tick whose node died between claim and start is
//! taken over. A tick that comes while the script's last run still goes is skipped and
//! recorded as such; ticks missed while every node was down run once. Time comes only from
//! the injected clock.
//!
//! With the durable queue (every running node), a pass claims its whole batch at once
//! (`batch`): one transaction stores the claims, their ticks and their runs' `pending`
//! executions, one more queues the runs, so ten thousand scripts due at one instant are all
//! fired within a second or so.

mod batch;

use crate::alerts::Alerts;
use crate::clock::Clock;
use crate::drain::Drain;
use crate::executions::{ExecutionService, RunRequest};
use crate::health::{Heartbeat, LoopComponent};
use chrono::{DateTime, Utc};
use domain::execution::{Trigger, TriggerDetails, TriggerKind};
use domain::jobs::JobQueue;
use domain::repository::{RepoError, ScheduleRepository, ScriptRepository};
use domain::schedule::{MissedRuns, TickClaim, TickStatus, is_missed};
use domain::script::Script;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// This node's name in the ticks it claims.
    pub node: String,
    /// How often due ticks are looked for (a tick fires at most this late on a live node).
    pub poll_interval: Duration,
    /// A tick later than this was missed: no node was running when it fell due.
    pub missed_after: Duration,
    /// A claim not started after this long belongs to a node that died: another takes it over.
    pub stale_claim_after: Duration,
    /// Ticks handled per pass at most.
    pub batch: u64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            node: format!("node-{}", std::process::id()),
            poll_interval: Duration::from_millis(500),
            missed_after: Duration::from_secs(60),
            stale_claim_after: Duration::from_secs(30),
            batch: 500,
        }
    }
}

/// What one pass did.
#[derive(Debug, Default)]
pub struct PassReport {
    /// The runs it started, each ending when its execution is recorded.
    pub started: Vec<JoinHandle<()>>,
    /// Due scripts this pass looked at.
    pub due: usize,
    pub skipped_overlap: usize,
    pub skipped_missed: usize,
    /// Ticks another node claimed first.
    pub lost: usize,
    /// Claims of dead nodes this node took over.
    pub taken_over: usize,
}

pub struct Scheduler {
    schedule: Arc<dyn ScheduleRepository>,
    scripts: Arc<dyn ScriptRepository>,
    executions: Arc<ExecutionService>,
    clock: Arc<dyn Clock>,
    config: SchedulerConfig,
    alerts: Option<Arc<Alerts>>,
    queue: Option<Arc<dyn JobQueue>>,
    beat: Heartbeat,
}

impl Scheduler {
    pub fn new(
        schedule: Arc<dyn ScheduleRepository>,
        scripts: Arc<dyn ScriptRepository>,
        executions: Arc<ExecutionService>,
        clock: Arc<dyn Clock>,
        config: SchedulerConfig,
    ) -> Self {
        Self {
            schedule,
            scripts,
            executions,
            beat: Heartbeat::new(clock.clone()),
            clock,
            config,
            alerts: None,
            queue: None,
        }
    }

    /// Runs go through the durable job queue: a tick's run survives a crash, waits for a free
    /// slot instead of failing when the limits are full, and runs on any node. Without it a
    /// run starts on this node at once (tests drive the scheduler that way).
    pub fn with_queue(mut self, queue: Arc<dyn JobQueue>) -> Self {
        self.queue = Some(queue);
        self
    }

    /// Failed runs and missed ticks raise the scripts' alerts.
    pub fn with_alerts(mut self, alerts: Arc<Alerts>) -> Self {
        self.alerts = Some(alerts);
        self
    }

    /// The scheduler as the readiness probe sees it: unready when no pass has succeeded for a
    /// minute (or ten poll intervals, if longer), with the last pass's error.
    pub fn health(&self) -> LoopComponent {
        LoopComponent {
            name: "scheduler",
            what: "the cron scheduler",
            beat: self.beat.clone(),
            within: (self.config.poll_interval * 10).max(Duration::from_secs(60)),
        }
    }

    /// Runs passes until the node drains (never stopping inside a pass) or the task is
    /// aborted. The runs a pass started go on by themselves.
    pub fn spawn(self: Arc<Self>, drain: Drain) -> JoinHandle<()> {
        tokio::spawn(async move {
            tracing::info!(node = %self.config.node, "cron scheduler started");
            while !drain.is_draining() {
                let passed = self.pass().await;
                match &passed {
                    Ok(_) => self.beat.succeeded(),
                    Err(error) => self.beat.failed(error.to_string()),
                }
                match passed {
                    // A full batch: more may be due now, so the next pass starts at once.
                    Ok(report) if report.due as u64 >= self.config.batch => continue,
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "cron scheduler pass failed; retrying"),
                }
                tokio::select! {
                    () = tokio::time::sleep(self.pause().await) => {}
                    () = drain.started() => {}
                }
            }
            self.beat.stopped("the node drains");
            tracing::info!(node = %self.config.node, "cron scheduler stopped: the node drains");
        })
    }

    /// How long to wait for the next pass: until the earliest tick falls due, but no longer
    /// than `poll_interval` (another node may make a script due sooner).
    async fn pause(&self) -> Duration {
        let poll = self.config.poll_interval;
        match self.schedule.next_due().await {
            // A tick due already was left by the pass (another node holds it): no hurry.
            Ok(Some(next)) => (next - self.clock.now())
                .to_std()
                .map_or(poll, |d| d.min(poll)),
            Ok(None) => poll,
            Err(error) => {
                tracing::warn!(%error, "cannot read the next due tick");
                poll
            }
        }
    }

    /// One pass: takes over dead nodes' claims, then claims and fires every due tick.
    pub async fn pass(&self) -> Result<PassReport, RepoError> {
        let now = self.clock.now();
        let mut report = PassReport::default();
        let stale = chrono::Duration::from_std(self.config.stale_claim_after)
            .unwrap_or(chrono::Duration::MAX);
        let before = now.checked_sub_signed(stale).unwrap_or(now);
        for tick in self
            .schedule
            .stale_claims(before, self.config.batch)
            .await?
        {
            if !self
                .schedule
                .take_over(&tick, &self.config.node, now)
                .await?
            {
                continue;
            }
            report.taken_over += 1;
            tracing::warn!(script = %tick.script_id, scheduled_for = %tick.scheduled_for, dead_node = %tick.node, "taking over a tick its node claimed but never started");
            if let (Some(execution), Some(queue)) = (tick.execution_id, &self.queue) {
                // Its run is stored already: queue it (again; a run starts only once).
                let job = domain::jobs::Job::Run(domain::jobs::QueuedRun {
                    execution_id: execution,
                    tenant_id: tick.tenant_id,
                });
                queue
                    .push(job, Duration::ZERO)
                    .await
                    .map_err(|e| RepoError::Storage(e.to_string()))?;
                self.schedule
                    .started(tick.script_id, tick.scheduled_for, Some(execution))
                    .await?;
                continue;
            }
            match self.scripts.get(tick.tenant_id, tick.script_id).await? {
                Some(script) => {
                    if let Some(alerts) = &self.alerts {
                        alerts.missed_run(&script, tick.scheduled_for).await;
                    }
                    report
                        .started
                        .push(self.fire(script, tick.scheduled_for).await?)
                }
                None => {
                    tracing::info!(script = %tick.script_id, "the script of a stale tick is gone")
                }
            }
        }
        let due = self.schedule.due(now, self.config.batch).await?;
        report.due = due.len();
        if let Some(queue) = &self.queue {
            self.claim_batch(due, now, queue.as_ref(), &mut report)
                .await?;
            return Ok(report);
        }
        for script in due {
            self.claim_due(script, now, &mut report).await?;
        }
        Ok(report)
    }

    /// What becomes of a tick: skipped (missed under `skip`, or overlapping a run that still
    /// goes) or claimed to run.
    fn tick_status(script: &Script, missed: bool, running: bool) -> TickStatus {
        if missed && script.spec.options.missed_runs == MissedRuns::Skip {
            TickStatus::SkippedMissed
        } else if running {
            TickStatus::SkippedOverlap
        } else {
            TickStatus::Claimed
        }
    }

    /// Counts, logs and alerts of a tick this node claimed.
    async fn claimed(
        &self,
        script: &Script,
        due: DateTime<Utc>,
        status: TickStatus,
        missed: bool,
        report: &mut PassReport,
    ) {
        if let (true, Some(alerts)) = (missed, &self.alerts) {
            alerts.missed_run(script, due).await;
        }
        match status {
            TickStatus::SkippedOverlap => {
                report.skipped_overlap += 1;
                tracing::warn!(script = %script.id, scheduled_for = %due, "cron tick skipped: the previous run is still going");
            }
            TickStatus::SkippedMissed => {
                report.skipped_missed += 1;
                tracing::info!(script = %script.id, scheduled_for = %due, "missed cron tick skipped (missedRuns: skip)");
            }
            TickStatus::Claimed | TickStatus::Started if missed => {
                tracing::info!(script = %script.id, scheduled_for = %due, "running a missed cron tick once");
            }
            TickStatus::Claimed | TickStatus::Started => {}
        }
    }

    async fn claim_due(
        &self,
        script: Script,
        now: DateTime<Utc>,
        report: &mut PassReport,
    ) -> Result<(), RepoError> {
        let (Some(due), Some(cron)) = (script.next_run_at, script.spec.cron()) else {
            return Ok(());
        };
        // The next tick after now: ticks between `due` and now are not run one by one.
        let next_run_at = cron.next_after(now.max(due));
        let missed = is_missed(due, now, self.config.missed_after);
        let skip_missed = missed && script.spec.options.missed_runs == MissedRuns::Skip;
        let running = !skip_missed
            && self
                .executions
                .is_running(script.tenant_id, script.id)
                .await
                .map_err(|e| RepoError::Storage(e.to_string()))?;
        let status = Self::tick_status(&script, missed, running);
        let claim = TickClaim {
            tenant_id: script.tenant_id,
            script_id: script.id,
            scheduled_for: due,
            next_run_at,
            node: self.config.node.clone(),
            claimed_at: now,
            status,
        };
        if !self.schedule.claim(&claim).await? {
            report.lost += 1;
            return Ok(());
        }
        self.claimed(&script, due, status, missed, report).await;
        if status == TickStatus::Claimed {
            report.started.push(self.fire(script, due).await?);
        }
        Ok(())
    }

    /// Starts the tick's run: queued as a durable job (the tick is linked to its pending
    /// execution), or run in the background on this node when there is no queue.
    async fn fire(
        &self,
        script: Script,
        scheduled_for: DateTime<Utc>,
    ) -> Result<JoinHandle<()>, RepoError> {
        let request = Self::request(scheduled_for);
        if let Some(queue) = &self.queue {
            let execution = self
                .executions
                .enqueue_unattended(&script, request, queue.as_ref())
                .await
                .map_err(|e| RepoError::Storage(e.to_string()))?;
            self.schedule
                .started(script.id, scheduled_for, Some(execution.id))
                .await?;
            return Ok(self.start_queued(script, execution).await);
        }
        self.schedule
            .started(script.id, scheduled_for, None)
            .await?;
        let executions = self.executions.clone();
        let schedule = self.schedule.clone();
        let alerts = self.alerts.clone();
        Ok(tokio::spawn(async move {
            match executions.run_unattended(&script, request).await {
                Ok(execution) => {
                    if let Some(alerts) = &alerts {
                        alerts.after_run(&script, &execution).await;
                    }
                    let recorded = schedule
                        .started(script.id, scheduled_for, Some(execution.id))
                        .await;
                    if let Err(error) = recorded {
                        tracing::warn!(%error, "the tick's execution could not be linked");
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, script = %script.id, "a cron run could not be started")
                }
            }
        }))
    }

    /// The run of the tick due at `scheduled_for`.
    fn request(scheduled_for: DateTime<Utc>) -> RunRequest {
        RunRequest {
            trigger: Trigger {
                kind: TriggerKind::Cron,
                details: TriggerDetails {
                    cron_time: Some(scheduled_for),
                    ..Default::default()
                },
            },
            input: Value::Object(serde_json::Map::new()),
            argument: None,
            attempt: 1,
            event_depth: 0,
        }
    }
}
