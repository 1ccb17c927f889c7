//! Delivering one event to one subscribed script, as a durable job: the run is recorded with
//! its event id and attempt; a failed attempt is queued again after a backoff with full
//! jitter, and the last one leaves a dead letter. A run refused by a concurrency limit waits
//! and tries again without spending an attempt (durable work is never dropped for capacity),
//! and so does a run its node interrupted while stopping.

use crate::alerts::Alerts;
use crate::clock::Clock;
use crate::executions::{ExecutionService, ExecutionServiceError, RunRequest, was_interrupted};
use async_trait::async_trait;
use domain::execution::{ExecutionStatus, Trigger, TriggerDetails, TriggerKind};
use domain::jobs::{
    DeadLetter, DeadLetterRepository, DeadLetterStatus, EventDelivery, Job, JobHandler, JobQueue,
    QueueError, RetryPolicy,
};
use domain::repository::ScriptRepository;
use domain::script::ScriptStatus;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// How long a delivery refused for capacity waits before it tries again.
const CAPACITY_WAIT: Duration = Duration::from_secs(1);

pub struct DeliveryHandler {
    pub(super) scripts: Arc<dyn ScriptRepository>,
    pub(super) executions: Arc<ExecutionService>,
    pub(super) queue: Arc<dyn JobQueue>,
    pub(super) dead_letters: Arc<dyn DeadLetterRepository>,
    pub(super) retry: RetryPolicy,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) alerts: Option<Arc<Alerts>>,
}

fn storage(error: impl std::fmt::Display) -> QueueError {
    QueueError(error.to_string())
}

impl DeliveryHandler {
    async fn deliver(&self, delivery: EventDelivery) -> Result<(), QueueError> {
        let script = self
            .scripts
            .get(delivery.tenant_id, delivery.script_id)
            .await
            .map_err(storage)?;
        let Some(script) = script else {
            tracing::info!(event = %delivery.event_id, script = %delivery.script_id, "event not delivered: the script is gone");
            return Ok(());
        };
        let subscribed = script.spec.status == ScriptStatus::Active
            && script
                .spec
                .event_types()
                .iter()
                .any(|t| t.matches(&delivery.event_type));
        if !subscribed && delivery.retry_of.is_none() {
            tracing::info!(event = %delivery.event_id, script = %script.id, "event not delivered: the script no longer subscribes");
            return Ok(());
        }
        // The shape of `ScriptEvent` in sdk.d.ts.
        let event = json!({
            "event_id": delivery.event_id,
            "type": delivery.event_type,
            "payload": delivery.payload,
            "tenant_id": delivery.tenant_id,
            "timestamp": delivery.published_at,
            "source_script_id": delivery.source_script_id,
            "depth": delivery.depth,
            "attempt": delivery.attempt,
        });
        let request = RunRequest {
            trigger: Trigger {
                kind: TriggerKind::Event,
                details: TriggerDetails {
                    event_id: Some(delivery.event_id.to_string()),
                    event_type: Some(delivery.event_type.clone()),
                    ..Default::default()
                },
            },
            input: delivery.payload.clone(),
            argument: Some(event),
            attempt: i32::try_from(delivery.attempt).unwrap_or(i32::MAX),
            event_depth: delivery.depth + 1,
        };
        let execution = match self.executions.run_unattended(&script, request).await {
            Ok(execution) => execution,
            Err(ExecutionServiceError::Busy(_)) => {
                let job = Job::EventDelivery(delivery);
                return self.queue.push(job, CAPACITY_WAIT).await;
            }
            Err(error) => return Err(storage(error)),
        };
        if was_interrupted(&execution) {
            // Its node stopped: the same attempt runs again, on any node.
            tracing::info!(event = %delivery.event_id, script = %script.id, "interrupted event delivery queued again");
            return self
                .queue
                .push(Job::EventDelivery(delivery), Duration::ZERO)
                .await;
        }
        if let Some(alerts) = &self.alerts {
            alerts.after_run(&script, &execution).await;
        }
        if execution.status == ExecutionStatus::Completed {
            return Ok(());
        }
        let retry = script.spec.options.retry.resolve(self.retry);
        if !retry.exhausted(delivery.attempt) {
            let delay = retry.delay(delivery.attempt, rand::random::<f64>());
            tracing::info!(event = %delivery.event_id, script = %script.id, attempt = delivery.attempt, delay_ms = delay.as_millis() as u64, "event delivery failed; retrying");
            return self
                .queue
                .push(Job::EventDelivery(delivery.next_attempt()), delay)
                .await;
        }
        let error = execution
            .error
            .clone()
            .unwrap_or(domain::execution::ExecutionError {
                code: execution.status.as_str().to_uppercase(),
                message: format!("the run ended {}", execution.status),
                line: None,
                column: None,
                stack: None,
            });
        let letter = DeadLetter {
            id: domain::ids::fresh_uuid(),
            attempts: delivery.attempt,
            delivery,
            script_version: execution.script_version,
            error,
            last_execution_id: Some(execution.id),
            status: DeadLetterStatus::Pending,
            created_at: self.clock.now(),
            handled_at: None,
        };
        tracing::warn!(event = %letter.delivery.event_id, script = %script.id, attempts = letter.attempts, "event delivery failed its last attempt: dead letter stored");
        self.dead_letters.insert(&letter).await.map_err(storage)?;
        if let Some(alerts) = &self.alerts {
            alerts.dead_letter(&script, &letter).await;
        }
        Ok(())
    }
}

impl DeliveryHandler {
    /// Raises the alerts of an async run's script, if it has any.
    async fn alert_after(&self, execution: &domain::execution::Execution) {
        let Some(alerts) = &self.alerts else {
            return;
        };
        match self
            .scripts
            .get(execution.tenant_id, execution.script_id)
            .await
        {
            Ok(Some(script)) => alerts.after_run(&script, execution).await,
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, execution = %execution.id, "no alert: the script could not be read")
            }
        }
    }
}

#[async_trait]
impl JobHandler for DeliveryHandler {
    async fn handle(&self, job: Job) -> Result<(), QueueError> {
        match job {
            Job::EventDelivery(delivery) => self.deliver(delivery).await,
            Job::Run(run) => match self
                .executions
                .run_queued(run.tenant_id, run.execution_id)
                .await
            {
                // Interrupted by its node's stop: pending again, for any node to run.
                Ok(Some(execution)) if was_interrupted(&execution) => {
                    self.queue.push(Job::Run(run), Duration::ZERO).await
                }
                Ok(Some(execution)) => {
                    self.alert_after(&execution).await;
                    Ok(())
                }
                Ok(None) => Ok(()),
                // No slot came free: it stays pending and waits its turn again.
                Err(ExecutionServiceError::Busy(_)) => {
                    self.queue.push(Job::Run(run), CAPACITY_WAIT).await
                }
                Err(error) => Err(storage(error)),
            },
        }
    }
}
