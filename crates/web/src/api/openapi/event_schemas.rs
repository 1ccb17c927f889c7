//! The documented shapes of events, dead letters and the health probes (see `schemas.rs`).

use super::schemas::ExecutionError;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The body of `POST /events`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PublishEvent {
    /// Dotted lower-case name, such as `order.created`.
    #[serde(rename = "type")]
    pub event_type: String,
    pub payload: Option<Value>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PublishedEvent {
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub timestamp: DateTime<Utc>,
    /// How many events led to this one (scripts publishing events).
    pub depth: u32,
}

/// An event delivery that failed all its attempts.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct DeadLetter {
    pub id: String,
    pub script_id: String,
    pub script_version: i32,
    pub event_id: String,
    pub event_type: String,
    pub payload: Value,
    pub published_at: DateTime<Utc>,
    /// The last attempt's error.
    pub error: ExecutionError,
    pub attempts: u32,
    pub last_execution_id: Option<String>,
    pub retry_of: Option<String>,
    /// `pending`, `retried` or `discarded`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub handled_at: Option<DateTime<Utc>>,
}

/// A page of dead letters, newest first; `nextCursor` asks for the next one.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct DeadLetterList {
    pub items: Vec<DeadLetter>,
    pub next_cursor: Option<String>,
}

/// The body of a dead letter's retry (may be empty): a replacement payload.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RetryRequest {
    pub payload: Option<Value>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Handled {
    pub id: String,
    /// `retried` or `discarded`.
    pub status: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Redriven {
    /// How many pending dead letters were queued again.
    pub retried: u64,
}

/// A health probe's answer.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Health {
    /// `ok`, `unavailable`, `draining` or `wedged`.
    pub status: String,
    /// Each component: `ok` or `unavailable`.
    pub checks: BTreeMap<String, String>,
    /// The failing components.
    pub failing: Vec<String>,
    /// Each component's figures, and its reason when failing.
    pub details: BTreeMap<String, Value>,
}
