//! The PostgreSQL database a benchmark makes for itself and drops after: on the server of
//! `IOTA_SCRIPTS_BENCH_PG` (default: the local one, user `postgres`).

use sea_orm::ConnectionTrait;

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn admin_url() -> String {
    std::env::var("IOTA_SCRIPTS_BENCH_PG").unwrap_or_else(|_| DEFAULT_PG.to_owned())
}

/// Creates `<prefix>_<pid>`; its URL and name, or `None` when PostgreSQL does not answer.
pub async fn create(prefix: &str) -> Option<(String, String)> {
    let admin = admin_url();
    let name = format!("{prefix}_{}", std::process::id());
    let connection = sea_orm::Database::connect(&admin).await.ok()?;
    connection
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .ok()?;
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    Some((format!("{base}/{name}"), name))
}

/// Drops the database `name`, closing its sessions.
pub async fn drop(name: &str) {
    if let Ok(connection) = sea_orm::Database::connect(&admin_url()).await {
        let _ = connection
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await;
    }
}
