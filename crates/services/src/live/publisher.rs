//! This node's live log task: it sends the queued lines over the bus, batched per execution for
//! up to [`BATCH_WINDOW`] and in the order they came (one sender per node), mirrors every
//! batch the bus carries, and sweeps the mirror.

use super::wire::{self, Batch, LiveLine};
use super::{LiveLogs, Outgoing};
use domain::ExecutionId;
use domain::live::LiveLogBus;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// How long a line may wait for others of its execution to share its message.
const BATCH_WINDOW: Duration = Duration::from_millis(50);
/// How often the mirror forgets what went quiet.
const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// How long to wait before listening again after the bus broke.
const RELISTEN_AFTER: Duration = Duration::from_secs(1);
/// How long the first message waits for this node to listen, so that it sees its own lines.
const FIRST_LISTEN_WAIT: Duration = Duration::from_secs(5);

/// The lines of one execution waiting to be sent.
struct Pending {
    lines: Vec<LiveLine>,
    bytes: usize,
    due: Instant,
}

/// Runs the node's live log work until aborted (or, without a bus, until the hub is gone).
pub(super) async fn run(hub: Arc<LiveLogs>, queued: mpsc::Receiver<Outgoing>) {
    let (listening, ready) = watch::channel(false);
    let listen = async {
        match hub.bus.clone() {
            Some(bus) => listen(&hub, bus, listening).await,
            None => std::future::pending().await,
        }
    };
    let sweep = async {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            hub.mirror().sweep(hub.clock.instant());
        }
    };
    tokio::select! {
        () = send(&hub, queued, ready) => {}
        () = listen => {}
        () = sweep => {}
    }
}

struct Sender<'a> {
    hub: &'a LiveLogs,
    ready: watch::Receiver<bool>,
    waited: bool,
}

impl Sender<'_> {
    async fn deliver(&mut self, execution: ExecutionId, lines: Vec<LiveLine>, end: bool) {
        let batch = Batch {
            execution,
            lines,
            end,
        };
        let Some(bus) = &self.hub.bus else {
            self.hub.mirror().apply(batch, self.hub.clock.instant());
            return;
        };
        if !self.waited {
            self.waited = true;
            let listening = self.ready.wait_for(|listening| *listening);
            let _ = tokio::time::timeout(FIRST_LISTEN_WAIT, listening).await;
        }
        let Some(message) = batch.encode() else {
            return;
        };
        if let Err(e) = bus.publish(message).await {
            tracing::warn!(error = %e, execution = %execution, "live log lines not sent");
        }
    }
}

async fn send(hub: &LiveLogs, mut queued: mpsc::Receiver<Outgoing>, ready: watch::Receiver<bool>) {
    let mut sender = Sender {
        hub,
        ready,
        waited: false,
    };
    let mut pending: HashMap<ExecutionId, Pending> = HashMap::new();
    loop {
        let due = pending.values().map(|p| p.due).min();
        let wake = async {
            match due {
                Some(due) => tokio::time::sleep_until(due.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            outgoing = queued.recv() => match outgoing {
                None => {
                    for (id, waiting) in pending.drain() {
                        sender.deliver(id, waiting.lines, false).await;
                    }
                    return;
                }
                Some(Outgoing::Line(id, line)) => {
                    let (line, size) = wire::fit(line);
                    let full = pending.get(&id).is_some_and(|p| !Batch::fits(p.bytes, size));
                    if full && let Some(waiting) = pending.remove(&id) {
                        sender.deliver(id, waiting.lines, false).await;
                    }
                    let waiting = pending.entry(id).or_insert_with(|| Pending {
                        lines: Vec::new(),
                        bytes: 0,
                        due: hub.clock.instant() + BATCH_WINDOW,
                    });
                    waiting.bytes += size + 1;
                    waiting.lines.push(line);
                }
                Some(Outgoing::End(id)) => {
                    let lines = pending.remove(&id).map(|p| p.lines).unwrap_or_default();
                    sender.deliver(id, lines, true).await;
                }
            },
            () = wake => {
                let now = hub.clock.instant();
                let due: Vec<_> = pending.iter().filter(|(_, p)| p.due <= now).map(|(id, _)| *id).collect();
                for id in due {
                    if let Some(waiting) = pending.remove(&id) {
                        sender.deliver(id, waiting.lines, false).await;
                    }
                }
            }
        }
    }
}

/// Mirrors what the bus carries; listens again whenever the subscription breaks.
async fn listen(hub: &LiveLogs, bus: Arc<dyn LiveLogBus>, listening: watch::Sender<bool>) {
    loop {
        match bus.listen().await {
            Ok(mut listener) => {
                listening.send_replace(true);
                loop {
                    match listener.next().await {
                        Ok(message) => match Batch::decode(&message) {
                            Some(batch) => hub.mirror().apply(batch, hub.clock.instant()),
                            None => tracing::debug!("a live log message that does not parse"),
                        },
                        Err(e) => {
                            tracing::warn!(error = %e, "live log bus lost; listening again");
                            break;
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot listen to the live log bus"),
        }
        tokio::time::sleep(RELISTEN_AFTER).await;
    }
}
