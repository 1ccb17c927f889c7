//! Failure alerts: what a script's alerting state becomes on each failure, success, dead
//! letter or missed tick, and whether an alert goes out now. At most one alert per script per
//! throttle window; those held back are counted and named in the next one; a "recovered"
//! notice follows the first success after an alert. The state is shared by every node.

use crate::ids::{ExecutionId, ScriptId, TenantId};
use crate::repository::RepoError;
use crate::script::AlertSettings;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A script's alerting state, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertState {
    /// Failed runs in a row, reset by a success.
    pub consecutive_failures: u64,
    /// An alert went out (or was held back) and no success followed yet.
    pub alerting: bool,
    pub last_sent_at: Option<DateTime<Utc>>,
    /// Alerts held back by the throttle since the last one sent.
    pub held_back: u64,
}

/// What happened that may call for an alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum AlertCause {
    /// A run ended `failed` or `timeout`.
    Failure {
        execution_id: ExecutionId,
        status: String,
        code: String,
        message: String,
    },
    /// An event delivery failed its last attempt.
    DeadLetter {
        dead_letter_id: uuid::Uuid,
        event_type: String,
        attempts: u32,
        message: String,
    },
    /// A tick fell due and did not run on time (every node down, or a stuck claim).
    MissedRun { scheduled_for: DateTime<Utc> },
    /// The first success after an alert.
    Recovered { execution_id: ExecutionId },
}

impl AlertCause {
    pub fn kind(&self) -> &'static str {
        match self {
            AlertCause::Failure { .. } => "failure",
            AlertCause::DeadLetter { .. } => "dead_letter",
            AlertCause::MissedRun { .. } => "missed_run",
            AlertCause::Recovered { .. } => "recovered",
        }
    }
}

/// One alert to send: its cause, the script, and how many were held back before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub tenant_id: TenantId,
    pub script_id: ScriptId,
    pub script_name: String,
    #[serde(flatten)]
    pub cause: AlertCause,
    /// Alerts held back by the throttle since the last one sent.
    pub held_back: u64,
    /// Failed runs in a row when it was raised.
    pub consecutive_failures: u64,
    pub at: DateTime<Utc>,
}

/// Whether an alert goes out now, and with how many held back before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Send { held_back: u64 },
    Hold,
    Nothing,
}

impl AlertState {
    /// A run failed.
    pub fn on_failure(&mut self, settings: &AlertSettings, now: DateTime<Utc>) -> Decision {
        self.consecutive_failures += 1;
        if self.consecutive_failures < u64::from(settings.after_failures) {
            return Decision::Nothing;
        }
        self.on_problem(settings, now)
    }

    /// A problem that alerts whatever the failure count: a dead letter or a missed tick.
    pub fn on_problem(&mut self, settings: &AlertSettings, now: DateTime<Utc>) -> Decision {
        self.alerting = true;
        let window = chrono::Duration::from_std(settings.throttle).unwrap_or(chrono::Duration::MAX);
        if let Some(last) = self.last_sent_at
            && now < last + window
        {
            self.held_back += 1;
            return Decision::Hold;
        }
        let held_back = std::mem::take(&mut self.held_back);
        self.last_sent_at = Some(now);
        Decision::Send { held_back }
    }

    /// A run completed: a "recovered" notice is due when an alert was raised before.
    pub fn on_success(&mut self) -> Decision {
        self.consecutive_failures = 0;
        if !std::mem::take(&mut self.alerting) {
            return Decision::Nothing;
        }
        Decision::Send {
            held_back: std::mem::take(&mut self.held_back),
        }
    }
}

/// Where the alert states live: read, then written only if no one wrote in between.
#[async_trait]
pub trait AlertStateRepository: Send + Sync {
    /// The state with its revision; `None` when the script never had one.
    async fn get(
        &self,
        tenant: TenantId,
        script: ScriptId,
    ) -> Result<Option<(AlertState, i64)>, RepoError>;
    /// Writes `state` if the stored revision is still `expected` (`None`: no row yet);
    /// `false` when another node wrote first.
    async fn put(
        &self,
        tenant: TenantId,
        script: ScriptId,
        state: &AlertState,
        expected: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<bool, RepoError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + chrono::Duration::minutes(minute)
    }

    fn settings(after_failures: u32) -> AlertSettings {
        AlertSettings {
            emails: vec!["ops@example.com".into()],
            after_failures,
            throttle: Duration::from_secs(15 * 60),
            ..AlertSettings::default()
        }
    }

    #[test]
    fn one_alert_per_window_naming_those_held_back_then_recovered() {
        let s = settings(1);
        let mut state = AlertState::default();
        let steps = [
            (0, Decision::Send { held_back: 0 }),
            (1, Decision::Hold),
            (5, Decision::Hold),
            (14, Decision::Hold),
            (15, Decision::Send { held_back: 3 }),
            (16, Decision::Hold),
        ];
        for (minute, expected) in steps {
            assert_eq!(state.on_failure(&s, at(minute)), expected, "at {minute}");
        }
        assert_eq!(state.consecutive_failures, 6);
        assert_eq!(state.on_success(), Decision::Send { held_back: 1 });
        assert_eq!(state.on_success(), Decision::Nothing, "recovered twice");
        // A new failure inside the window of the last alert is held back.
        assert_eq!(state.on_failure(&s, at(20)), Decision::Hold);
        assert_eq!(
            state.on_failure(&s, at(31)),
            Decision::Send { held_back: 1 }
        );
    }

    #[test]
    fn only_after_n_failures_in_a_row() {
        let s = settings(3);
        let mut state = AlertState::default();
        assert_eq!(state.on_failure(&s, at(0)), Decision::Nothing);
        assert_eq!(state.on_failure(&s, at(1)), Decision::Nothing);
        assert_eq!(
            state.on_success(),
            Decision::Nothing,
            "no alert, no recovery"
        );
        assert_eq!(state.on_failure(&s, at(2)), Decision::Nothing);
        assert_eq!(state.on_failure(&s, at(3)), Decision::Nothing);
        assert_eq!(state.on_failure(&s, at(4)), Decision::Send { held_back: 0 });
        // Dead letters and missed ticks do not wait for the count, but share the throttle.
        let mut fresh = AlertState::default();
        assert_eq!(fresh.on_problem(&s, at(0)), Decision::Send { held_back: 0 });
        assert_eq!(fresh.on_problem(&s, at(1)), Decision::Hold);
    }
}
