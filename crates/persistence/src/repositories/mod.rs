//! Repository implementations, one file per aggregate.

mod accounts;
mod alerts;
mod dead_letters;
mod endpoints;
mod events;
mod execution;
mod execution_history;
mod nodes;
mod retention;
mod schedule;
mod script;
mod script_mapping;
mod script_search;

pub use accounts::{SeaTenantRepository, SeaTokenRepository, SeaUserRepository};
pub use alerts::SeaAlertStateRepository;
pub use dead_letters::SeaDeadLetterRepository;
pub use endpoints::SeaEndpointRepository;
pub use events::SeaEventOutbox;
pub use execution::SeaExecutionRepository;
pub use nodes::SeaNodeRepository;
pub use retention::SeaRetentionRepository;
pub use schedule::SeaScheduleRepository;
pub use script::SeaScriptRepository;
