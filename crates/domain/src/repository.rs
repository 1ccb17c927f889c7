//! The storage ports. Every query is scoped by tenant: a row of another tenant is "not found".

use crate::execution::{Execution, ExecutionStatus};
use crate::ids::{ExecutionId, ScriptId, TenantId, TokenId, UserId};
use crate::paging::{ExecutionFilter, HistoryCursor, Page, PageRequest, ScriptFilter};
use crate::script::{Script, ScriptVersion};
use crate::tenant::Tenant;
use crate::token::ApiToken;
use crate::user::{Email, User};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RepoError {
    #[error("a script named \"{0}\" already exists")]
    DuplicateName(String),
    #[error("{method} {path} is already served by another script")]
    DuplicateRoute { method: String, path: String },
    #[error("{what} \"{value}\" already exists")]
    Duplicate { what: &'static str, value: String },
    #[error("the record changed since it was read; reload and try again")]
    Stale,
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("storage failure: {0}")]
    Storage(String),
    /// The database cannot be reached (refused or lost connections, no free connection in
    /// time, a server shutting down): the same request may succeed once it is back.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The database cannot write: its disk is full or refuses writes.
    #[error("the database cannot write: {0}")]
    StorageFull(String),
}

#[async_trait]
pub trait ScriptRepository: Send + Sync {
    /// Inserts the script, its first version and its HTTP routes in one transaction.
    async fn create(&self, script: &Script, version: &ScriptVersion) -> Result<(), RepoError>;
    /// Writes the script if it is still at `expected_version`, with its new version and routes,
    /// in one transaction; `Stale` if someone else changed it first.
    async fn update(
        &self,
        script: &Script,
        expected_version: i32,
        version: &ScriptVersion,
    ) -> Result<(), RepoError>;
    async fn get(&self, tenant: TenantId, id: ScriptId) -> Result<Option<Script>, RepoError>;
    async fn list(
        &self,
        tenant: TenantId,
        filter: &ScriptFilter,
        page: PageRequest,
    ) -> Result<Page<Script>, RepoError>;
    /// Deletes the script with its versions, routes and executions; `false` if none.
    async fn delete(&self, tenant: TenantId, id: ScriptId) -> Result<bool, RepoError>;
    /// Versions, newest first.
    async fn list_versions(
        &self,
        tenant: TenantId,
        id: ScriptId,
        page: PageRequest,
    ) -> Result<Page<ScriptVersion>, RepoError>;
    async fn get_version(
        &self,
        tenant: TenantId,
        id: ScriptId,
        version: i32,
    ) -> Result<Option<ScriptVersion>, RepoError>;
}

#[async_trait]
pub trait TenantRepository: Send + Sync {
    async fn create(&self, tenant: &Tenant) -> Result<(), RepoError>;
    async fn get(&self, id: TenantId) -> Result<Option<Tenant>, RepoError>;
    async fn get_by_slug(&self, slug: &str) -> Result<Option<Tenant>, RepoError>;
    async fn count(&self) -> Result<u64, RepoError>;
}

#[async_trait]
pub trait UserRepository: Send + Sync {
    async fn create(&self, user: &User) -> Result<(), RepoError>;
    async fn get(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, RepoError>;
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepoError>;
}

#[async_trait]
pub trait TokenRepository: Send + Sync {
    async fn create(&self, token: &ApiToken) -> Result<(), RepoError>;
    async fn find_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>, RepoError>;
    async fn touch(&self, id: TokenId, at: DateTime<Utc>) -> Result<(), RepoError>;
    /// Ends a token (or a sign-in session) at `at`: it no longer authenticates from then on.
    async fn expire(&self, id: TokenId, at: DateTime<Utc>) -> Result<(), RepoError>;
}

#[async_trait]
pub trait ExecutionRepository: Send + Sync {
    async fn insert(&self, execution: &Execution) -> Result<(), RepoError>;
    /// Stores several executions at once (records written together, as runs stored only at
    /// their end are); all or none.
    async fn insert_many(&self, executions: &[Execution]) -> Result<(), RepoError> {
        for execution in executions {
            self.insert(execution).await?;
        }
        Ok(())
    }
    /// Writes status, output, error, logs and times of an execution that is not yet terminal
    /// in storage; `Stale` if it already is (a terminal execution is never rewritten).
    async fn update(&self, execution: &Execution) -> Result<(), RepoError>;
    async fn get(&self, tenant: TenantId, id: ExecutionId) -> Result<Option<Execution>, RepoError>;
    /// Whether the script has an execution `pending` or `running`.
    async fn has_unfinished(&self, tenant: TenantId, script: ScriptId) -> Result<bool, RepoError> {
        let page = PageRequest { page: 1, limit: 1 };
        for status in [ExecutionStatus::Running, ExecutionStatus::Pending] {
            let found = self
                .list_for_script(tenant, script, Some(status), page)
                .await?;
            if !found.items.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }
    /// Which of `scripts` (of any tenants: the scheduler asks for a batch of due scripts)
    /// have an execution `pending` or `running`.
    async fn unfinished_among(
        &self,
        scripts: &[(TenantId, ScriptId)],
    ) -> Result<std::collections::HashSet<ScriptId>, RepoError> {
        let mut found = std::collections::HashSet::new();
        for &(tenant, script) in scripts {
            if self.has_unfinished(tenant, script).await? {
                found.insert(script);
            }
        }
        Ok(found)
    }
    /// The latest execution of each of `scripts` of `tenant` that has one (a list page's
    /// "last run" column).
    async fn latest_of(
        &self,
        tenant: TenantId,
        scripts: &[ScriptId],
    ) -> Result<Vec<Execution>, RepoError> {
        let mut found = Vec::new();
        for &script in scripts {
            let page = PageRequest { page: 1, limit: 1 };
            let latest = self.list_for_script(tenant, script, None, page).await?;
            found.extend(latest.items);
        }
        Ok(found)
    }
    /// A script's executions, newest first, optionally of one status.
    async fn list_for_script(
        &self,
        tenant: TenantId,
        script: ScriptId,
        status: Option<ExecutionStatus>,
        page: PageRequest,
    ) -> Result<Page<Execution>, RepoError>;
    /// A tenant's executions matching `filter`, newest first (by creation time, then id),
    /// starting right after `after`; at most `limit`. A keyset read: no offset, no count.
    async fn history(
        &self,
        tenant: TenantId,
        filter: &ExecutionFilter,
        after: Option<HistoryCursor>,
        limit: u64,
    ) -> Result<Vec<Execution>, RepoError>;
    /// Marks as failed with `error` every `pending` or `running` execution of a node whose
    /// lease was not renewed since `live_since` (or of no known node); returns how many.
    async fn fail_orphaned(
        &self,
        error: &crate::execution::ExecutionError,
        at: DateTime<Utc>,
        live_since: DateTime<Utc>,
    ) -> Result<u64, RepoError>;
    /// A start this node stored without knowing it (the database went away as it answered):
    /// execution `id`, if it is `running` on this node, goes back to `pending` as if it had not
    /// started. True when it did (a compare-and-set: false for any other state or node).
    async fn requeue_lost(&self, tenant: TenantId, id: ExecutionId) -> Result<bool, RepoError>;
    /// As `requeue_lost`, but the execution is failed with `error` at `at`.
    async fn fail_lost(
        &self,
        tenant: TenantId,
        id: ExecutionId,
        error: &crate::execution::ExecutionError,
        at: DateTime<Utc>,
    ) -> Result<bool, RepoError>;
    /// Executions of `node` cancelled (by any node) since `since`.
    async fn cancelled_on(
        &self,
        node: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<ExecutionId>, RepoError>;
}

/// Published events, stored durably until they are dispatched to subscribed scripts.
#[async_trait]
pub trait EventOutbox: Send + Sync {
    async fn append(&self, event: &crate::event::DomainEvent) -> Result<(), RepoError>;
    /// A tenant's events, oldest first (for dispatch and inspection).
    async fn list_for_tenant(
        &self,
        tenant: TenantId,
        limit: u64,
    ) -> Result<Vec<crate::event::DomainEvent>, RepoError>;
    /// Events not dispatched yet, of every tenant, oldest first.
    async fn pending(&self, limit: u64) -> Result<Vec<crate::event::DomainEvent>, RepoError>;
    /// Marks an event dispatched: its deliveries are queued.
    async fn mark_dispatched(&self, event: uuid::Uuid, at: DateTime<Utc>) -> Result<(), RepoError>;
}

/// The leases of running nodes, renewed by their heartbeats.
#[async_trait]
pub trait NodeRepository: Send + Sync {
    /// Creates or renews `node`'s lease.
    async fn heartbeat(&self, node: &str, at: DateTime<Utc>) -> Result<(), RepoError>;
    /// Ends `node`'s lease.
    async fn leave(&self, node: &str) -> Result<(), RepoError>;
    /// Forgets the nodes whose lease expired before `before`; how many.
    async fn forget_expired(&self, before: DateTime<Utc>) -> Result<u64, RepoError>;
}

/// Cron ticks and the scripts they fire, across tenants (only the scheduler uses this port).
#[async_trait]
pub trait ScheduleRepository: Send + Sync {
    /// Active scheduled scripts whose `next_run_at` is at or before `now`, earliest first.
    async fn due(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<Script>, RepoError>;
    /// The earliest `next_run_at` of the active scheduled scripts.
    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, RepoError>;
    /// In one transaction: moves the script's `next_run_at` from the tick's instant to the
    /// claim's next one (only if it still holds that instant and the script is active) and
    /// stores the tick. `false` when another node claimed it first or the script changed.
    async fn claim(&self, claim: &crate::schedule::TickClaim) -> Result<bool, RepoError>;
    /// As `claim` for a batch, in one transaction: each claim with its run (the `pending`
    /// execution stored with it, its tick left `claimed` and linked to it until `started_many`).
    /// Which claims won, in order.
    async fn claim_many(
        &self,
        claims: &[(crate::schedule::TickClaim, Option<Execution>)],
    ) -> Result<Vec<bool>, RepoError>;
    /// Records that the runs of these ticks (script and instant) were queued.
    async fn started_many(&self, ticks: &[(ScriptId, DateTime<Utc>)]) -> Result<(), RepoError>;
    /// Records that the tick's run was started, and later (`execution` given) which execution
    /// it was.
    async fn started(
        &self,
        script: ScriptId,
        scheduled_for: DateTime<Utc>,
        execution: Option<ExecutionId>,
    ) -> Result<(), RepoError>;
    /// Ticks still `claimed` since before `before`: their node died between claim and run.
    async fn stale_claims(
        &self,
        before: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<crate::schedule::Tick>, RepoError>;
    /// Takes over a stale claim for `node`, if nobody did first.
    async fn take_over(
        &self,
        tick: &crate::schedule::Tick,
        node: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, RepoError>;
    /// A script's ticks, newest first.
    async fn ticks(
        &self,
        tenant: TenantId,
        script: ScriptId,
        limit: u64,
    ) -> Result<Vec<crate::schedule::Tick>, RepoError>;
}
