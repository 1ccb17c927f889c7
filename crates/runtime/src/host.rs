//! The host port: the only way a script reaches anything outside its isolate. SDK modules
//! call it; the services crate implements it.

pub use crate::error_code::HostErrorCode;
use async_trait::async_trait;
use domain::{ExecutionId, ScriptId, TenantId, UserId};
use serde_json::Value;

/// Who is calling: every host call carries the execution's tenant, script and user.
#[derive(Clone, Debug)]
pub struct CallScope {
    pub tenant_id: TenantId,
    pub script_id: ScriptId,
    pub execution_id: ExecutionId,
    pub user_id: Option<UserId>,
    /// When the execution's time is up: no host work should outlast it.
    pub deadline: std::time::Instant,
    /// How deep in a chain of events the execution is (0 when no event started it).
    pub event_depth: u32,
}

/// A failure a script sees as an `Error` with this `code` and message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{code}: {message}")]
pub struct HostError {
    pub code: HostErrorCode,
    pub message: String,
}

impl HostError {
    pub fn new(code: HostErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

#[async_trait]
pub trait HostPort: Send + Sync {
    /// Runs `module.method(args)` for the script; the result is returned to it as JSON.
    async fn call(
        &self,
        scope: CallScope,
        module: &str,
        method: &str,
        args: Value,
    ) -> Result<Value, HostError>;

    /// The services the host offers scripts as `services.<name>.<method>(…)`: names with
    /// their method names.
    fn services(&self) -> Vec<(String, Vec<String>)> {
        Vec::new()
    }

    /// Called once an execution has ended: release what it held (open transactions…).
    async fn release(&self, _scope: CallScope) {}
}

/// A host with nothing to offer: every call fails with `UNAVAILABLE`.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHost;

#[async_trait]
impl HostPort for NoHost {
    async fn call(
        &self,
        _: CallScope,
        module: &str,
        method: &str,
        _: Value,
    ) -> Result<Value, HostError> {
        Err(HostError::new(
            HostErrorCode::Unavailable,
            format!("{module}.{method} is not available"),
        ))
    }
}
