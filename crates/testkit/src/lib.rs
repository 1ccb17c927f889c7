//! Test support: a fresh, migrated database per test body, on SQLite and on PostgreSQL.
//!
//! `each_backend` runs one test body against both databases; PostgreSQL is reached through the
//! admin URL in `IOTA_SCRIPTS_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/postgres`),
//! where each test creates its own database and drops it afterwards, pass or fail.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use futures::FutureExt;
use persistence::{Backend, Database};
use sea_orm::ConnectionTrait;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn admin_url() -> String {
    std::env::var("IOTA_SCRIPTS_TEST_PG").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    pub database: Database,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteFile(PathBuf),
    PostgresDatabase(String),
}

fn unique_name() -> String {
    format!("iota_test_{}", uuid::Uuid::new_v4().simple())
}

fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url, String::new()),
    };
    let prefix = base.rsplit_once('/').map(|(p, _)| p).unwrap_or(base);
    format!("{prefix}/{name}{query}")
}

async fn admin_execute(statement: &str) {
    let admin = sea_orm::Database::connect(admin_url())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL at {} is not reachable ({e}); start it or set IOTA_SCRIPTS_TEST_PG",
                admin_url()
            )
        });
    admin
        .execute_unprepared(statement)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    let _ = admin.close().await;
}

impl TestDatabase {
    /// Creates and migrates a fresh database on `backend`.
    pub async fn create(backend: Backend) -> Self {
        let name = unique_name();
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                (
                    format!("sqlite://{}?mode=rwc", path.display()),
                    Cleanup::SqliteFile(path),
                )
            }
            Backend::Postgres => {
                admin_execute(&format!("CREATE DATABASE \"{name}\"")).await;
                (
                    with_database(&admin_url(), &name),
                    Cleanup::PostgresDatabase(name),
                )
            }
        };
        let database = Database::connect(&url)
            .await
            .expect("connect to the test database");
        database.migrate().await.expect("migrate the test database");
        Self {
            backend,
            url,
            database,
            cleanup,
        }
    }

    /// Closes the pool and removes the database.
    pub async fn destroy(self) {
        self.database.close().await;
        match self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::PostgresDatabase(name) => {
                admin_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
            }
        }
    }
}

pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// Runs `body` once on a fresh SQLite database and once on a fresh PostgreSQL database,
/// removing each afterwards; a failure names the backend it happened on.
pub async fn each_backend<F, Fut>(body: F)
where
    F: Fn(TestDatabaseRef) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in BACKENDS {
        let test_database = TestDatabase::create(backend).await;
        let handle = TestDatabaseRef {
            backend,
            url: test_database.url.clone(),
            database: test_database.database.clone(),
        };
        let result = AssertUnwindSafe(body(handle)).catch_unwind().await;
        test_database.destroy().await;
        if let Err(panic) = result {
            eprintln!("test body failed on {backend:?}");
            std::panic::resume_unwind(panic);
        }
    }
}

/// What a test body gets: the backend, its URL and an open pool.
#[derive(Clone, Debug)]
pub struct TestDatabaseRef {
    pub backend: Backend,
    pub url: String,
    pub database: Database,
}
