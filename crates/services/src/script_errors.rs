//! `ScriptError`: how the script use cases fail, with the causes kept typed, and how the
//! failures of storage and of running a script become one.

use crate::executions::ExecutionServiceError;
use domain::ValidationErrors;
use domain::actor::Forbidden;
use domain::repository::RepoError;
use runtime::{EngineError, LimitExceeded};

#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// Refused by a concurrency limit (process, tenant or script).
    #[error(transparent)]
    Busy(LimitExceeded),
    #[error("the script could not be run")]
    Engine(#[source] EngineError),
    #[error("script not found")]
    NotFound,
    #[error("version {0} not found")]
    VersionNotFound(i32),
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// The name or route is taken, or the script changed since it was read.
    #[error(transparent)]
    Conflict(RepoError),
    #[error("the execution has already finished")]
    AlreadyFinished,
    #[error(
        "the script is not scheduled (its type is {0}); only scheduled scripts have fire times"
    )]
    NotScheduled(&'static str),
    #[error("storage failure")]
    Storage(#[source] RepoError),
}

impl From<RepoError> for ScriptError {
    fn from(error: RepoError) -> Self {
        match error {
            RepoError::DuplicateName(_)
            | RepoError::DuplicateRoute { .. }
            | RepoError::Stale
            | RepoError::Duplicate { .. } => ScriptError::Conflict(error),
            other => ScriptError::Storage(other),
        }
    }
}

impl From<ExecutionServiceError> for ScriptError {
    fn from(error: ExecutionServiceError) -> Self {
        match error {
            ExecutionServiceError::ScriptNotFound | ExecutionServiceError::NotFound => {
                ScriptError::NotFound
            }
            ExecutionServiceError::Forbidden(forbidden) => ScriptError::Forbidden(forbidden),
            ExecutionServiceError::Busy(limit) => ScriptError::Busy(limit),
            ExecutionServiceError::AlreadyFinished | ExecutionServiceError::AlreadyStarted => {
                ScriptError::AlreadyFinished
            }
            ExecutionServiceError::Storage(source) => ScriptError::Storage(source),
            ExecutionServiceError::Engine(source) => ScriptError::Engine(source),
        }
    }
}
