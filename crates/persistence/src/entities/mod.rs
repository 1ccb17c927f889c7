//! sea-orm entities: the rows of each table. They never leave this crate.

pub mod api_token;
pub mod dead_letter;
pub mod event_outbox;
pub mod node;
pub mod role;
pub mod role_permission;
pub mod schedule_tick;
pub mod script;
pub mod script_alert;
pub mod script_execution;
pub mod script_http_route;
pub mod script_version;
pub mod tenant;
pub mod user;
pub mod user_role;
