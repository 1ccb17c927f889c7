//! Storage of IOTA Scripts on SQLite (the embedded default) or PostgreSQL, through sea-orm.
//!
//! Repositories implement the ports of `domain::repository` and return domain types; the
//! entities stay inside this crate.

mod backlog;
mod clock;
mod connection;
mod entities;
mod errors;
mod jobs;
mod live_bus;
mod paging;
mod repositories;
mod script_data;
mod sqlite_release;
mod storable;

pub use backlog::backlog;
pub use connection::{Backend, Database, DatabaseError};
pub use jobs::{ApalisQueue, QueueConfig};
pub use live_bus::PgLiveBus;
pub use repositories::{
    SeaAlertStateRepository, SeaDeadLetterRepository, SeaEndpointRepository, SeaEventOutbox,
    SeaExecutionRepository, SeaNodeRepository, SeaRetentionRepository, SeaScheduleRepository,
    SeaScriptRepository, SeaTenantRepository, SeaTokenRepository, SeaUserRepository,
};
pub use script_data::{ScriptDataConfig, SeaScriptDatabase};
