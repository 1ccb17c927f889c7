//! The simple value objects of a script: name, description, source, type, status, metadata.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A script's name: 3–100 characters after trimming, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ScriptName(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("is required")]
    Empty,
    #[error("must be at least {min} characters")]
    TooShort { min: usize },
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("must not contain control characters")]
    ControlCharacter,
}

impl ScriptName {
    pub const MIN_CHARS: usize = 3;
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let name = raw.trim();
        let chars = name.chars().count();
        if chars == 0 {
            return Err(NameError::Empty);
        }
        if chars < Self::MIN_CHARS {
            return Err(NameError::TooShort {
                min: Self::MIN_CHARS,
            });
        }
        if chars > Self::MAX_CHARS {
            return Err(NameError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if name.chars().any(char::is_control) {
            return Err(NameError::ControlCharacter);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ScriptName {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ScriptName> for String {
    fn from(value: ScriptName) -> Self {
        value.0
    }
}

impl fmt::Display for ScriptName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// At most 500 characters of free text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Description(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DescriptionError {
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
}

impl Description {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(raw: &str) -> Result<Self, DescriptionError> {
        let text = raw.trim();
        if text.chars().count() > Self::MAX_CHARS {
            return Err(DescriptionError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Description {
    type Error = DescriptionError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Description> for String {
    fn from(value: Description) -> Self {
        value.0
    }
}

/// JavaScript source: not blank, at most the operator's size limit (1 MiB by default).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Source(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("is required")]
    Empty,
    #[error("is {actual} bytes, more than the limit of {max} bytes")]
    TooLarge { max: usize, actual: usize },
    #[error("must not contain NUL characters")]
    NulCharacter,
}

impl Source {
    pub const DEFAULT_MAX_BYTES: usize = 1024 * 1024;

    pub fn parse(raw: &str, max_bytes: usize) -> Result<Self, SourceError> {
        if raw.trim().is_empty() {
            return Err(SourceError::Empty);
        }
        if raw.len() > max_bytes {
            return Err(SourceError::TooLarge {
                max: max_bytes,
                actual: raw.len(),
            });
        }
        if raw.contains('\0') {
            return Err(SourceError::NulCharacter);
        }
        Ok(Self(raw.to_owned()))
    }

    /// Wraps source that was validated when it was stored.
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident, $error:ident, $expected:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
        #[error("\"{0}\" is not one of {expected}", expected = $expected)]
        pub struct $error(pub String);

        impl FromStr for $name {
            type Err = $error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err($error(other.to_owned())),
                }
            }
        }
    };
}

string_enum!(
    /// How a script is triggered.
    ScriptType, UnknownScriptType, "scheduled, http, event, oneoff, embedded", {
        Scheduled => "scheduled",
        Http => "http",
        Event => "event",
        OneOff => "oneoff",
        Embedded => "embedded",
    }
);

string_enum!(
    /// Lifecycle of a script. Only `active` scripts fire on cron, HTTP and events.
    ScriptStatus, UnknownScriptStatus, "draft, active, paused, disabled, archived", {
        Draft => "draft",
        Active => "active",
        Paused => "paused",
        Disabled => "disabled",
        Archived => "archived",
    }
);

impl ScriptStatus {
    /// Whether automatic triggers (cron, HTTP, events) may start the script.
    pub fn fires_automatically(&self) -> bool {
        matches!(self, ScriptStatus::Active)
    }
}

/// Tags such as `category: exports`: at most 50 pairs, keys of `[A-Za-z0-9_.-]{1,64}`,
/// values of at most 500 characters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Metadata(BTreeMap<String, String>);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("must have at most {max} entries")]
    TooManyEntries { max: usize },
    #[error("key \"{key}\" must be 1–{max} characters of letters, digits, '_', '.' or '-'")]
    InvalidKey { key: String, max: usize },
    #[error("value of \"{key}\" must be at most {max} characters")]
    ValueTooLong { key: String, max: usize },
}

impl Metadata {
    pub const MAX_ENTRIES: usize = 50;
    pub const MAX_KEY_CHARS: usize = 64;
    pub const MAX_VALUE_CHARS: usize = 500;

    pub fn parse(raw: BTreeMap<String, String>) -> Result<Self, MetadataError> {
        if raw.len() > Self::MAX_ENTRIES {
            return Err(MetadataError::TooManyEntries {
                max: Self::MAX_ENTRIES,
            });
        }
        for (key, value) in &raw {
            let key_ok = !key.is_empty()
                && key.len() <= Self::MAX_KEY_CHARS
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            if !key_ok {
                return Err(MetadataError::InvalidKey {
                    key: key.chars().take(80).collect(),
                    max: Self::MAX_KEY_CHARS,
                });
            }
            if value.chars().count() > Self::MAX_VALUE_CHARS {
                return Err(MetadataError::ValueTooLong {
                    key: key.clone(),
                    max: Self::MAX_VALUE_CHARS,
                });
            }
        }
        Ok(Self(raw))
    }

    pub fn entries(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let cases: &[(&str, Result<&str, NameError>)] = &[
            ("Export clients", Ok("Export clients")),
            ("  abc  ", Ok("abc")),
            ("", Err(NameError::Empty)),
            ("   ", Err(NameError::Empty)),
            ("ab", Err(NameError::TooShort { min: 3 })),
            ("абв", Ok("абв")),
            (&"x".repeat(100), Ok(&"x".repeat(100))),
            (&"x".repeat(101), Err(NameError::TooLong { max: 100 })),
            ("bad\nname", Err(NameError::ControlCharacter)),
        ];
        for (raw, expected) in cases {
            let got = ScriptName::parse(raw).map(|n| n.as_str().to_owned());
            assert_eq!(got, expected.clone().map(str::to_owned), "{raw:?}");
        }
    }

    #[test]
    fn descriptions() {
        assert_eq!(Description::parse("").map(|d| d.0), Ok(String::new()));
        assert!(Description::parse(&"é".repeat(500)).is_ok());
        assert_eq!(
            Description::parse(&"é".repeat(501)),
            Err(DescriptionError::TooLong { max: 500 })
        );
    }

    #[test]
    fn sources() {
        assert_eq!(Source::parse("  \n", 10), Err(SourceError::Empty));
        assert_eq!(
            Source::parse("export default 1;", 5),
            Err(SourceError::TooLarge { max: 5, actual: 17 })
        );
        assert_eq!(Source::parse("a\0b", 10), Err(SourceError::NulCharacter));
        assert!(Source::parse("function main() {}", 100).is_ok());
    }

    #[test]
    fn types_and_statuses() {
        for t in ScriptType::ALL {
            assert_eq!(t.as_str().parse::<ScriptType>(), Ok(*t));
        }
        for s in ScriptStatus::ALL {
            assert_eq!(s.as_str().parse::<ScriptStatus>(), Ok(*s));
        }
        assert!("cron".parse::<ScriptType>().is_err());
        assert!("Active".parse::<ScriptStatus>().is_err());
        assert!(ScriptStatus::Active.fires_automatically());
        assert!(!ScriptStatus::Paused.fires_automatically());
    }

    #[test]
    fn metadata() {
        let ok = BTreeMap::from([("category".to_owned(), "exports".to_owned())]);
        assert!(Metadata::parse(ok).is_ok());
        let cases = [
            (("", "x"), "key"),
            (("has space", "x"), "key"),
            ((&"k".repeat(65) as &str, "x"), "key"),
            (("k", &"v".repeat(501) as &str), "value"),
        ];
        for ((key, value), what) in cases {
            let raw = BTreeMap::from([(key.to_owned(), value.to_owned())]);
            let error = Metadata::parse(raw).expect_err(key);
            assert!(error.to_string().contains(what), "{error}");
        }
        let many = (0..51).map(|i| (format!("k{i}"), String::new())).collect();
        assert_eq!(
            Metadata::parse(many),
            Err(MetadataError::TooManyEntries { max: 50 })
        );
    }
}
