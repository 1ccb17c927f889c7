//! The port live log lines travel by between the nodes that share one database: a broadcast
//! of short text messages that every listening node receives, the sender included.

use crate::repository::RepoError;
use async_trait::async_trait;

/// The largest message the bus carries, in bytes (PostgreSQL refuses notifications of 8000
/// bytes or more).
pub const MAX_LIVE_MESSAGE_BYTES: usize = 7900;

/// Sends messages to every node listening on the shared database.
#[async_trait]
pub trait LiveLogBus: Send + Sync {
    /// Sends one message (at most [`MAX_LIVE_MESSAGE_BYTES`]) to every node listening now.
    async fn publish(&self, message: String) -> Result<(), RepoError>;

    /// Starts listening: the messages published from now on, in the order they were sent.
    async fn listen(&self) -> Result<Box<dyn LiveLogListener>, RepoError>;
}

/// One node's subscription to the bus.
#[async_trait]
pub trait LiveLogListener: Send {
    /// The next message; an error when the subscription is broken (listen again then; what
    /// was sent meanwhile is lost).
    async fn next(&mut self) -> Result<String, RepoError>;
}
