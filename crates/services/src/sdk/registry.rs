//! Services that host Rust code offers scripts as `services.<name>.<method>(…)`. Each call
//! carries the execution's tenant, user and script; errors reach the script with their code.

use domain::{ScriptId, TenantId, UserId};
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// One call of a service method by a script.
#[derive(Clone, Debug)]
pub struct ServiceCall {
    pub tenant_id: TenantId,
    pub user_id: Option<UserId>,
    pub script_id: ScriptId,
    /// The script's arguments, as JSON.
    pub args: Vec<Value>,
}

/// A failure of a service method: the script sees an `Error` with this code and message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    pub code: String,
    pub message: String,
}

impl ServiceError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

type BoxedMethod = Arc<
    dyn Fn(ServiceCall) -> Pin<Box<dyn Future<Output = Result<Value, ServiceError>> + Send>>
        + Send
        + Sync,
>;

/// The host's services by name, each with its methods.
#[derive(Clone, Default)]
pub struct ServiceRegistry {
    services: BTreeMap<String, BTreeMap<String, BoxedMethod>>,
}

impl ServiceRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `service.method`; a later registration of the same name replaces it.
    pub fn register<F, Fut>(&mut self, service: &str, method: &str, handler: F) -> &mut Self
    where
        F: Fn(ServiceCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, ServiceError>> + Send + 'static,
    {
        let boxed: BoxedMethod = Arc::new(move |call| Box::pin(handler(call)));
        self.services
            .entry(service.to_owned())
            .or_default()
            .insert(method.to_owned(), boxed);
        self
    }

    pub fn describe(&self) -> Vec<(String, Vec<String>)> {
        self.services
            .iter()
            .map(|(name, methods)| (name.clone(), methods.keys().cloned().collect()))
            .collect()
    }

    /// Calls `target` (`service.method`).
    pub async fn call(&self, target: &str, call: ServiceCall) -> Result<Value, ServiceError> {
        let method = target
            .split_once('.')
            .and_then(|(service, method)| self.services.get(service)?.get(method))
            .ok_or_else(|| {
                ServiceError::new("NOT_FOUND", format!("services.{target} does not exist"))
            })?
            .clone();
        method(call).await
    }
}
