//! `EventType`: a dotted domain event name such as `order.created`.

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

static EVENT_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)]
    Regex::new(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$").expect("static pattern")
});

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventType(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventTypeError {
    #[error("at least one event type is required for event scripts")]
    Missing,
    #[error("\"{0}\" must be lowercase dotted words such as order.created (letters, digits, '_')")]
    Invalid(String),
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("at most {max} event types")]
    TooMany { max: usize },
}

impl EventType {
    pub const MAX_CHARS: usize = 200;
    pub const MAX_PER_SCRIPT: usize = 50;

    pub fn parse(raw: &str) -> Result<Self, EventTypeError> {
        if raw.len() > Self::MAX_CHARS {
            return Err(EventTypeError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if !EVENT_TYPE.is_match(raw) {
            return Err(EventTypeError::Invalid(raw.to_owned()));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Parses a subscription list: non-empty, sorted, without duplicates.
    pub fn parse_list(raw: &[String]) -> Result<Vec<Self>, EventTypeError> {
        if raw.is_empty() {
            return Err(EventTypeError::Missing);
        }
        if raw.len() > Self::MAX_PER_SCRIPT {
            return Err(EventTypeError::TooMany {
                max: Self::MAX_PER_SCRIPT,
            });
        }
        let mut types = raw
            .iter()
            .map(|t| Self::parse(t.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        types.sort();
        types.dedup();
        Ok(types)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types() {
        let cases = [
            ("order.created", true),
            ("crm.client.updated", true),
            ("a1.b_2", true),
            ("order", false),
            ("Order.created", false),
            ("order..created", false),
            ("order.created.", false),
            (".order", false),
            ("1order.created", false),
            ("order.1created", false),
            ("order.cre-ated", false),
            ("order.*", false),
        ];
        for (raw, ok) in cases {
            assert_eq!(EventType::parse(raw).is_ok(), ok, "{raw}");
        }
        assert_eq!(EventType::parse_list(&[]), Err(EventTypeError::Missing));
        let list = EventType::parse_list(&["b.x".into(), "a.x".into(), "b.x".into()]);
        assert_eq!(list.map(|l| l.len()), Ok(2));
        let long = format!("a.{}", "b".repeat(200));
        assert_eq!(
            EventType::parse(&long),
            Err(EventTypeError::TooLong { max: 200 })
        );
    }
}
