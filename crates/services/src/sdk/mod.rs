//! The host port that scripts reach the world through: `sdk.http`, `sdk.db`, `sdk.cache`,
//! `events` and the host's `services`, each checked and scoped to the calling script's tenant.

pub mod cache;
pub mod db;
pub mod events;
pub mod host;
pub mod http;
pub mod http_addresses;
pub mod http_policy;
mod http_redirect;
pub mod http_request;
pub mod registry;
pub mod script_cache;
pub mod sql_guard;

pub use host::ScriptHost;
pub use registry::{ServiceCall, ServiceError, ServiceRegistry};
