//! `HostErrorCode`: every code a host call can fail with, as a script reads it in `err.code`.
//!
//! On the worker protocol and in JavaScript a code is its SCREAMING_SNAKE_CASE name, one
//! table below holding both spellings. A service the host application offers scripts
//! (`services.<name>.<method>`) may choose codes of its own: those travel as `Service`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

macro_rules! host_error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $text:literal,)*) => {
        /// The code of a [`HostError`](crate::HostError).
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum HostErrorCode {
            $($(#[doc = $doc])* $variant,)*
            /// A code chosen by a service of the host application.
            Service(String),
        }

        impl HostErrorCode {
            /// The platform's own codes (every variant but `Service`).
            pub const ALL: &'static [HostErrorCode] = &[$(HostErrorCode::$variant,)*];

            /// The code as a script sees it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(HostErrorCode::$variant => $text,)*
                    HostErrorCode::Service(code) => code,
                }
            }

            /// The platform's code spelled `text`, if it has one.
            pub fn known(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(HostErrorCode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

host_error_codes! {
    /// The module, method or back end is not available.
    Unavailable = "UNAVAILABLE",
    /// `services.<name>.<method>` names no registered service method.
    NotFound = "NOT_FOUND",
    /// More SDK calls of one run pending at once than the supervisor allows.
    TooManyCalls = "TOO_MANY_CALLS",
    /// The script's per-minute budget for the module is spent.
    RateLimit = "RATE_LIMIT",
    /// The result is too large to hand to the script (or, for `sdk.db`, past its byte bounds).
    ResultTooLarge = "RESULT_TOO_LARGE",
    /// The call outlasted its timeout or the execution's deadline.
    Timeout = "TIMEOUT",
    /// `sdk.http`: the address is in a refused network.
    SsrfBlocked = "SSRF_BLOCKED",
    /// `sdk.http`: the request could not complete (DNS, connection, TLS, redirects).
    HttpError = "HTTP_ERROR",
    /// `sdk.http`: a bad method, header name or header value.
    InvalidRequest = "INVALID_REQUEST",
    InvalidUrl = "INVALID_URL",
    ForbiddenHeader = "FORBIDDEN_HEADER",
    RequestTooLarge = "REQUEST_TOO_LARGE",
    HeadersTooLarge = "HEADERS_TOO_LARGE",
    UrlTooLong = "URL_TOO_LONG",
    ResponseTooLarge = "RESPONSE_TOO_LARGE",
    /// `sdk.db`: refused by policy (a table, function or statement kind).
    UnauthorizedOperation = "UNAUTHORIZED_OPERATION",
    InvalidSql = "INVALID_SQL",
    QueryTimeout = "QUERY_TIMEOUT",
    RowLimit = "ROW_LIMIT",
    ConstraintViolation = "CONSTRAINT_VIOLATION",
    TypeMismatch = "TYPE_MISMATCH",
    DatabaseError = "DATABASE_ERROR",
    /// `sdk.db`: the database is busy; try again.
    DatabaseBusy = "DATABASE_BUSY",
    TransactionNotFound = "TRANSACTION_NOT_FOUND",
    /// `sdk.db`: the transaction is no longer open: it outlived its time.
    TransactionExpired = "TRANSACTION_EXPIRED",
    /// `sdk.cache`: a key that is not a string, is empty or too long, or holds control characters.
    InvalidKey = "INVALID_KEY",
    InvalidTtl = "INVALID_TTL",
    ValueTooLarge = "VALUE_TOO_LARGE",
    QuotaExceeded = "QUOTA_EXCEEDED",
    NotANumber = "NOT_A_NUMBER",
    CacheUnavailable = "CACHE_UNAVAILABLE",
    /// `events.publish`: a type that is not a valid event type.
    InvalidEventType = "INVALID_EVENT_TYPE",
    ChainTooDeep = "CHAIN_TOO_DEEP",
    PayloadTooLarge = "PAYLOAD_TOO_LARGE",
}

impl HostErrorCode {
    /// The code a host service chose: the platform's own when it spells one.
    pub fn service(code: impl Into<String>) -> Self {
        let code = code.into();
        Self::known(&code).unwrap_or(HostErrorCode::Service(code))
    }
}

impl fmt::Display for HostErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for HostErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for HostErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for HostErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for HostErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(HostErrorCode::service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_travels_as_its_name_and_comes_back_the_same() {
        for code in HostErrorCode::ALL {
            let text = code.as_str();
            assert!(
                text.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "{text}"
            );
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::String(text.to_owned()));
            assert_eq!(
                &serde_json::from_value::<HostErrorCode>(json).unwrap(),
                code
            );
            assert_eq!(HostErrorCode::known(text).as_ref(), Some(code));
        }
        let names: std::collections::BTreeSet<_> = HostErrorCode::ALL
            .iter()
            .map(HostErrorCode::as_str)
            .collect();
        assert_eq!(
            names.len(),
            HostErrorCode::ALL.len(),
            "a name is used twice"
        );
    }

    #[test]
    fn a_service_code_is_kept_unless_it_is_the_platforms_own() {
        let own = HostErrorCode::service("FORBIDDEN_ACTION");
        assert_eq!(own, HostErrorCode::Service("FORBIDDEN_ACTION".into()));
        assert_eq!(serde_json::to_value(&own).unwrap(), "FORBIDDEN_ACTION");
        assert_eq!(HostErrorCode::service("NOT_FOUND"), HostErrorCode::NotFound);
        assert_eq!(HostErrorCode::known("FORBIDDEN_ACTION"), None);
    }
}
