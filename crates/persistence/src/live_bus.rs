//! The live log bus on PostgreSQL: `pg_notify` on one channel, and a `LISTEN` session per
//! node. (SQLite has one node, so there the services keep the lines in the process.)

use crate::connection::{Backend, Database};
use async_trait::async_trait;
use domain::live::{LiveLogBus, LiveLogListener};
use domain::repository::RepoError;
use sea_orm::sqlx::postgres::{PgListener, PgPool};

/// The channel every node listens on.
const CHANNEL: &str = "iota_live_logs";

/// `LiveLogBus` over PostgreSQL notifications.
#[derive(Clone, Debug)]
pub struct PgLiveBus {
    pool: PgPool,
}

impl PgLiveBus {
    /// The bus of `database`; `None` unless it is PostgreSQL.
    pub fn new(database: &Database) -> Option<Self> {
        (database.backend() == Backend::Postgres).then(|| Self {
            pool: database.connection().get_postgres_connection_pool().clone(),
        })
    }
}

fn storage(error: sea_orm::sqlx::Error) -> RepoError {
    RepoError::Storage(format!("live log bus: {error}"))
}

#[async_trait]
impl LiveLogBus for PgLiveBus {
    async fn publish(&self, message: String) -> Result<(), RepoError> {
        sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(message)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(storage)
    }

    async fn listen(&self) -> Result<Box<dyn LiveLogListener>, RepoError> {
        let mut listener = PgListener::connect_with(&self.pool)
            .await
            .map_err(storage)?;
        listener.listen(CHANNEL).await.map_err(storage)?;
        Ok(Box::new(PgLiveListener(listener)))
    }
}

struct PgLiveListener(PgListener);

#[async_trait]
impl LiveLogListener for PgLiveListener {
    async fn next(&mut self) -> Result<String, RepoError> {
        // `try_recv` says when the session was lost (`None`), where `recv` would reconnect
        // silently and hide the gap.
        match self.0.try_recv().await.map_err(storage)? {
            Some(notification) => Ok(notification.payload().to_owned()),
            None => Err(RepoError::Storage(
                "live log bus: the listening session was lost".into(),
            )),
        }
    }
}
