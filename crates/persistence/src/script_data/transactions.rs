//! The `sdk.db` transactions scripts hold open between host calls, each with a deadline: a
//! transaction still open at its deadline is rolled back by its reaper (and later use of it
//! answers `TRANSACTION_EXPIRED`), so that no script keeps locks, a connection or (on SQLite)
//! the database's single write lock longer than the operator allows.

use super::failures::EXPIRED;
use super::pool::{Held, Lease};
use domain::script_data::SqlFailure;
use domain::{ExecutionId, TenantId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

pub(super) enum TxState {
    Active(Lease),
    /// Rolled back by the reaper.
    Expired,
    Ended,
}

pub(super) struct OpenTransaction {
    pub tenant: TenantId,
    pub state: tokio::sync::Mutex<TxState>,
    deadline: Mutex<Instant>,
    /// How long it was allowed, for the message of `TRANSACTION_EXPIRED`.
    allowed: Mutex<Duration>,
    opened: Instant,
    moved: Notify,
}

impl OpenTransaction {
    pub fn deadline(&self) -> Instant {
        *self.deadline.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Brings the deadline forward to `at` (never back); the reaper is told.
    pub fn shorten(&self, at: Instant) {
        let mut deadline = self.deadline.lock().unwrap_or_else(|p| p.into_inner());
        if at < *deadline {
            *deadline = at;
            *self.allowed.lock().unwrap_or_else(|p| p.into_inner()) =
                at.saturating_duration_since(self.opened);
            self.moved.notify_one();
        }
    }

    pub fn expired(&self) -> SqlFailure {
        let allowed = *self.allowed.lock().unwrap_or_else(|p| p.into_inner());
        SqlFailure::new(
            EXPIRED,
            format!(
                "the transaction was rolled back: it was kept open longer than the {} ms allowed",
                allowed.as_millis()
            ),
        )
    }
}

pub(super) fn not_found() -> SqlFailure {
    SqlFailure::new("TRANSACTION_NOT_FOUND", "the transaction is not open")
}

/// The open transactions of every execution on this node.
#[derive(Default)]
pub(super) struct Transactions {
    open: Mutex<HashMap<(ExecutionId, u64), Arc<OpenTransaction>>>,
}

impl Transactions {
    pub fn count_of(&self, execution: ExecutionId) -> usize {
        self.lock().keys().filter(|(e, _)| *e == execution).count()
    }

    /// Registers `lease` as transaction `id` and starts its reaper.
    pub fn insert(
        &self,
        key: (ExecutionId, u64),
        tenant: TenantId,
        lease: Lease,
        now: Instant,
        allowed: Duration,
    ) {
        let open = Arc::new(OpenTransaction {
            tenant,
            state: tokio::sync::Mutex::new(TxState::Active(lease)),
            deadline: Mutex::new(now + allowed),
            allowed: Mutex::new(allowed),
            opened: now,
            moved: Notify::new(),
        });
        tokio::spawn(reap(open.clone()));
        self.lock().insert(key, open);
    }

    /// The transaction `key`, if `tenant` owns it.
    pub fn get(
        &self,
        key: (ExecutionId, u64),
        tenant: TenantId,
    ) -> Result<Arc<OpenTransaction>, SqlFailure> {
        self.lock()
            .get(&key)
            .filter(|open| open.tenant == tenant)
            .cloned()
            .ok_or_else(not_found)
    }

    /// Takes `key` out of the table.
    pub fn remove(&self, key: (ExecutionId, u64)) -> Result<Arc<OpenTransaction>, SqlFailure> {
        self.lock().remove(&key).ok_or_else(not_found)
    }

    /// Takes every transaction of `execution` out of the table.
    pub fn remove_all(&self, execution: ExecutionId) -> Vec<Arc<OpenTransaction>> {
        let mut open = self.lock();
        let keys: Vec<_> = open
            .keys()
            .filter(|(e, _)| *e == execution)
            .copied()
            .collect();
        keys.into_iter()
            .filter_map(|key| open.remove(&key))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(ExecutionId, u64), Arc<OpenTransaction>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Waits for the transaction's deadline (following it when it moves) and rolls back what is
/// still open then; a transaction that ended meanwhile is left as it is.
async fn reap(transaction: Arc<OpenTransaction>) {
    loop {
        let deadline = transaction.deadline();
        if crate::clock::now() >= deadline {
            let mut state = transaction.state.lock().await;
            if matches!(*state, TxState::Active(_))
                && let TxState::Active(lease) = std::mem::replace(&mut *state, TxState::Expired)
            {
                tracing::info!(
                    tenant = %transaction.tenant,
                    "an sdk.db transaction kept open past its limit was rolled back"
                );
                let _ = end(lease.held, false).await;
            }
            return;
        }
        tokio::select! {
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => {}
            () = transaction.moved.notified() => {}
        }
    }
}

/// Commits or rolls back; a SQLite connection goes back to the pool outside any transaction.
pub(super) async fn end(held: Held, commit: bool) -> Result<(), SqlFailure> {
    match held {
        Held::Postgres(transaction) if commit => transaction
            .commit()
            .await
            .map_err(super::failures::from_db_err),
        Held::Postgres(transaction) => transaction
            .rollback()
            .await
            .map_err(super::failures::from_db_err),
        Held::Sqlite(mut connection) => {
            let sql = if commit { "COMMIT" } else { "ROLLBACK" };
            let ended = super::sqlite::sqlite_exec(&mut connection, sql).await;
            if ended.is_err() {
                let _ = super::sqlite::sqlite_exec(&mut connection, "ROLLBACK").await;
            }
            ended
        }
    }
}
