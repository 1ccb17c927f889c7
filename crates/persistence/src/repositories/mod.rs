//! Repository implementations, one file per aggregate.

mod accounts;
mod script;
mod script_mapping;

pub use accounts::{SeaTenantRepository, SeaTokenRepository, SeaUserRepository};
pub use script::SeaScriptRepository;
