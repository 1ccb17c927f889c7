//! Durable work: the jobs a queue keeps across crashes and hands to any node (an event's
//! delivery to one subscribed script), the retry policy with exponential backoff and full
//! jitter, and the dead letters a delivery leaves after its last attempt.

use crate::event::DomainEvent;
use crate::execution::ExecutionError;
use crate::ids::{ExecutionId, ScriptId, TenantId};
use crate::repository::RepoError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use uuid::Uuid;

/// One event for one subscribed script, at one attempt (from 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDelivery {
    pub event_id: Uuid,
    pub tenant_id: TenantId,
    pub script_id: ScriptId,
    pub event_type: String,
    pub payload: Value,
    pub published_at: DateTime<Utc>,
    pub source_script_id: Option<ScriptId>,
    pub depth: u32,
    pub attempt: u32,
    /// The dead letter this delivery retries, if it does.
    #[serde(default)]
    pub retry_of: Option<Uuid>,
}

impl EventDelivery {
    /// The first attempt of `event` for `script`.
    pub fn first(event: &DomainEvent, script: ScriptId) -> Self {
        Self {
            event_id: event.event_id,
            tenant_id: event.tenant_id,
            script_id: script,
            event_type: event.event_type.as_str().to_owned(),
            payload: event.payload.clone(),
            published_at: event.timestamp,
            source_script_id: event.source_script_id,
            depth: event.depth,
            attempt: 1,
            retry_of: None,
        }
    }

    /// The same delivery one attempt later.
    pub fn next_attempt(&self) -> Self {
        Self {
            attempt: self.attempt + 1,
            ..self.clone()
        }
    }
}

/// An asynchronous run: its execution is stored `pending` until a worker starts it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedRun {
    pub execution_id: ExecutionId,
    pub tenant_id: TenantId,
}

/// Work the queue keeps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Job {
    EventDelivery(EventDelivery),
    Run(QueuedRun),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the job queue failed: {0}")]
pub struct QueueError(pub String);

/// The durable queue: a job pushed is kept until a worker of some node has handled it.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Queues `job` to run after `delay`.
    async fn push(&self, job: Job, delay: Duration) -> Result<(), QueueError>;

    /// Queues every job to run now, in as few writes as the queue allows.
    async fn push_many(&self, jobs: Vec<Job>) -> Result<(), QueueError> {
        for job in jobs {
            self.push(job, Duration::ZERO).await?;
        }
        Ok(())
    }

    /// Queues `job` to run now unless a job with `key` was ever queued (by any node): two
    /// nodes pushing the same work queue it once.
    async fn push_once(&self, job: Job, key: String) -> Result<(), QueueError> {
        let _ = key;
        self.push(job, Duration::ZERO).await
    }
}

/// What a worker does with a job. An `Err` is an infrastructure failure: the queue retries
/// the job later; a script's own failure is handled inside (retry or dead letter).
#[async_trait]
pub trait JobHandler: Send + Sync {
    async fn handle(&self, job: Job) -> Result<(), QueueError>;
}

/// Attempts and backoff of event deliveries: the delay before attempt `n + 1` is drawn
/// uniformly from `[0, min(cap, base · 2^(n-1))]` ("full jitter").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The ceiling of the delay after failed attempt `attempt` (from 1).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(31));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The delay after failed attempt `attempt`, given `unit` drawn uniformly from [0, 1).
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        self.ceiling(attempt).mul_f64(unit.clamp(0.0, 1.0))
    }

    /// Whether a failed attempt `attempt` is the last.
    pub fn exhausted(&self, attempt: u32) -> bool {
        attempt >= self.max_attempts
    }
}

/// Where a dead letter is in its handling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DeadLetterStatus {
    Pending,
    Retried,
    Discarded,
}

impl DeadLetterStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Retried => "retried",
            Self::Discarded => "discarded",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Pending, Self::Retried, Self::Discarded]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// A delivery that failed its last attempt: the event, the error, and what ran.
#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetter {
    pub id: Uuid,
    pub delivery: EventDelivery,
    pub script_version: i32,
    pub error: ExecutionError,
    pub attempts: u32,
    pub last_execution_id: Option<ExecutionId>,
    pub status: DeadLetterStatus,
    pub created_at: DateTime<Utc>,
    pub handled_at: Option<DateTime<Utc>>,
}

/// Which dead letters to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeadLetterFilter {
    pub script_id: Option<ScriptId>,
    pub event_type: Option<String>,
    pub status: Option<DeadLetterStatus>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only letters after this one (newest first): the next page.
    pub after: Option<LetterCursor>,
}

/// Where the next page of dead letters starts: right after the letter created at
/// `created_at` with `id` (newest first, ties broken by id), never an offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LetterCursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl LetterCursor {
    pub fn after(letter: &DeadLetter) -> Self {
        Self {
            created_at: letter.created_at,
            id: letter.id,
        }
    }

    /// The cursor as pages hand it out: `<RFC 3339 time>_<letter id>`, as histories do.
    pub fn encode(&self) -> String {
        crate::paging::HistoryCursor {
            created_at: self.created_at,
            id: ExecutionId(self.id),
        }
        .encode()
    }

    pub fn parse(raw: &str) -> Result<Self, crate::paging::BadCursor> {
        let cursor = crate::paging::HistoryCursor::parse(raw)?;
        Ok(Self {
            created_at: cursor.created_at,
            id: cursor.id.0,
        })
    }
}

#[async_trait]
pub trait DeadLetterRepository: Send + Sync {
    async fn insert(&self, letter: &DeadLetter) -> Result<(), RepoError>;
    async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<DeadLetter>, RepoError>;
    /// Newest first.
    async fn list(
        &self,
        tenant: TenantId,
        filter: &DeadLetterFilter,
        limit: u64,
    ) -> Result<Vec<DeadLetter>, RepoError>;
    /// Moves a pending letter to `status`; `false` if it was not pending.
    async fn settle(
        &self,
        tenant: TenantId,
        id: Uuid,
        status: DeadLetterStatus,
        at: DateTime<Utc>,
    ) -> Result<bool, RepoError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_and_jitter_stays_below_the_ceiling() {
        let policy = RetryPolicy::default();
        let ceilings: Vec<u64> = (1..=10).map(|n| policy.ceiling(n).as_secs()).collect();
        assert_eq!(ceilings, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
        assert_eq!(policy.delay(3, 0.0), Duration::ZERO);
        assert_eq!(policy.delay(3, 0.5), Duration::from_secs(2));
        assert_eq!(policy.delay(3, 7.0), Duration::from_secs(4));
        assert_eq!(policy.ceiling(200), Duration::from_secs(300));
        assert!(!policy.exhausted(4));
        assert!(policy.exhausted(5));
        let job = Job::EventDelivery(EventDelivery {
            event_id: Uuid::nil(),
            tenant_id: TenantId(Uuid::nil()),
            script_id: ScriptId(Uuid::nil()),
            event_type: "order.created".into(),
            payload: serde_json::json!({"id": 1}),
            published_at: DateTime::<Utc>::UNIX_EPOCH,
            source_script_id: None,
            depth: 0,
            attempt: 2,
            retry_of: None,
        });
        let text = serde_json::to_string(&job).expect("serialises");
        assert!(text.contains("\"kind\":\"eventDelivery\""), "{text}");
        assert_eq!(serde_json::from_str::<Job>(&text).expect("parses"), job);
    }
}
