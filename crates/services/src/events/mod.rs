//! Domain events outside scripts: publishing over the API or from host code (`EventBus`), the
//! dispatcher that turns them into durable deliveries, the delivery of one event to one
//! script with retries, and the dead letters people inspect, retry or discard.

mod delivery;
mod dispatch;

pub use delivery::DeliveryHandler;
pub use dispatch::Dispatcher;

use crate::clock::Clock;
use crate::executions::ExecutionService;
use domain::actor::Forbidden;
use domain::event::{DomainEvent, PublishError};
use domain::jobs::{
    DeadLetter, DeadLetterFilter, DeadLetterRepository, DeadLetterStatus, Job, JobQueue,
    RetryPolicy,
};
use domain::repository::{EventOutbox, RepoError, ScriptRepository};
use domain::script::EventType;
use domain::{Actor, Permission, ScriptId, TenantId};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error("type: {0}")]
    InvalidType(#[source] domain::script::EventTypeError),
    #[error(transparent)]
    Refused(#[from] PublishError),
    #[error("dead letter not found")]
    NotFound,
    #[error("the dead letter was already {0}")]
    AlreadyHandled(&'static str),
    #[error("the tenant publishes more events than it may; try again in a moment")]
    RateLimited,
    #[error("storage failure")]
    Storage(#[from] RepoError),
    #[error("the job queue failed")]
    Queue(#[from] domain::jobs::QueueError),
}

/// Publishing events and handling dead letters.
pub struct EventService {
    /// Events each tenant may publish over the API, per node (GCRA).
    publish_limit: Option<governor::DefaultKeyedRateLimiter<TenantId>>,
    outbox: Arc<dyn EventOutbox>,
    dead_letters: Arc<dyn DeadLetterRepository>,
    queue: Arc<dyn JobQueue>,
    clock: Arc<dyn Clock>,
}

/// Everything the event machinery needs, to build its parts from.
pub struct EventParts {
    pub outbox: Arc<dyn EventOutbox>,
    pub dead_letters: Arc<dyn DeadLetterRepository>,
    pub queue: Arc<dyn JobQueue>,
    pub scripts: Arc<dyn ScriptRepository>,
    pub executions: Arc<ExecutionService>,
    pub clock: Arc<dyn Clock>,
    pub retry: RetryPolicy,
    pub dispatch_interval: Duration,
    /// Failed deliveries, dead letters and failed async runs raise the scripts' alerts.
    pub alerts: Option<Arc<crate::alerts::Alerts>>,
    /// How fast one tenant may publish over the API; unlimited when `None`.
    pub publish_rate: Option<crate::endpoints::Rate>,
}

impl EventParts {
    /// The service, the dispatcher and the job handler, sharing the same ports.
    pub fn build(self) -> (EventService, Dispatcher, DeliveryHandler) {
        let service = EventService {
            publish_limit: self
                .publish_rate
                .map(|rate| governor::RateLimiter::dashmap(rate.quota())),
            outbox: self.outbox.clone(),
            dead_letters: self.dead_letters.clone(),
            queue: self.queue.clone(),
            clock: self.clock.clone(),
        };
        let dispatcher = Dispatcher::new(
            self.outbox,
            self.scripts.clone(),
            self.queue.clone(),
            self.clock.clone(),
            self.dispatch_interval,
        );
        let handler = DeliveryHandler {
            scripts: self.scripts,
            executions: self.executions,
            queue: self.queue,
            dead_letters: self.dead_letters,
            retry: self.retry,
            clock: self.clock,
            alerts: self.alerts,
        };
        (service, dispatcher, handler)
    }
}

impl EventService {
    /// Publishes an event in the actor's tenant (the API): stored, then dispatched.
    pub async fn publish(
        &self,
        actor: &Actor,
        event_type: &str,
        payload: Value,
    ) -> Result<DomainEvent, EventError> {
        actor.require(Permission::ScriptsExecute)?;
        if let Some(limit) = &self.publish_limit
            && limit.check_key(&actor.tenant_id).is_err()
        {
            crate::metrics::refused("publish_rate");
            return Err(EventError::RateLimited);
        }
        self.publish_as_host(actor.tenant_id, event_type, payload)
            .await
    }

    /// Publishes an event for host code (the `EventBus`), with no actor to check.
    pub async fn publish_as_host(
        &self,
        tenant: TenantId,
        event_type: &str,
        payload: Value,
    ) -> Result<DomainEvent, EventError> {
        let kind = EventType::parse(event_type).map_err(EventError::InvalidType)?;
        let event = DomainEvent::new(tenant, kind, payload, None, 0, self.clock.now())?;
        self.outbox.append(&event).await?;
        tracing::info!(event = %event.event_id, event_type = event.event_type.as_str(), "event published");
        Ok(event)
    }

    pub async fn dead_letters(
        &self,
        actor: &Actor,
        filter: &DeadLetterFilter,
        limit: u64,
    ) -> Result<Vec<DeadLetter>, EventError> {
        actor.require(Permission::ScriptsRead)?;
        Ok(self
            .dead_letters
            .list(actor.tenant_id, filter, limit)
            .await?)
    }

    pub async fn dead_letter(&self, actor: &Actor, id: Uuid) -> Result<DeadLetter, EventError> {
        actor.require(Permission::ScriptsRead)?;
        self.dead_letters
            .get(actor.tenant_id, id)
            .await?
            .ok_or(EventError::NotFound)
    }

    /// Delivers the dead letter's event again (with `payload` in place of its own, if given),
    /// as a first attempt linked to the letter.
    pub async fn retry(
        &self,
        actor: &Actor,
        id: Uuid,
        payload: Option<Value>,
    ) -> Result<DeadLetter, EventError> {
        actor.require(Permission::ScriptsExecute)?;
        let letter = self.settle(actor, id, DeadLetterStatus::Retried).await?;
        let mut delivery = letter.delivery.clone();
        delivery.attempt = 1;
        delivery.retry_of = Some(letter.id);
        if let Some(payload) = payload {
            delivery.payload = payload;
        }
        self.queue
            .push(Job::EventDelivery(delivery), Duration::ZERO)
            .await?;
        Ok(letter)
    }

    pub async fn discard(&self, actor: &Actor, id: Uuid) -> Result<DeadLetter, EventError> {
        actor.require(Permission::ScriptsExecute)?;
        self.settle(actor, id, DeadLetterStatus::Discarded).await
    }

    /// Retries every pending dead letter of a script; how many.
    pub async fn redrive(&self, actor: &Actor, script: ScriptId) -> Result<usize, EventError> {
        actor.require(Permission::ScriptsExecute)?;
        let filter = DeadLetterFilter {
            script_id: Some(script),
            status: Some(DeadLetterStatus::Pending),
            ..DeadLetterFilter::default()
        };
        let letters = self
            .dead_letters
            .list(actor.tenant_id, &filter, 1000)
            .await?;
        let mut retried = 0;
        for letter in letters {
            match self.retry(actor, letter.id, None).await {
                Ok(_) => retried += 1,
                Err(EventError::AlreadyHandled(_)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(retried)
    }

    async fn settle(
        &self,
        actor: &Actor,
        id: Uuid,
        status: DeadLetterStatus,
    ) -> Result<DeadLetter, EventError> {
        let letter = self
            .dead_letters
            .get(actor.tenant_id, id)
            .await?
            .ok_or(EventError::NotFound)?;
        if !self
            .dead_letters
            .settle(actor.tenant_id, id, status, self.clock.now())
            .await?
        {
            return Err(EventError::AlreadyHandled(letter.status.as_str()));
        }
        Ok(letter)
    }
}
