//! The `iota-scripts` application: settings, the object graph, the HTTP server and the CLI
//! commands. The only crate that reads the environment.

mod alerting;
pub mod application;
pub mod drain;
pub mod health;
pub mod metrics;
pub mod settings;
pub mod telemetry;

pub use application::{Application, Components};
pub use settings::{Settings, SettingsError};
