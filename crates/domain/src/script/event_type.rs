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

    /// Parses a subscription: an event type, or a family of them ending in `.*`
    /// (`order.*` matches `order.created` and `order.item.added`).
    pub fn parse_subscription(raw: &str) -> Result<Self, EventTypeError> {
        match raw.strip_suffix(".*") {
            Some(family) if !family.is_empty() && family.len() + 2 <= Self::MAX_CHARS => {
                let first = family.split('.').next().unwrap_or_default();
                let words_ok = family.split('.').all(|word| {
                    word.starts_with(|c: char| c.is_ascii_lowercase())
                        && word
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                });
                if first.is_empty() || !words_ok {
                    return Err(EventTypeError::Invalid(raw.to_owned()));
                }
                Ok(Self(raw.to_owned()))
            }
            _ => Self::parse(raw),
        }
    }

    /// Whether a published `event_type` is one this subscription takes.
    pub fn matches(&self, event_type: &str) -> bool {
        match self.0.strip_suffix(".*") {
            Some(family) => event_type
                .strip_prefix(family)
                .is_some_and(|rest| rest.starts_with('.') && rest.len() > 1),
            None => self.0 == event_type,
        }
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
            .map(|t| Self::parse_subscription(t.trim()))
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
        for (raw, ok) in [
            ("order.*", true),
            ("crm.client.*", true),
            ("*", false),
            (".*", false),
            ("Order.*", false),
            ("order.**", false),
            ("order.created", true),
        ] {
            assert_eq!(EventType::parse_subscription(raw).is_ok(), ok, "{raw}");
        }
        let family = EventType::parse_subscription("order.*").expect("valid");
        assert!(family.matches("order.created") && family.matches("order.item.added"));
        assert!(
            !family.matches("order")
                && !family.matches("orders.created")
                && !family.matches("invoice.paid")
        );
        let exact = EventType::parse("order.created").expect("valid");
        assert!(exact.matches("order.created") && !exact.matches("order.updated"));
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
