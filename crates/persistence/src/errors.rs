//! Turning sea-orm errors into `RepoError`s that say what went wrong and never leak `DbErr`.

use domain::repository::RepoError;
use sea_orm::{DbErr, SqlErr};

pub(crate) fn storage(context: &str, error: DbErr) -> RepoError {
    tracing::error!(error = %error, "{context}");
    RepoError::Storage(format!("{context}: database error"))
}

/// The unique constraint that `error` violated, if that is what it is: the message of the
/// database (which names the table or constraint) is searched for `markers`.
pub(crate) fn unique_violation(error: &DbErr, markers: &[&str]) -> bool {
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(message)) => {
            markers.iter().any(|m| message.contains(m))
        }
        _ => false,
    }
}

pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> RepoError {
    RepoError::Corrupt(format!("{what}: {detail}"))
}
