//! `LiveLogs`: the log lines of running executions, as they are logged, for whoever follows
//! them on any node. A run's sink numbers its lines and queues them; one task per node sends
//! them in batches over the bus (PostgreSQL notifications, or within the process on SQLite);
//! every node mirrors what the bus carries in memory, bounded, for its readers.

mod mirror;
mod publisher;
mod wire;

pub use mirror::{LiveEvent, Subscription};
pub use wire::LiveLine;

use crate::clock::Clock;
use domain::ExecutionId;
use domain::execution::LogEntry;
use domain::live::LiveLogBus;
use mirror::Mirror;
use runtime::LiveLogSink;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

/// Lines (and ends) waiting for this node's sending task; past this, new ones are dropped.
const QUEUE_CAPACITY: usize = 16 * 1024;

/// What a sink hands to the sending task.
#[derive(Debug)]
enum Outgoing {
    Line(ExecutionId, LiveLine),
    End(ExecutionId),
}

/// The hub of this node: sinks for the runs here, the mirror for the readers here.
pub struct LiveLogs {
    bus: Option<Arc<dyn LiveLogBus>>,
    clock: Arc<dyn Clock>,
    queue: mpsc::Sender<Outgoing>,
    /// Taken by the task that [`LiveLogs::spawn`] starts.
    queued: Mutex<Option<mpsc::Receiver<Outgoing>>>,
    mirror: Mutex<Mirror>,
}

impl LiveLogs {
    /// A hub whose lines travel over `bus` to every node, or stay in this process without one.
    pub fn new(bus: Option<Arc<dyn LiveLogBus>>, clock: Arc<dyn Clock>) -> Self {
        let (queue, queued) = mpsc::channel(QUEUE_CAPACITY);
        Self {
            bus,
            clock,
            queue,
            queued: Mutex::new(Some(queued)),
            mirror: Mutex::default(),
        }
    }

    fn mirror(&self) -> MutexGuard<'_, Mirror> {
        self.mirror.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn enqueue(&self, outgoing: Outgoing) {
        if self.queue.try_send(outgoing).is_err() {
            tracing::debug!("live log queue full or closed; a line is not shown live");
        }
    }

    /// Where the lines of execution `id` go as its script logs them.
    pub fn sink(self: &Arc<Self>, id: ExecutionId) -> Arc<dyn LiveLogSink> {
        Arc::new(Sink {
            hub: self.clone(),
            id,
            seq: AtomicU64::new(0),
        })
    }

    /// Says that execution `id`'s final record is stored (after its last line).
    pub fn finished(&self, id: ExecutionId) {
        self.enqueue(Outgoing::End(id));
    }

    /// Follows execution `id` on this node: the lines kept so far and what comes next.
    pub fn subscribe(&self, id: ExecutionId) -> Subscription {
        let now = self.clock.instant();
        self.mirror().subscribe(id, now)
    }

    /// The kept lines of execution `id` numbered after `seq` (for a reader that fell behind).
    pub fn lines_after(&self, id: ExecutionId, seq: u64) -> Vec<Arc<LiveLine>> {
        self.mirror().lines_after(id, seq)
    }

    /// Starts this node's task that sends the queued lines and mirrors what the bus carries;
    /// it runs until the handle is aborted. Without it, no line is shown live.
    pub fn spawn(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        let queued = self.queued.lock().unwrap_or_else(|p| p.into_inner()).take();
        tokio::spawn(async move {
            match queued {
                Some(queued) => publisher::run(self, queued).await,
                None => tracing::warn!("the live log task was started twice"),
            }
        })
    }
}

/// The sink of one execution: numbers its lines in the order they come.
struct Sink {
    hub: Arc<LiveLogs>,
    id: ExecutionId,
    seq: AtomicU64,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink").field("execution", &self.id).finish()
    }
}

impl LiveLogSink for Sink {
    fn line(&self, entry: LogEntry) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        self.hub
            .enqueue(Outgoing::Line(self.id, LiveLine { seq, entry }));
    }
}
