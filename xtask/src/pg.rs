//! PostgreSQL helpers for `cargo xtask test`, driven through `psql`: reachability check and cleanup of test databases.

use std::collections::BTreeSet;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::step;

/// The environment variable holding the admin URL of the test PostgreSQL server.
pub const URL_VAR: &str = "IOTA_SCRIPTS_TEST_PG";

/// The admin URL used when [`URL_VAR`] is unset or empty.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Prefix of the databases the tests create (and should drop) for themselves.
pub const TEST_DB_PREFIX: &str = "iota_test_";

/// How to start the local cluster, shown when the server is unreachable.
const START_HINT: &str = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start";

/// The admin URL of the test server: `$IOTA_SCRIPTS_TEST_PG`, or [`DEFAULT_URL`].
pub fn admin_url() -> Result<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Ok(url),
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(DEFAULT_URL.to_owned()),
        Err(error) => Err(error).with_context(|| format!("reading ${URL_VAR}")),
    }
}

/// Whether a `psql` client is on `PATH`.
pub fn psql_available() -> bool {
    step::succeeds("psql", &["--version"])
}

/// A `psql` invocation against `url`: no psqlrc, unaligned tuples-only output, stop on error.
fn psql(url: &str) -> Command {
    let mut command = Command::new("psql");
    command
        .arg(url)
        .args(["-X", "-v", "ON_ERROR_STOP=1", "-At"]);
    if std::env::var_os("PGCONNECT_TIMEOUT").is_none() {
        command.env("PGCONNECT_TIMEOUT", "10");
    }
    command
}

/// Runs one SQL statement through `psql` and returns its unaligned output.
fn query(url: &str, sql: &str) -> Result<String> {
    step::output(psql(url).args(["-c", sql]))
}

/// Fails with instructions on how to start PostgreSQL unless `select 1` succeeds at `url`.
pub fn check_reachable(url: &str) -> Result<()> {
    let answer = query(url, "select 1").map_err(|error| {
        anyhow::anyhow!(
            "PostgreSQL is not reachable at {shown} ({error:#}).\n\
             Start the local cluster with:\n    {START_HINT}\n\
             (`.ci/run` does this for you), or point ${URL_VAR} at a running server.",
            shown = step::redact_password(url),
        )
    })?;
    if answer.trim() != "1" {
        bail!("unexpected answer to `select 1`: {:?}", answer.trim());
    }
    Ok(())
}

/// The names of the existing databases starting with [`TEST_DB_PREFIX`].
pub fn test_databases(url: &str) -> Result<BTreeSet<String>> {
    // `_` is a LIKE wildcard, so the prefix is checked again exactly below.
    let listing = query(
        url,
        "select datname from pg_database where datname like 'iota_test_%'",
    )
    .context("listing the test databases")?;
    Ok(listing
        .lines()
        .map(str::trim)
        .filter(|name| name.starts_with(TEST_DB_PREFIX))
        .map(str::to_owned)
        .collect())
}

/// Drops the database `name`, disconnecting any remaining sessions.
pub fn drop_database(url: &str, name: &str) -> Result<()> {
    let sql = format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quote_identifier(name)
    );
    query(url, &sql).with_context(|| format!("dropping database {name}"))?;
    Ok(())
}

/// Quotes `name` as an SQL identifier.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Drops every test database present now but absent from `before`; returns the names dropped.
///
/// Every drop is attempted; the first failure is reported after the others have run.
pub fn drop_new_test_databases(url: &str, before: &BTreeSet<String>) -> Result<Vec<String>> {
    let after = test_databases(url)?;
    let mut dropped = Vec::new();
    let mut first_error = None;
    for name in after.difference(before) {
        match drop_database(url, name) {
            Ok(()) => {
                println!("    dropped leftover database {name}");
                dropped.push(name.clone());
            }
            Err(error) => {
                eprintln!("    could not drop {name}: {error:#}");
                first_error.get_or_insert(error);
            }
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(dropped),
    }
}
