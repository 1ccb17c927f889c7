//! `Execution`: one run of a script, and the status machine it moves through.

use crate::ids::{ExecutionId, ScriptId, TenantId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionStatus {
    Pending,
    Running,
    Completed,
    Failed,
    Timeout,
    Cancelled,
}

impl ExecutionStatus {
    pub const ALL: [ExecutionStatus; 6] = [
        ExecutionStatus::Pending,
        ExecutionStatus::Running,
        ExecutionStatus::Completed,
        ExecutionStatus::Failed,
        ExecutionStatus::Timeout,
        ExecutionStatus::Cancelled,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            ExecutionStatus::Pending => "pending",
            ExecutionStatus::Running => "running",
            ExecutionStatus::Completed => "completed",
            ExecutionStatus::Failed => "failed",
            ExecutionStatus::Timeout => "timeout",
            ExecutionStatus::Cancelled => "cancelled",
        }
    }

    /// Terminal statuses have no way out.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, ExecutionStatus::Pending | ExecutionStatus::Running)
    }

    /// pending → running | failed | cancelled; running → any terminal status; terminal → nothing.
    pub fn can_become(&self, next: ExecutionStatus) -> bool {
        use ExecutionStatus::*;
        match self {
            Pending => matches!(next, Running | Failed | Cancelled),
            Running => next.is_terminal(),
            _ => false,
        }
    }
}

impl fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not an execution status")]
pub struct UnknownExecutionStatus(pub String);

impl FromStr for ExecutionStatus {
    type Err = UnknownExecutionStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ExecutionStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownExecutionStatus(s.to_owned()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TriggerKind {
    Manual,
    Api,
    Cron,
    Http,
    Event,
    Embedded,
    Retry,
    /// A test run from the editor: the unsaved source, no version written.
    Test,
}

impl TriggerKind {
    pub const ALL: [TriggerKind; 8] = [
        TriggerKind::Manual,
        TriggerKind::Api,
        TriggerKind::Cron,
        TriggerKind::Http,
        TriggerKind::Event,
        TriggerKind::Embedded,
        TriggerKind::Retry,
        TriggerKind::Test,
    ];

    /// The kind of its API spelling.
    pub fn parse(raw: &str) -> Option<TriggerKind> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == raw)
    }

    /// The kind as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Manual => "manual",
            TriggerKind::Api => "api",
            TriggerKind::Cron => "cron",
            TriggerKind::Http => "http",
            TriggerKind::Event => "event",
            TriggerKind::Embedded => "embedded",
            TriggerKind::Retry => "retry",
            TriggerKind::Test => "test",
        }
    }
}

/// What started an execution, with the details of that kind of trigger.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron_time: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    #[serde(rename = "type")]
    pub kind: TriggerKind,
    #[serde(flatten)]
    pub details: TriggerDetails,
}

/// Why an execution failed, as the script's author should see it: no host paths or Rust types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionError {
    pub code: String,
    pub message: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub stack: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub level: LogLevel,
    pub message: String,
    pub metadata: Value,
    pub ts: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Execution {
    pub id: ExecutionId,
    pub tenant_id: TenantId,
    pub script_id: ScriptId,
    pub script_version: i32,
    pub status: ExecutionStatus,
    pub trigger: Trigger,
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<ExecutionError>,
    pub logs: Vec<LogEntry>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub memory_bytes: Option<i64>,
    pub attempt: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an execution cannot go from {from} to {to}")]
pub struct InvalidTransition {
    pub from: ExecutionStatus,
    pub to: ExecutionStatus,
}

/// How a run ended, as the runtime reports it.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Completed(Value),
    Failed(ExecutionError),
    TimedOut(ExecutionError),
    Cancelled,
}

/// Identifies what an execution runs and why.
#[derive(Clone, Debug, PartialEq)]
pub struct NewExecution {
    pub tenant_id: TenantId,
    pub script_id: ScriptId,
    pub script_version: i32,
    pub trigger: Trigger,
    pub input: Value,
    pub attempt: i32,
}

impl Execution {
    pub fn pending(new: NewExecution, now: DateTime<Utc>) -> Self {
        Self {
            id: ExecutionId::new(),
            tenant_id: new.tenant_id,
            script_id: new.script_id,
            script_version: new.script_version,
            status: ExecutionStatus::Pending,
            trigger: new.trigger,
            input: new.input,
            output: None,
            error: None,
            logs: Vec::new(),
            created_at: now,
            started_at: None,
            completed_at: None,
            duration_ms: None,
            memory_bytes: None,
            attempt: new.attempt,
        }
    }

    fn transition(&mut self, to: ExecutionStatus) -> Result<(), InvalidTransition> {
        if !self.status.can_become(to) {
            return Err(InvalidTransition {
                from: self.status,
                to,
            });
        }
        self.status = to;
        Ok(())
    }

    pub fn start(&mut self, now: DateTime<Utc>) -> Result<(), InvalidTransition> {
        self.transition(ExecutionStatus::Running)?;
        self.started_at = Some(now);
        Ok(())
    }

    /// Moves to the terminal status of `outcome` and records output, error and duration.
    pub fn finish(
        &mut self,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Result<(), InvalidTransition> {
        let status = match &outcome {
            Outcome::Completed(_) => ExecutionStatus::Completed,
            Outcome::Failed(_) => ExecutionStatus::Failed,
            Outcome::TimedOut(_) => ExecutionStatus::Timeout,
            Outcome::Cancelled => ExecutionStatus::Cancelled,
        };
        self.transition(status)?;
        match outcome {
            Outcome::Completed(output) => self.output = Some(output),
            Outcome::Failed(error) | Outcome::TimedOut(error) => self.error = Some(error),
            Outcome::Cancelled => {}
        }
        self.completed_at = Some(now);
        self.duration_ms = self
            .started_at
            .map(|start| (now - start).num_milliseconds().max(0));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ExecutionStatus::*;

    #[test]
    fn status_machine() {
        let allowed = [
            (Pending, Running),
            (Pending, Failed),
            (Pending, Cancelled),
            (Running, Completed),
            (Running, Failed),
            (Running, Timeout),
            (Running, Cancelled),
        ];
        for from in ExecutionStatus::ALL {
            for to in ExecutionStatus::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from} → {to}"
                );
            }
        }
        for status in [Completed, Failed, Timeout, Cancelled] {
            assert!(status.is_terminal());
            assert!(
                ExecutionStatus::ALL
                    .iter()
                    .all(|to| !status.can_become(*to))
            );
        }
    }

    #[test]
    fn a_finished_execution_cannot_move_again() {
        let now = Utc::now();
        let new = NewExecution {
            tenant_id: TenantId::new(),
            script_id: ScriptId::new(),
            script_version: 1,
            trigger: Trigger {
                kind: TriggerKind::Manual,
                details: TriggerDetails::default(),
            },
            input: Value::Null,
            attempt: 1,
        };
        let mut execution = Execution::pending(new, now);
        assert!(
            execution
                .finish(Outcome::Completed(Value::Null), now)
                .is_err()
        );
        execution.start(now).expect("pending → running");
        let later = now + chrono::Duration::milliseconds(42);
        execution
            .finish(Outcome::Completed(serde_json::json!({"ok": true})), later)
            .expect("done");
        assert_eq!(execution.duration_ms, Some(42));
        assert_eq!(
            execution.finish(Outcome::Cancelled, later),
            Err(InvalidTransition {
                from: Completed,
                to: Cancelled
            })
        );
        assert_eq!(
            execution.start(later),
            Err(InvalidTransition {
                from: Completed,
                to: Running
            })
        );
    }

    #[test]
    fn statuses_parse() {
        for status in ExecutionStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(status));
        }
        assert!("done".parse::<ExecutionStatus>().is_err());
    }
}
