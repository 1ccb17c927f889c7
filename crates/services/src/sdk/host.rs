//! `ScriptHost`: the services crate's implementation of the runtime's host port. It sends
//! each SDK call to its module, always within the calling execution's tenant.

use super::db::ScriptDb;
use super::events::EventPublisher;
use super::http::HttpGateway;
use super::registry::{ServiceCall, ServiceRegistry};
use super::script_cache::ScriptCache;
use async_trait::async_trait;
use runtime::{CallScope, HostError, HostErrorCode, HostPort};
use serde_json::Value;

/// The modules behind the SDK.
pub struct ScriptHost {
    pub http: HttpGateway,
    pub db: ScriptDb,
    pub cache: ScriptCache,
    pub events: EventPublisher,
    pub services: ServiceRegistry,
}

fn unknown(module: &str, method: &str) -> HostError {
    HostError::new(
        HostErrorCode::Unavailable,
        format!("{module}.{method} is not available"),
    )
}

/// The `api_type` label of a host module (a bounded set).
fn api_type(module: &str) -> Option<&'static str> {
    ["http", "db", "cache", "events", "services"]
        .into_iter()
        .find(|known| *known == module)
}

#[async_trait]
impl HostPort for ScriptHost {
    async fn call(
        &self,
        scope: CallScope,
        module: &str,
        method: &str,
        args: Value,
    ) -> Result<Value, HostError> {
        let tenant = scope.tenant_id.to_string();
        if let Some(api_type) = api_type(module) {
            crate::metrics::api_call(&tenant, api_type);
        }
        match (module, method) {
            ("http", "request") => {
                let answer = self.http.request(&args, scope.deadline).await;
                if let Err(error) = &answer
                    && error.code == HostErrorCode::SsrfBlocked
                {
                    crate::metrics::ssrf_attempt(&tenant);
                }
                answer
            }
            ("db", "query" | "queryOne" | "execute") => {
                self.db.statement(&scope, method, &args).await
            }
            ("db", "begin") => self.db.begin(&scope).await,
            ("db", "commit") => self.db.finish(&scope, true, &args).await,
            ("db", "rollback") => self.db.finish(&scope, false, &args).await,
            ("cache", method) => self.cache.call(&scope, method, &args).await,
            ("events", "publish") => self.events.publish(&scope, &args).await,
            ("services", target) => {
                let call = ServiceCall {
                    tenant_id: scope.tenant_id,
                    user_id: scope.user_id,
                    script_id: scope.script_id,
                    args: args.as_array().cloned().unwrap_or_default(),
                };
                self.services
                    .call(target, call)
                    .await
                    .map_err(|e| HostError::new(HostErrorCode::service(e.code), e.message))
            }
            _ => Err(unknown(module, method)),
        }
    }

    fn services(&self) -> Vec<(String, Vec<String>)> {
        self.services.describe()
    }

    async fn release(&self, scope: CallScope) {
        self.db.release(&scope).await;
    }
}
