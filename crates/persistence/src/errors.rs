//! Turning sea-orm errors into `RepoError`s that say what went wrong and never leak `DbErr`:
//! a database that cannot be reached is `Unavailable`, one that cannot write is
//! `StorageFull`, anything else a plain `Storage` failure.

use domain::repository::RepoError;
use sea_orm::sqlx::postgres::PgDatabaseError;
use sea_orm::sqlx::sqlite::SqliteError;
use sea_orm::{DbErr, RuntimeErr, SqlErr};

pub(crate) fn storage(context: &str, error: DbErr) -> RepoError {
    match fault_of(&error) {
        Fault::Unavailable => {
            tracing::warn!(error = %error, "{context}: the database is unavailable");
            RepoError::Unavailable(format!("{context}: no connection to the database"))
        }
        Fault::Full => {
            tracing::error!(error = %error, "{context}: the database cannot write");
            RepoError::StorageFull(format!("{context}: the database refused a write"))
        }
        Fault::Other => {
            tracing::error!(error = %error, "{context}");
            RepoError::Storage(format!("{context}: database error"))
        }
    }
}

/// What kind of failure a database error is, as the API answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    Unavailable,
    Full,
    Other,
}

pub(crate) fn fault_of(error: &DbErr) -> Fault {
    match error {
        DbErr::ConnectionAcquire(_) => Fault::Unavailable,
        DbErr::Conn(RuntimeErr::SqlxError(error))
        | DbErr::Exec(RuntimeErr::SqlxError(error))
        | DbErr::Query(RuntimeErr::SqlxError(error)) => sqlx_fault(error),
        DbErr::Conn(_) => Fault::Unavailable,
        _ => Fault::Other,
    }
}

pub(crate) fn sqlx_fault(error: &sea_orm::sqlx::Error) -> Fault {
    use sea_orm::sqlx::Error;
    match error {
        Error::Io(_) | Error::Tls(_) | Error::PoolTimedOut | Error::PoolClosed => {
            Fault::Unavailable
        }
        Error::Database(database) => {
            if let Some(sqlite) = database.try_downcast_ref::<SqliteError>() {
                sqlite_fault(sqlite)
            } else if let Some(postgres) = database.try_downcast_ref::<PgDatabaseError>() {
                postgres_fault(postgres.code())
            } else {
                Fault::Other
            }
        }
        _ => Fault::Other,
    }
}

/// SQLite's primary result codes `SQLITE_FULL` (13) and `SQLITE_IOERR` (10, a write the
/// file system refused, for example past a file size limit) mean nothing more can be written.
fn sqlite_fault(error: &SqliteError) -> Fault {
    use sea_orm::sqlx::error::DatabaseError;
    let code = error
        .code()
        .and_then(|code| code.parse::<i32>().ok())
        .unwrap_or(0);
    match code & 0xff {
        10 | 13 => Fault::Full,
        _ => Fault::Other,
    }
}

/// SQLSTATE classes 08 (connection exception) and 57P01–57P03 (the server shutting down or
/// not accepting connections yet), 53300 (too many connections) and 53100 (disk full).
fn postgres_fault(code: &str) -> Fault {
    match code {
        "53100" => Fault::Full,
        "57P01" | "57P02" | "57P03" | "53300" => Fault::Unavailable,
        code if code.starts_with("08") => Fault::Unavailable,
        _ => Fault::Other,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::error::ConnAcquireErr;
    use std::sync::Arc;

    #[test]
    fn lost_connections_are_unavailable_and_other_errors_are_not() {
        let refused =
            sea_orm::sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let cases = [
            (
                DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
                Fault::Unavailable,
            ),
            (
                DbErr::Conn(RuntimeErr::SqlxError(Arc::new(refused))),
                Fault::Unavailable,
            ),
            (
                DbErr::Query(RuntimeErr::SqlxError(Arc::new(
                    sea_orm::sqlx::Error::PoolTimedOut,
                ))),
                Fault::Unavailable,
            ),
            (DbErr::RecordNotFound("x".into()), Fault::Other),
        ];
        for (error, fault) in cases {
            assert_eq!(fault_of(&error), fault, "{error}");
        }
    }

    #[test]
    fn postgres_codes_of_shutdown_and_full_disks_are_recognised() {
        for (code, fault) in [
            ("57P01", Fault::Unavailable),
            ("08006", Fault::Unavailable),
            ("53300", Fault::Unavailable),
            ("53100", Fault::Full),
            ("23505", Fault::Other),
        ] {
            assert_eq!(postgres_fault(code), fault, "{code}");
        }
    }

    #[test]
    fn storage_names_the_fault_without_the_database_message() {
        let error = storage(
            "load script",
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        );
        assert_eq!(
            error,
            RepoError::Unavailable("load script: no connection to the database".into())
        );
    }
}
