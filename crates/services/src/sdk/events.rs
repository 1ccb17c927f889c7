//! `events.publish(type, payload)`: validates the type, enriches the event with its id,
//! tenant, time, source script and chain depth, and stores it in the outbox.

use crate::clock::Clock;
use domain::event::{DomainEvent, PublishError};
use domain::repository::EventOutbox;
use domain::script::EventType;
use runtime::{CallScope, HostError, HostErrorCode};
use serde_json::Value;
use std::sync::Arc;

pub struct EventPublisher {
    outbox: Arc<dyn EventOutbox>,
    clock: Arc<dyn Clock>,
}

impl EventPublisher {
    pub fn new(outbox: Arc<dyn EventOutbox>, clock: Arc<dyn Clock>) -> Self {
        Self { outbox, clock }
    }

    /// Publishes for a script: `args` is `[type, payload]`.
    pub async fn publish(&self, scope: &CallScope, args: &Value) -> Result<Value, HostError> {
        let raw = args[0].as_str().unwrap_or_default();
        let event_type = EventType::parse(raw)
            .map_err(|e| HostError::new(HostErrorCode::InvalidEventType, e.to_string()))?;
        let payload = args.get(1).cloned().unwrap_or(Value::Null);
        let event = DomainEvent::new(
            scope.tenant_id,
            event_type,
            payload,
            Some(scope.script_id),
            scope.event_depth,
            self.clock.now(),
        )
        .map_err(|e| match e {
            PublishError::ChainTooDeep { .. } => {
                HostError::new(HostErrorCode::ChainTooDeep, e.to_string())
            }
            PublishError::PayloadTooLarge { .. } => {
                HostError::new(HostErrorCode::PayloadTooLarge, e.to_string())
            }
        })?;
        self.outbox.append(&event).await.map_err(|e| {
            tracing::error!(error = %e, "storing a published event failed");
            HostError::new(HostErrorCode::Unavailable, "the event could not be stored")
        })?;
        tracing::info!(event = %event.event_id, event_type = event.event_type.as_str(), depth = event.depth, "event published by a script");
        Ok(Value::Bool(true))
    }
}
