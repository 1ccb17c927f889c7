//! `RunRequest`: what started a run, with its input, attempt and place in a chain of events.

use domain::Actor;
use domain::execution::Trigger;
use serde_json::Value;

/// What started a run, and the argument of the entry point.
#[derive(Clone, Debug)]
pub struct RunRequest {
    pub trigger: Trigger,
    pub input: Value,
    /// The entry point's argument; the input when `None`.
    pub argument: Option<Value>,
    pub attempt: i32,
    /// How deep in a chain of events the run is (0 unless an event started it).
    pub event_depth: u32,
}

impl RunRequest {
    /// A run that `actor` starts over the API (or by hand) with `input`: the first attempt,
    /// outside any chain of events.
    pub fn api(actor: &Actor, input: Value) -> Self {
        Self {
            trigger: domain::execution::Trigger {
                kind: domain::execution::TriggerKind::Api,
                details: domain::execution::TriggerDetails {
                    user_id: actor.user_id,
                    ..Default::default()
                },
            },
            input,
            argument: None,
            attempt: 1,
            event_depth: 0,
        }
    }
}
