//! The sandbox that runs untrusted tenant JavaScript: a fresh QuickJS runtime and context per
//! execution, bounded in time, memory, stack, output and logs, inside supervised, locked-down
//! worker processes that the server kills when a run overstays; each execution on its own
//! thread so that the operating system shares the CPU fairly.
//!
//! The crate reaches the world only through the [`HostPort`] trait it defines; it does not
//! know storage or services.

mod budget;
mod clock;
mod compile;
mod config;
mod engine;
mod error_code;
mod errors;
mod host;
mod isolate;
mod job;
mod limiter;
mod modules;
mod pool;
mod protocol;
#[cfg(test)]
mod sdk_reference;
mod supervisor;
mod worker;

pub use budget::BudgetConfig;
pub use clock::{Clock, SystemClock};
pub use compile::{Compiled, compile};
pub use config::{EngineConfig, SandboxConfig, WorkerMode};
pub use engine::{Engine, EngineError, Reservation};
pub use host::{CallScope, HostError, HostErrorCode, HostPort, NoHost};
pub use isolate::{bare_isolate_run, standard_globals};
pub use protocol::{Layers, ProbeAttempt};
pub use supervisor::ExecutorHealth;
pub use worker::{WORKER_ARG, run_worker_if_requested, worker_main};

/// The TypeScript declarations of everything a script can use, for editors and docs.
pub const SDK_DECLARATIONS: &str = include_str!("sdk.d.ts");
pub use job::{Job, LiveLogSink, Report, UNSAVED_VERSION};
pub use limiter::LimitExceeded;
