//! `EndpointService`: serves `http` scripts. It finds a request's route in the in-memory
//! table (`routes.rs`), admits it past the rate limits (`limits.rs`), builds the request object
//! (`request.rs`), runs the script with trigger `http` once a concurrency slot is free (waiting
//! a bounded time in a bounded per-tenant queue), and maps its return value to the response
//! (`response.rs`). A request refused before its run starts stores nothing.

mod limits;
mod request;
mod response;
mod routes;
#[cfg(test)]
mod tests;

pub use limits::Rate;
pub use request::{IncomingRequest, MalformedBody, request_object};
pub use response::{
    EXECUTION_ID_HEADER, EndpointResponse, InvalidResponse, PLATFORM_COOKIES, ResponseBody,
    map_output,
};
pub use routes::{Lookup, RouteMatch, RouteTable};

use crate::clock::Clock;
use crate::executions::{ExecutionService, ExecutionServiceError, RunRequest};
use crate::script_changes::ScriptChanges;
use domain::actor::Forbidden;
use domain::endpoints::EndpointRepository;
use domain::execution::{ExecutionStatus, Trigger, TriggerDetails, TriggerKind};
use domain::repository::{RepoError, TenantRepository};
use domain::script::HttpMethod;
use domain::{Actor, ExecutionId, Permission, TenantId};
use limits::{RateLimits, WaitQueue};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct EndpointConfig {
    /// The largest request body read; larger ones are refused with 413.
    pub max_body_bytes: usize,
    pub tenant_rate: Rate,
    pub route_rate: Rate,
    /// How many of a tenant's requests may wait for a concurrency slot at once.
    pub queue_depth: usize,
    /// How long a request waits for a concurrency slot before it is refused.
    pub queue_wait: Duration,
    /// How often the route stamps of other nodes' changes are read, at most.
    pub refresh_every: Duration,
}

/// Who calls: a token holder of the tenant (`/api/scripts`), or anyone (`/hooks/{slug}`).
#[derive(Clone, Copy, Debug)]
pub enum Access<'a> {
    Member(&'a Actor),
    Public,
}

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("no endpoint at this path")]
    NotFound,
    #[error("the endpoint does not accept this method")]
    MethodNotAllowed { allow: Vec<HttpMethod> },
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error("too many requests")]
    RateLimited { retry_after: Duration },
    #[error("too many executions are running; try again shortly")]
    Busy { retry_after: Duration },
    #[error(transparent)]
    MalformedBody(#[from] MalformedBody),
    #[error("storage failure")]
    Storage(#[source] RepoError),
    #[error("the script could not be run")]
    Run(#[source] ExecutionServiceError),
}

/// How a run that started ended, as the HTTP layer answers it.
#[derive(Debug)]
pub enum Reply {
    /// The script's response, ready to send.
    Response(EndpointResponse),
    /// The run passed its time limit (504).
    Timeout,
    /// The script threw, crashed or was cancelled (500).
    Failed,
    /// The script returned something that cannot be sent (500).
    Invalid(InvalidResponse),
}

#[derive(Debug)]
pub struct Answer {
    pub execution_id: ExecutionId,
    pub reply: Reply,
}

pub struct EndpointService {
    routes: RouteTable,
    executions: Arc<ExecutionService>,
    tenants: Arc<dyn TenantRepository>,
    /// Tenant slug → id, for `/hooks/{slug}`; slugs never change. Unknown slugs are kept
    /// briefly too, so that a flood of them does not reach storage.
    slugs: moka::sync::Cache<String, Option<TenantId>>,
    rates: RateLimits,
    queue: WaitQueue,
    config: EndpointConfig,
}

const SLUG_CACHE_TTL: Duration = Duration::from_secs(5);

/// Refused by the engine's concurrency limits after the wait (or with the queue full).
fn busy() -> EndpointError {
    EndpointError::Busy {
        retry_after: Duration::from_secs(1),
    }
}

impl EndpointService {
    pub fn new(
        repository: Arc<dyn EndpointRepository>,
        tenants: Arc<dyn TenantRepository>,
        executions: Arc<ExecutionService>,
        changes: Arc<ScriptChanges>,
        clock: Arc<dyn Clock>,
        config: EndpointConfig,
    ) -> Self {
        Self {
            routes: RouteTable::new(repository, changes, clock.clone(), config.refresh_every),
            executions,
            tenants,
            slugs: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(SLUG_CACHE_TTL)
                .build(),
            rates: RateLimits::new(config.tenant_rate, config.route_rate, clock),
            queue: WaitQueue::new(config.queue_depth),
            config,
        }
    }

    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Loads every tenant's routes; run once at start-up.
    pub async fn load(&self) -> Result<(), EndpointError> {
        self.routes.load().await.map_err(EndpointError::Storage)
    }

    /// The tenant a public webhook's slug names; `None` for no such tenant.
    pub async fn tenant_of_slug(&self, slug: &str) -> Result<Option<TenantId>, EndpointError> {
        if let Some(known) = self.slugs.get(slug) {
            return Ok(known);
        }
        let tenant = self.tenants.get_by_slug(slug).await;
        let tenant = tenant.map_err(EndpointError::Storage)?.map(|t| t.id);
        self.slugs.insert(slug.to_owned(), tenant);
        Ok(tenant)
    }

    /// The route of `method` and `path` for `access` in `tenant`: a member needs
    /// `scripts.execute`; the public reaches public endpoints only.
    pub async fn route(
        &self,
        tenant: TenantId,
        access: Access<'_>,
        method: &str,
        path: &str,
    ) -> Result<RouteMatch, EndpointError> {
        if let Access::Member(actor) = access {
            actor.require(Permission::ScriptsExecute)?;
        }
        let routes = self
            .routes
            .routes(tenant)
            .await
            .map_err(EndpointError::Storage)?;
        match routes.lookup(method, path, matches!(access, Access::Public)) {
            Lookup::Found(found) => Ok(found),
            Lookup::MethodNotAllowed(allow) => Err(EndpointError::MethodNotAllowed { allow }),
            Lookup::NotFound => Err(EndpointError::NotFound),
        }
    }

    /// Admits one request to `route` past the tenant's and the route's rate limits.
    pub fn admit(&self, route: &RouteMatch) -> Result<(), EndpointError> {
        self.rates
            .admit(route.script.tenant_id, &route.route_key)
            .map_err(|retry_after| EndpointError::RateLimited { retry_after })
    }

    /// Runs the route's script with the request and maps what it returned.
    #[tracing::instrument(skip_all, fields(tenant = %route.script.tenant_id, script = %route.script.id))]
    pub async fn call(
        &self,
        access: Access<'_>,
        route: RouteMatch,
        incoming: &IncomingRequest,
    ) -> Result<Answer, EndpointError> {
        let member = match access {
            Access::Member(actor) => Some(actor),
            Access::Public => None,
        };
        let argument = request_object(incoming, &route.params, member.is_some())?;
        let script = route.script;
        let reservation = match self.executions.reserve(&script, Duration::ZERO).await {
            Ok(reservation) => reservation,
            Err(now) => {
                let Some(_place) = self.queue.enter(script.tenant_id) else {
                    // The tenant's slots and its queue are full.
                    crate::metrics::refused_run(&now);
                    return Err(busy());
                };
                let waited = self.executions.reserve(&script, self.config.queue_wait);
                waited.await.map_err(|error| {
                    crate::metrics::refused_run(&error);
                    busy()
                })?
            }
        };
        let request = RunRequest {
            trigger: Trigger {
                kind: TriggerKind::Http,
                details: TriggerDetails {
                    http_method: Some(incoming.method.clone()),
                    http_path: Some(incoming.path.clone()),
                    user_id: member.and_then(|actor| actor.user_id),
                    ..TriggerDetails::default()
                },
            },
            input: argument,
            argument: None,
            attempt: 1,
            event_depth: 0,
        };
        let execution = self
            .executions
            .run_reserved(&script, request, reservation)
            .await
            .map_err(|error| match error {
                ExecutionServiceError::Busy(_) => busy(),
                other => EndpointError::Run(other),
            })?;
        let reply = match execution.status {
            ExecutionStatus::Completed => match map_output(execution.output.as_ref()) {
                Ok(response) => Reply::Response(response),
                Err(invalid) => Reply::Invalid(invalid),
            },
            ExecutionStatus::Timeout => Reply::Timeout,
            _ => Reply::Failed,
        };
        Ok(Answer {
            execution_id: execution.id,
            reply,
        })
    }
}
