//! Following an execution as it runs: the lines it logged so far, each new line as it is
//! logged (on whichever node it runs), then its final record. A finished execution gives its
//! stored lines and its record at once.

use super::{ExecutionService, ExecutionServiceError};
use crate::live::{LiveEvent, LiveLine, LiveLogs};
use domain::execution::Execution;
use domain::repository::ExecutionRepository;
use domain::{Actor, ExecutionId, Permission, TenantId};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};

/// How often the stored status is read again: a node that died never says its runs ended
/// (the lease sweep marks them `ABANDONED`), and a message of the bus may be lost.
const STATUS_RECHECK: Duration = Duration::from_secs(3);
/// How long a follower may hear nothing before it is told so (to keep its connection open).
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What a follower hears next.
#[derive(Clone, Debug)]
pub enum FeedEvent {
    Line(Arc<LiveLine>),
    /// The final record; nothing follows it.
    End(Box<Execution>),
    /// Nothing happened for a while.
    KeepAlive,
}

/// One follower of one execution; [`Follow::next`] gives its events in order, then `None`.
pub struct Follow {
    executions: Arc<dyn ExecutionRepository>,
    live: Option<Arc<LiveLogs>>,
    tenant: TenantId,
    id: ExecutionId,
    queued: VecDeque<FeedEvent>,
    events: Option<broadcast::Receiver<LiveEvent>>,
    last_seq: u64,
    recheck: tokio::time::Interval,
    done: bool,
}

enum Wake {
    Heard(Result<LiveEvent, RecvError>),
    Recheck,
    Quiet,
}

impl ExecutionService {
    /// Follows execution `id` of the actor's tenant.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id, execution = %id))]
    pub async fn follow(
        &self,
        actor: &Actor,
        id: ExecutionId,
    ) -> Result<Follow, ExecutionServiceError> {
        actor.require(Permission::ScriptsRead)?;
        // Subscribed before the read, so that no line logged after the read is missed.
        let subscription = self.live.as_ref().map(|hub| hub.subscribe(id));
        let execution = self
            .executions
            .get(actor.tenant_id, id)
            .await?
            .ok_or(ExecutionServiceError::NotFound)?;
        let mut recheck = tokio::time::interval(STATUS_RECHECK);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        recheck.tick().await;
        let mut follow = Follow {
            executions: self.executions.clone(),
            live: self.live.clone(),
            tenant: actor.tenant_id,
            id,
            queued: VecDeque::new(),
            events: None,
            last_seq: 0,
            recheck,
            done: false,
        };
        if execution.status.is_terminal() {
            follow.end_with(execution);
        } else if let Some(subscription) = subscription {
            subscription.lines.into_iter().for_each(|l| follow.push(l));
            follow.events = Some(subscription.events);
        }
        Ok(follow)
    }
}

async fn hear(events: &mut Option<broadcast::Receiver<LiveEvent>>) -> Result<LiveEvent, RecvError> {
    match events {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}

impl Follow {
    /// The next event; `None` after the end.
    pub async fn next(&mut self) -> Option<FeedEvent> {
        loop {
            if let Some(event) = self.queued.pop_front() {
                return Some(event);
            }
            if self.done {
                return None;
            }
            let wake = tokio::select! {
                heard = hear(&mut self.events) => Wake::Heard(heard),
                _ = self.recheck.tick() => Wake::Recheck,
                () = tokio::time::sleep(KEEP_ALIVE) => Wake::Quiet,
            };
            match wake {
                Wake::Heard(Ok(LiveEvent::Line(line))) => self.push(line),
                Wake::Heard(Ok(LiveEvent::End)) => {
                    // No more lines come; the stored record tells the rest.
                    self.events = None;
                    self.check().await;
                }
                Wake::Heard(Err(RecvError::Lagged(_))) => {
                    let behind = self
                        .live
                        .as_ref()
                        .map(|hub| hub.lines_after(self.id, self.last_seq));
                    behind
                        .into_iter()
                        .flatten()
                        .for_each(|line| self.push(line));
                }
                // This node stopped keeping the execution's lines: the status tells its end.
                Wake::Heard(Err(RecvError::Closed)) => self.events = None,
                Wake::Recheck => self.check().await,
                Wake::Quiet => return Some(FeedEvent::KeepAlive),
            }
        }
    }

    /// Queues a line unless it was already given.
    fn push(&mut self, line: Arc<LiveLine>) {
        if line.seq > self.last_seq {
            self.last_seq = line.seq;
            self.queued.push_back(FeedEvent::Line(line));
        }
    }

    /// Ends with the stored record if it is final.
    async fn check(&mut self) {
        match self.executions.get(self.tenant, self.id).await {
            Ok(Some(execution)) if execution.status.is_terminal() => self.end_with(execution),
            Ok(Some(_)) => {}
            Ok(None) => self.done = true,
            Err(e) => {
                tracing::warn!(error = %e, execution = %self.id, "cannot read a followed execution")
            }
        }
    }

    /// Queues the stored lines not given yet, then the record, and ends.
    fn end_with(&mut self, execution: Execution) {
        let stored = execution.logs.iter().cloned().zip(1u64..);
        for (entry, seq) in stored {
            self.push(Arc::new(LiveLine { seq, entry }));
        }
        self.queued.push_back(FeedEvent::End(Box::new(execution)));
        self.events = None;
        self.done = true;
    }
}
