//! Use cases of IOTA Scripts. Every call carries an `Actor` and checks its permission;
//! repositories arrive as trait objects, so the same services run on any storage.

pub mod accounts;
pub mod alerts;
pub mod clock;
pub mod drain;
pub mod endpoints;
pub mod events;
pub mod executions;
pub mod health;
pub mod lease;
pub mod live;
pub mod metrics;
pub mod retention;
pub mod schedule;
pub mod scheduler;
pub mod script_changes;
mod script_errors;
pub mod scripts;
pub mod sdk;
pub mod sessions;

pub use accounts::{AccountError, AccountService, FirstAdmin, NewUser};
pub use clock::{Clock, SystemClock};
pub use drain::Drain;
pub use endpoints::{EndpointConfig, EndpointError, EndpointService};
pub use executions::{
    DETACHED, ExecutionService, ExecutionServiceError, FeedEvent, Follow, RunRequest, TestReport,
};
pub use live::LiveLogs;
pub use schedule::{PreviewSchedule, UpcomingRuns};
pub use scheduler::{PassReport, Scheduler, SchedulerConfig};
pub use scripts::{BulkAction, ExecutionOutcome, ScriptError, ScriptService, UpdateScript};
pub use sessions::{LoginLimits, Session, SignIn};
