//! Storage of IOTA Scripts on SQLite (the embedded default) or PostgreSQL, through sea-orm.
//!
//! Repositories implement the ports of `domain::repository` and return domain types; the
//! entities stay inside this crate.

mod clock;
mod connection;
mod entities;
mod errors;
mod paging;
mod repositories;
mod script_data;
mod storable;

pub use connection::{Backend, Database, DatabaseError};
pub use repositories::{
    SeaEndpointRepository, SeaEventOutbox, SeaExecutionRepository, SeaScheduleRepository,
    SeaScriptRepository, SeaTenantRepository, SeaTokenRepository, SeaUserRepository,
};
pub use script_data::{ScriptDataConfig, SeaScriptDatabase};
