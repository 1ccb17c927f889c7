//! `ScriptHost`: the services crate's implementation of the runtime's host port. It sends
//! each SDK call to its module, always within the calling execution's tenant.

use super::events::EventPublisher;
use super::http::HttpGateway;
use super::registry::{ServiceCall, ServiceRegistry};
use async_trait::async_trait;
use runtime::{CallScope, HostError, HostPort};
use serde_json::Value;

pub struct ScriptHost {
    http: HttpGateway,
    events: EventPublisher,
    services: ServiceRegistry,
}

impl ScriptHost {
    pub fn new(http: HttpGateway, events: EventPublisher, services: ServiceRegistry) -> Self {
        Self {
            http,
            events,
            services,
        }
    }

    pub fn http(&self) -> &HttpGateway {
        &self.http
    }
}

fn unknown(module: &str, method: &str) -> HostError {
    HostError::new("UNAVAILABLE", format!("{module}.{method} is not available"))
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
        match (module, method) {
            ("http", "request") => self.http.request(&args, scope.deadline).await,
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
                    .map_err(|e| HostError::new(e.code, e.message))
            }
            _ => Err(unknown(module, method)),
        }
    }

    fn services(&self) -> Vec<(String, Vec<String>)> {
        self.services.describe()
    }
}
