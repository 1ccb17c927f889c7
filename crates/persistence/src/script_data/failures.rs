//! Database errors of `sdk.db` statements as codes with fixed messages, chosen by the error's
//! kind and SQLSTATE (PostgreSQL) or result code (SQLite), never by copying the database's
//! text: that names tables, columns, constraints and key values, some of them another
//! tenant's (`UNIQUE constraint failed: clients.id`, `Key (id)=(7) already exists`).

use super::budget::TOO_LARGE;
use domain::script_data::SqlFailure;
use sea_orm::sqlx::error::{DatabaseError, ErrorKind};
use sea_orm::sqlx::sqlite::SqliteError;
use sea_orm::{DbErr, RuntimeErr};

pub(super) const CONSTRAINT: &str = "CONSTRAINT_VIOLATION";
pub(super) const TIMEOUT: &str = "QUERY_TIMEOUT";
pub(super) const INVALID: &str = "INVALID_SQL";
pub(super) const MISMATCH: &str = "TYPE_MISMATCH";
pub(super) const GENERIC: &str = "DATABASE_ERROR";
/// Every connection scripts may use is taken, or a lock is held by someone else: try again.
pub(super) const BUSY: &str = "DATABASE_BUSY";
/// The transaction was kept open past its limit and rolled back.
pub(super) const EXPIRED: &str = "TRANSACTION_EXPIRED";

const TIMED_OUT: &str = "the statement ran longer than its time limit and was stopped";

/// A sea-orm error of an `sdk.db` statement (the PostgreSQL path).
pub(super) fn from_db_err(error: DbErr) -> SqlFailure {
    match &error {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => from_sqlx(e),
        DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout) => {
            SqlFailure::new(BUSY, "every sdk.db connection is in use; try again")
        }
        DbErr::ConnectionAcquire(_) => {
            tracing::warn!(%error, "sdk.db: no database connection");
            SqlFailure::new(GENERIC, "the database is unavailable; try again")
        }
        _ => {
            tracing::warn!(%error, "sdk.db statement failed");
            SqlFailure::new(GENERIC, "the database could not run the statement")
        }
    }
}

/// An sqlx error of an `sdk.db` statement, on either database.
pub(super) fn from_sqlx(error: &sea_orm::sqlx::Error) -> SqlFailure {
    use sea_orm::sqlx::Error;
    // The database's own words stay in the server's log, at debug level: they may hold
    // another tenant's key values.
    tracing::debug!(%error, "sdk.db statement failed");
    match error {
        Error::Database(database) => from_database(database.as_ref()),
        Error::ColumnDecode { .. } | Error::Decode(_) | Error::Encode(_) => SqlFailure::new(
            MISMATCH,
            "a value could not be converted between the script and the database",
        ),
        Error::PoolTimedOut => {
            SqlFailure::new(BUSY, "every sdk.db connection is in use; try again")
        }
        Error::PoolClosed | Error::Io(_) | Error::Tls(_) => {
            tracing::warn!(%error, "sdk.db: database unavailable");
            SqlFailure::new(GENERIC, "the database is unavailable; try again")
        }
        _ => SqlFailure::new(GENERIC, "the database could not run the statement"),
    }
}

fn from_database(error: &dyn DatabaseError) -> SqlFailure {
    if let Some(failure) = constraint(error.kind()) {
        return failure;
    }
    let code = error.code().unwrap_or_default();
    if error.try_downcast_ref::<SqliteError>().is_some() {
        sqlite(code.parse().unwrap_or(1), error.message())
    } else {
        postgres(&code)
    }
}

fn constraint(kind: ErrorKind) -> Option<SqlFailure> {
    let message = match kind {
        ErrorKind::UniqueViolation => "a row with the same unique key already exists",
        ErrorKind::ForeignKeyViolation => {
            "a foreign key does not match the row it refers to, or the row is still referred to"
        }
        ErrorKind::NotNullViolation => "a column that must not be null was given no value",
        ErrorKind::CheckViolation => "a value breaks a CHECK constraint of the table",
        ErrorKind::ExclusionViolation => "the row conflicts with another row of the table",
        _ => return None,
    };
    Some(SqlFailure::new(CONSTRAINT, message))
}

/// SQLite by its extended result code. SQLite gives a generic error (`SQLITE_ERROR`) one code
/// for many causes; its message is only classified, never passed on.
fn sqlite(extended: i32, message: &str) -> SqlFailure {
    let (code, text) = match extended & 0xff {
        9 => (TIMEOUT, TIMED_OUT),
        18 => (
            TOO_LARGE,
            "the statement built a value or row larger than sdk.db allows",
        ),
        19 => (CONSTRAINT, "the statement breaks a constraint of the table"),
        20 => (MISMATCH, "a value has the wrong type for its column"),
        25 => (INVALID, "a parameter is out of range"),
        5 | 6 => (
            BUSY,
            "another writer holds the database's write lock; try again",
        ),
        1 => sqlite_generic(message),
        _ => (GENERIC, "the database could not run the statement"),
    };
    SqlFailure::new(code, format!("{text} (SQLite error {extended})"))
}

fn sqlite_generic(message: &str) -> (&'static str, &'static str) {
    let classes = [
        (
            "no such column",
            INVALID,
            "the statement names a column that does not exist",
        ),
        (
            "no such function",
            INVALID,
            "the statement calls a function that does not exist",
        ),
        (
            "no such table",
            INVALID,
            "the statement names a table that does not exist",
        ),
        ("syntax error", INVALID, "the statement has a syntax error"),
        (
            "values for",
            INVALID,
            "the number of values does not match the number of columns",
        ),
        (
            "columns but",
            INVALID,
            "the number of values does not match the number of columns",
        ),
        (
            "ambiguous column",
            INVALID,
            "a column name is ambiguous: qualify it with its table",
        ),
        ("malformed JSON", MISMATCH, "a value is not valid JSON"),
        ("JSON path", MISMATCH, "a JSON path is not valid"),
        ("integer overflow", MISMATCH, "an integer is out of range"),
    ];
    classes
        .iter()
        .find(|(marker, _, _)| message.contains(marker))
        .map(|(_, code, text)| (*code, *text))
        .unwrap_or((INVALID, "the database could not run the statement"))
}

/// PostgreSQL by SQLSTATE (<https://www.postgresql.org/docs/current/errcodes-appendix.html>).
fn postgres(sqlstate: &str) -> SqlFailure {
    let (code, text) = match sqlstate {
        "57014" => (TIMEOUT, TIMED_OUT),
        "42601" => (INVALID, "the statement has a syntax error"),
        "42703" => (INVALID, "the statement names a column that does not exist"),
        "42P01" => (INVALID, "the statement names a table that does not exist"),
        "42702" => (
            INVALID,
            "a column name is ambiguous: qualify it with its table",
        ),
        "42803" => (
            INVALID,
            "a column must appear in GROUP BY or be used in an aggregate",
        ),
        "42883" => (
            MISMATCH,
            "no function or operator takes these argument types: cast a parameter (`$1::int`)",
        ),
        "42804" | "42846" => (MISMATCH, "a value has the wrong type for its column or use"),
        "42P18" => (
            MISMATCH,
            "the type of a parameter cannot be determined: cast it (`$1::text`)",
        ),
        "42501" => (
            "UNAUTHORIZED_OPERATION",
            "the statement may not touch these rows",
        ),
        "22P02" => (
            MISMATCH,
            "a text value cannot be read as the type it is used as",
        ),
        "22003" => (MISMATCH, "a number is out of range for its type"),
        "22007" | "22008" => (MISMATCH, "a date or time value is not valid"),
        "22001" => (MISMATCH, "a text value is too long for its column"),
        "22021" | "22P05" => (
            MISMATCH,
            "text containing the character U+0000 cannot be stored in PostgreSQL",
        ),
        "22012" => (GENERIC, "division by zero"),
        "25P02" => (
            GENERIC,
            "an earlier statement of this transaction failed; it can only be rolled back",
        ),
        "40001" | "40P01" => (
            BUSY,
            "the statement conflicted with a concurrent one; try again",
        ),
        "55P03" => (
            BUSY,
            "a row or table is locked by another transaction; try again",
        ),
        "25P03" => (
            EXPIRED,
            "the transaction was ended: it sat idle longer than its limit",
        ),
        s if s.starts_with("23") => (CONSTRAINT, "the statement breaks a constraint of the table"),
        s if s.starts_with("42") => (INVALID, "the statement is not valid for this database"),
        s if s.starts_with("22") => (MISMATCH, "a value is not valid for its type or use"),
        s if s.starts_with("53") || s.starts_with("54") => {
            (GENERIC, "the statement exceeds a limit of the database")
        }
        s if s.starts_with("08") || s.starts_with("57") => {
            (GENERIC, "the database is unavailable; try again")
        }
        _ => (GENERIC, "the database could not run the statement"),
    };
    SqlFailure::new(code, format!("{text} (SQLSTATE {sqlstate})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_have_codes_and_name_nothing_of_the_schema() {
        // (the failure, its code, words of its message)
        let cases = [
            (
                constraint(ErrorKind::UniqueViolation),
                CONSTRAINT,
                "unique key",
            ),
            (
                constraint(ErrorKind::ForeignKeyViolation),
                CONSTRAINT,
                "foreign key",
            ),
            (constraint(ErrorKind::NotNullViolation), CONSTRAINT, "null"),
            (constraint(ErrorKind::CheckViolation), CONSTRAINT, "CHECK"),
            (constraint(ErrorKind::Other), "", ""),
            (Some(postgres("57014")), TIMEOUT, "time limit"),
            (Some(postgres("42703")), INVALID, "column"),
            (Some(postgres("42601")), INVALID, "syntax"),
            (Some(postgres("42883")), MISMATCH, "cast"),
            (Some(postgres("22P02")), MISMATCH, "text value"),
            (Some(postgres("22P05")), MISMATCH, "U+0000"),
            (Some(postgres("23001")), CONSTRAINT, "constraint"),
            (Some(postgres("XX000")), GENERIC, "SQLSTATE XX000"),
            (
                Some(sqlite(2067, "UNIQUE constraint failed: clients.id")),
                CONSTRAINT,
                "2067",
            ),
            (Some(sqlite(9, "interrupted")), TIMEOUT, "time limit"),
            (
                Some(sqlite(18, "string or blob too big")),
                TOO_LARGE,
                "larger",
            ),
            (Some(sqlite(20, "datatype mismatch")), MISMATCH, "type"),
            (
                Some(sqlite(1, "no such column: secret_column")),
                INVALID,
                "column",
            ),
            (
                Some(sqlite(1, "near \"SELEC\": syntax error")),
                INVALID,
                "syntax",
            ),
            (
                Some(sqlite(
                    1,
                    "table clients has 3 columns but 2 values were supplied",
                )),
                INVALID,
                "number of values",
            ),
            (Some(sqlite(1, "malformed JSON")), MISMATCH, "JSON"),
            (
                Some(sqlite(1, "anything else about clients")),
                INVALID,
                "could not run",
            ),
            (Some(sqlite(5, "database is locked")), BUSY, "write lock"),
            (Some(postgres("55P03")), BUSY, "locked"),
            (Some(postgres("40P01")), BUSY, "concurrent"),
        ];
        for (failure, code, words) in cases {
            let Some(failure) = failure else {
                assert_eq!(code, "");
                continue;
            };
            assert_eq!(failure.code, code, "{failure}");
            assert!(failure.message.contains(words), "{failure}");
            for name in ["clients", "secret_column", "pkey", "id)"] {
                assert!(!failure.message.contains(name), "{failure}");
            }
        }
    }
}
