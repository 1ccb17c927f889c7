//! Failure alerts: after each unattended run (cron, event, async), each new dead letter and
//! each missed tick, the script's shared alerting state moves on (a compare-and-set, so two
//! nodes never both alert for one window) and, when the rules say so, an alert goes out by
//! email and webhook in the background, never delaying the run that caused it.

mod send;

pub use send::{AlertDelivery, AlertSender, SmtpSettings, SmtpTls, text};

use crate::clock::Clock;
use chrono::{DateTime, Utc};
use domain::alerts::{Alert, AlertCause, AlertState, AlertStateRepository, Decision};
use domain::execution::{Execution, ExecutionStatus};
use domain::jobs::DeadLetter;
use domain::repository::RepoError;
use domain::script::Script;
use std::sync::Arc;

/// Attempts of the compare-and-set before giving up on one transition.
const MAX_RACES: usize = 8;

pub struct Alerts {
    states: Arc<dyn AlertStateRepository>,
    sender: Arc<dyn AlertSender>,
    clock: Arc<dyn Clock>,
}

impl Alerts {
    pub fn new(
        states: Arc<dyn AlertStateRepository>,
        sender: Arc<dyn AlertSender>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            states,
            sender,
            clock,
        }
    }

    /// A run of `script` ended: a failure or timeout may alert, a success may send
    /// "recovered"; a cancelled run changes nothing.
    pub async fn after_run(&self, script: &Script, execution: &Execution) {
        let now = self.clock.now();
        let settings = &script.spec.options.alerts;
        let (cause, decision) = match execution.status {
            ExecutionStatus::Failed | ExecutionStatus::Timeout => {
                let (code, message) = execution
                    .error
                    .as_ref()
                    .map(|e| (e.code.clone(), e.message.clone()))
                    .unwrap_or_else(|| (execution.status.as_str().to_uppercase(), String::new()));
                let cause = AlertCause::Failure {
                    execution_id: execution.id,
                    status: execution.status.as_str().to_owned(),
                    code,
                    message,
                };
                (
                    cause,
                    self.transition(script, |s| s.on_failure(settings, now))
                        .await,
                )
            }
            ExecutionStatus::Completed => {
                let cause = AlertCause::Recovered {
                    execution_id: execution.id,
                };
                (cause, self.transition(script, AlertState::on_success).await)
            }
            _ => return,
        };
        self.dispatch(script, cause, decision, now);
    }

    /// An event delivery to `script` failed its last attempt.
    pub async fn dead_letter(&self, script: &Script, letter: &DeadLetter) {
        let now = self.clock.now();
        let settings = &script.spec.options.alerts;
        let cause = AlertCause::DeadLetter {
            dead_letter_id: letter.id,
            event_type: letter.delivery.event_type.clone(),
            attempts: letter.attempts,
            message: letter.error.message.clone(),
        };
        let decision = self
            .transition(script, |s| s.on_problem(settings, now))
            .await;
        self.dispatch(script, cause, decision, now);
    }

    /// A tick of `script` due at `scheduled_for` did not run on time.
    pub async fn missed_run(&self, script: &Script, scheduled_for: DateTime<Utc>) {
        let now = self.clock.now();
        let settings = &script.spec.options.alerts;
        let decision = self
            .transition(script, |s| s.on_problem(settings, now))
            .await;
        self.dispatch(
            script,
            AlertCause::MissedRun { scheduled_for },
            decision,
            now,
        );
    }

    /// Moves the script's state on with `step`; `None` when alerts are off for it or the
    /// state could not be written (logged).
    async fn transition(
        &self,
        script: &Script,
        mut step: impl FnMut(&mut AlertState) -> Decision,
    ) -> Option<(Decision, u64)> {
        if !script.spec.options.alerts.enabled() {
            return None;
        }
        let attempt = async {
            for _ in 0..MAX_RACES {
                let (mut state, revision) =
                    match self.states.get(script.tenant_id, script.id).await? {
                        Some((state, revision)) => (state, Some(revision)),
                        None => (AlertState::default(), None),
                    };
                let before = state.clone();
                let decision = step(&mut state);
                if state == before {
                    return Ok(Some((decision, state.consecutive_failures)));
                }
                let now = self.clock.now();
                if self
                    .states
                    .put(script.tenant_id, script.id, &state, revision, now)
                    .await?
                {
                    return Ok(Some((decision, state.consecutive_failures)));
                }
            }
            Err(RepoError::Stale)
        };
        match attempt.await {
            Ok(result) => result,
            Err(error) => {
                tracing::warn!(script = %script.id, %error, "alert state not updated; no alert sent");
                None
            }
        }
    }

    fn dispatch(
        &self,
        script: &Script,
        cause: AlertCause,
        decision: Option<(Decision, u64)>,
        now: DateTime<Utc>,
    ) {
        let Some((decision, consecutive_failures)) = decision else {
            return;
        };
        let held_back = match decision {
            Decision::Send { held_back } => held_back,
            Decision::Hold => {
                tracing::info!(script = %script.id, kind = cause.kind(), "alert held back by the throttle window");
                return;
            }
            Decision::Nothing => return,
        };
        let alert = Alert {
            tenant_id: script.tenant_id,
            script_id: script.id,
            script_name: script.spec.name.as_str().to_owned(),
            cause,
            held_back,
            consecutive_failures,
            at: now,
        };
        let sender = self.sender.clone();
        let settings = script.spec.options.alerts.clone();
        tokio::spawn(async move { sender.send(&alert, &settings).await });
    }
}
