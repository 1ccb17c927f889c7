//! Use cases of IOTA Scripts. Every call carries an `Actor` and checks its permission;
//! repositories arrive as trait objects, so the same services run on any storage.

pub mod accounts;
pub mod clock;
pub mod scripts;

pub use accounts::{AccountError, AccountService, FirstAdmin, NewUser};
pub use clock::{Clock, SystemClock};
pub use scripts::{ScriptError, ScriptService, UpdateScript};
