//! The dispatcher: takes published events from the outbox (whoever published them, on any
//! node) and queues one delivery job per subscribed active script of the event's tenant, then
//! marks the event dispatched. A crash between the two queues the deliveries again: delivery
//! is at least once, and each run records its event id. Nodes dispatching the same event at
//! once queue each of its first deliveries once (a job key per event and script).

use crate::clock::Clock;
use crate::drain::Drain;
use domain::TenantId;
use domain::jobs::{EventDelivery, Job, JobQueue};
use domain::paging::{PageRequest, ScriptFilter};
use domain::repository::{EventOutbox, RepoError, ScriptRepository};
use domain::script::{Script, ScriptStatus, ScriptType};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

pub struct Dispatcher {
    outbox: Arc<dyn EventOutbox>,
    scripts: Arc<dyn ScriptRepository>,
    queue: Arc<dyn JobQueue>,
    clock: Arc<dyn Clock>,
    poll_interval: Duration,
}

/// Events taken from the outbox per pass.
const BATCH: u64 = 200;

impl Dispatcher {
    pub fn new(
        outbox: Arc<dyn EventOutbox>,
        scripts: Arc<dyn ScriptRepository>,
        queue: Arc<dyn JobQueue>,
        clock: Arc<dyn Clock>,
        poll_interval: Duration,
    ) -> Self {
        Self {
            outbox,
            scripts,
            queue,
            clock,
            poll_interval,
        }
    }

    /// Runs passes until the node drains (never stopping inside a pass) or the task is
    /// aborted; events left in the outbox are any other node's to dispatch.
    pub fn spawn(self: Arc<Self>, drain: Drain) -> JoinHandle<()> {
        tokio::spawn(async move {
            while !drain.is_draining() {
                match self.pass().await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "event dispatch failed; retrying"),
                }
                tokio::select! {
                    () = tokio::time::sleep(self.poll_interval) => {}
                    () = drain.started() => {}
                }
            }
        })
    }

    /// Dispatches a batch of pending events; how many.
    pub async fn pass(&self) -> Result<usize, RepoError> {
        let events = self.outbox.pending(BATCH).await?;
        for event in &events {
            let subscribers = self.subscribers(event.tenant_id).await?;
            for script in subscribers.iter().filter(|script| {
                script
                    .spec
                    .event_types()
                    .iter()
                    .any(|t| t.matches(event.event_type.as_str()))
            }) {
                let job = Job::EventDelivery(EventDelivery::first(event, script.id));
                // Two nodes may dispatch the same event at once: its first delivery to a
                // script is queued once whoever pushes it.
                let key = format!("delivery:{}:{}", event.event_id, script.id);
                self.queue
                    .push_once(job, key)
                    .await
                    .map_err(|e| RepoError::Storage(e.to_string()))?;
            }
            self.outbox
                .mark_dispatched(event.event_id, self.clock.now())
                .await?;
        }
        Ok(events.len())
    }

    /// The tenant's active event scripts.
    async fn subscribers(&self, tenant: TenantId) -> Result<Vec<Script>, RepoError> {
        let filter = ScriptFilter {
            script_type: Some(ScriptType::Event),
            status: Some(ScriptStatus::Active),
            search: None,
        };
        let mut scripts = Vec::new();
        let mut page = 1;
        loop {
            let found = self
                .scripts
                .list(tenant, &filter, PageRequest { page, limit: 100 })
                .await?;
            let done = found.items.len() < 100;
            scripts.extend(found.items);
            if done {
                return Ok(scripts);
            }
            page += 1;
        }
    }
}
