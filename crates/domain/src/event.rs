//! `DomainEvent`: something that happened in a tenant, published by the host, the API or a
//! script, enriched with its id, time, source and chain depth.

use crate::ids::{ScriptId, TenantId};
use crate::script::EventType;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq)]
pub struct DomainEvent {
    pub event_id: Uuid,
    pub tenant_id: TenantId,
    pub event_type: EventType,
    pub payload: Value,
    pub timestamp: DateTime<Utc>,
    pub source_script_id: Option<ScriptId>,
    /// 0 for events from the host or the API; one more than the triggering event's depth for
    /// events published by a script that an event started.
    pub depth: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    #[error(
        "the event chain is deeper than {max}: a script published an event from an event it handles too many times"
    )]
    ChainTooDeep { max: u32 },
    #[error("the payload is {actual} bytes, more than the limit of {max} bytes")]
    PayloadTooLarge { max: usize, actual: usize },
}

impl DomainEvent {
    pub const MAX_DEPTH: u32 = 8;
    pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

    /// Builds an event, refusing chains past `max_depth` and oversized payloads.
    pub fn new(
        tenant_id: TenantId,
        event_type: EventType,
        payload: Value,
        source_script_id: Option<ScriptId>,
        depth: u32,
        now: DateTime<Utc>,
    ) -> Result<Self, PublishError> {
        if depth > Self::MAX_DEPTH {
            return Err(PublishError::ChainTooDeep {
                max: Self::MAX_DEPTH,
            });
        }
        let size = payload.to_string().len();
        if size > Self::MAX_PAYLOAD_BYTES {
            return Err(PublishError::PayloadTooLarge {
                max: Self::MAX_PAYLOAD_BYTES,
                actual: size,
            });
        }
        Ok(Self {
            event_id: crate::ids::fresh_uuid(),
            tenant_id,
            event_type,
            payload,
            timestamp: now,
            source_script_id,
            depth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_and_size_are_bounded() {
        let kind = EventType::parse("order.created").expect("valid");
        let tenant = TenantId::new();
        let now = Utc::now();
        assert!(DomainEvent::new(tenant, kind.clone(), Value::Null, None, 8, now).is_ok());
        assert_eq!(
            DomainEvent::new(tenant, kind.clone(), Value::Null, None, 9, now),
            Err(PublishError::ChainTooDeep { max: 8 })
        );
        let big = Value::String("x".repeat(300 * 1024));
        assert!(matches!(
            DomainEvent::new(tenant, kind, big, None, 0, now),
            Err(PublishError::PayloadTooLarge { .. })
        ));
    }
}
