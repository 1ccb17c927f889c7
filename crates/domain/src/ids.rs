//! Typed identifiers, so that a script id can never be passed where a tenant id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered identifier (UUIDv7), which keeps index inserts local.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

typed_id!(
    /// Identifies a tenant: the unit of isolation.
    TenantId
);
typed_id!(
    /// Identifies a user inside one tenant.
    UserId
);
typed_id!(
    /// Identifies a script.
    ScriptId
);
typed_id!(
    /// Identifies one run of a script.
    ExecutionId
);
typed_id!(
    /// Identifies a role of a tenant.
    RoleId
);
typed_id!(
    /// Identifies an API token (not its secret).
    TokenId
);
typed_id!(
    /// Identifies a dead-lettered job.
    DeadLetterId
);

/// A fresh, time-ordered id for a record without a typed id of its own (an event). Ids are
/// the one thing the domain mints itself, here and in the typed ids above.
pub fn fresh_uuid() -> Uuid {
    Uuid::now_v7()
}
