//! Reading the database a server process writes, straight through SQL, for the fault tests:
//! rows as strings (cast in the query), so one helper serves SQLite and PostgreSQL.

use sea_orm::ConnectionTrait;

/// Runs `sql` on `database_url`; each row's `columns`, read as text.
pub async fn rows(database_url: &str, sql: &str, columns: &[&str]) -> Vec<Vec<String>> {
    let connection = sea_orm::Database::connect(database_url)
        .await
        .expect("connect");
    let backend = connection.get_database_backend();
    let found = connection
        .query_all_raw(sea_orm::Statement::from_string(backend, sql.to_owned()))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let rows = found
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|column| {
                    row.try_get::<Option<String>>("", column)
                        .unwrap_or_else(|e| panic!("{column}: {e}"))
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    let _ = connection.close().await;
    rows
}

fn is_sqlite(database_url: &str) -> bool {
    database_url.starts_with("sqlite:")
}

/// A condition that `column` holds the UUID `id` (SQLite stores UUIDs as 16-byte blobs,
/// PostgreSQL as `uuid`).
pub fn uuid_is(database_url: &str, column: &str, id: &str) -> String {
    if is_sqlite(database_url) {
        format!("{column} = X'{}'", id.replace('-', ""))
    } else {
        format!("{column} = '{id}'")
    }
}

/// An expression reading the UUID `column` as 32 lowercase hex digits.
pub fn uuid_hex(database_url: &str, column: &str) -> String {
    if is_sqlite(database_url) {
        format!("lower(hex({column}))")
    } else {
        format!("replace(CAST({column} AS TEXT), '-', '')")
    }
}
