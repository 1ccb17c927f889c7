//! The rules of IOTA Scripts: aggregates, value objects and the ports that storage implements.
//!
//! Nothing here performs I/O or knows a framework; every constructor of a value object parses
//! and refuses bad input with a precise error.

pub mod actor;
pub mod alerts;
pub mod endpoints;
pub mod event;
pub mod execution;
pub mod ids;
pub mod jobs;
pub mod live;
pub mod paging;
pub mod repository;
pub mod retention;
pub mod schedule;
pub mod script;
pub mod script_data;
pub mod tenant;
pub mod token;
pub mod user;
pub mod validation;

pub use actor::{Actor, Permission, Role};
pub use ids::{ExecutionId, RoleId, ScriptId, TenantId, TokenId, UserId};
pub use validation::ValidationErrors;
