//! The storage port behind the in-memory table of HTTP routes: what it loads, and the stamp
//! that tells a node when another node changed a tenant's endpoints.

use crate::ids::{ScriptId, TenantId};
use crate::repository::RepoError;
use crate::script::Script;
use async_trait::async_trait;

/// One `http` script as the route stamps see it: a change of any of its fields writes a new
/// version, so (id, version) changes whenever what it serves may have changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EndpointStamp {
    pub tenant_id: TenantId,
    pub script_id: ScriptId,
    pub version: i32,
}

#[async_trait]
pub trait EndpointRepository: Send + Sync {
    /// The id and version of every `http` script of every tenant, whatever its status.
    async fn http_stamps(&self) -> Result<Vec<EndpointStamp>, RepoError>;
    /// The tenant's `http` scripts, whatever their status.
    async fn http_scripts(&self, tenant: TenantId) -> Result<Vec<Script>, RepoError>;
}
