//! Execution storage whose writes a test decides about: `Gated` passes every call to the real
//! repository, and lets its `Gate` refuse a write before it is made or change the answer after
//! it was (a connection that broke once the database had committed, say).

#![allow(dead_code)]

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::execution::{Execution, ExecutionError, ExecutionStatus};
use domain::paging::{ExecutionFilter, HistoryCursor, Page, PageRequest};
use domain::repository::{ExecutionRepository, RepoError};
use domain::{ExecutionId, ScriptId, TenantId};
use persistence::SeaExecutionRepository;

/// A record's write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    Insert,
    Update,
}

/// What a test does to the records written through `Gated`.
pub trait Gate: Send + Sync + 'static {
    /// Refuses the write before it is made (`None`: make it).
    fn refuse(&self, _write: Write, _execution: &Execution) -> Option<RepoError> {
        None
    }

    /// The answer the caller gets for a write the database answered with `stored`.
    fn answer(
        &self,
        _write: Write,
        _execution: &Execution,
        stored: Result<(), RepoError>,
    ) -> Result<(), RepoError> {
        stored
    }
}

pub struct Gated<G> {
    pub inner: SeaExecutionRepository,
    pub gate: G,
}

impl<G: Gate> Gated<G> {
    async fn write(&self, write: Write, execution: &Execution) -> Result<(), RepoError> {
        if let Some(refused) = self.gate.refuse(write, execution) {
            return Err(refused);
        }
        let stored = match write {
            Write::Insert => self.inner.insert(execution).await,
            Write::Update => self.inner.update(execution).await,
        };
        self.gate.answer(write, execution, stored)
    }
}

#[async_trait]
impl<G: Gate> ExecutionRepository for Gated<G> {
    async fn insert(&self, execution: &Execution) -> Result<(), RepoError> {
        self.write(Write::Insert, execution).await
    }
    async fn update(&self, execution: &Execution) -> Result<(), RepoError> {
        self.write(Write::Update, execution).await
    }
    async fn get(&self, tenant: TenantId, id: ExecutionId) -> Result<Option<Execution>, RepoError> {
        self.inner.get(tenant, id).await
    }
    async fn list_for_script(
        &self,
        tenant: TenantId,
        script: ScriptId,
        status: Option<ExecutionStatus>,
        page: PageRequest,
    ) -> Result<Page<Execution>, RepoError> {
        self.inner
            .list_for_script(tenant, script, status, page)
            .await
    }
    async fn history(
        &self,
        tenant: TenantId,
        filter: &ExecutionFilter,
        after: Option<HistoryCursor>,
        limit: u64,
    ) -> Result<Vec<Execution>, RepoError> {
        self.inner.history(tenant, filter, after, limit).await
    }
    async fn fail_orphaned(
        &self,
        error: &ExecutionError,
        at: DateTime<Utc>,
        live_since: DateTime<Utc>,
    ) -> Result<u64, RepoError> {
        self.inner.fail_orphaned(error, at, live_since).await
    }
    async fn requeue_lost(&self, tenant: TenantId, id: ExecutionId) -> Result<bool, RepoError> {
        self.inner.requeue_lost(tenant, id).await
    }
    async fn fail_lost(
        &self,
        tenant: TenantId,
        id: ExecutionId,
        error: &ExecutionError,
        at: DateTime<Utc>,
    ) -> Result<bool, RepoError> {
        self.inner.fail_lost(tenant, id, error, at).await
    }
    async fn cancelled_on(
        &self,
        node: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<ExecutionId>, RepoError> {
        self.inner.cancelled_on(node, since).await
    }
}
