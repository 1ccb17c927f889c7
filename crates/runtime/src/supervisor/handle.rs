//! The supervisor's side of one worker: its outgoing frames (written without ever blocking a
//! server thread on a worker that stopped reading), a reader thread that relays its
//! host calls and collects its reports, and the table of what it is running. The worker is
//! trusted with nothing: a host call names only a run id, and the scope it runs in (tenant,
//! script, user) comes from this side's table of runs given to that very worker.

use super::outgoing::{Outgoing, Pipe};
use super::relay::Relay;
use crate::compile::Compiled;
use crate::errors::error;
use crate::host::CallScope;
use crate::job::{LiveLogSink, Report};
use crate::protocol::{FromWorker, Layers, ProbeAttempt, RunOrder, ToWorker, encode, read_frame};
use domain::execution::ExecutionError;
use std::collections::HashMap;
use std::io::{BufReader, Read};
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;
use tokio::sync::oneshot;

/// How a run ended, as far as the supervisor knows.
pub(crate) enum RunEnd {
    Done(Report, Option<Compiled>),
    Crashed(ExecutionError),
}

/// A run given to this worker.
pub(crate) struct RunEntry {
    pub(crate) scope: CallScope,
    pub(crate) http_limit: u64,
    pub(crate) done: oneshot::Sender<RunEnd>,
    /// Where the lines it logs go while it runs, if anyone follows them.
    pub(crate) live: Option<Arc<dyn LiveLogSink>>,
    pub(super) pending_calls: usize,
    /// The SDK calls the run made so far, by `module.method`.
    pub(super) calls: std::collections::BTreeMap<String, u64>,
}

impl RunEntry {
    pub(crate) fn new(scope: CallScope, http_limit: u64, done: oneshot::Sender<RunEnd>) -> Self {
        Self {
            scope,
            http_limit,
            done,
            live: None,
            pending_calls: 0,
            calls: Default::default(),
        }
    }
}

type Answer<T> = oneshot::Sender<Result<T, ExecutionError>>;

#[derive(Default)]
pub(super) struct Table {
    pub(super) runs: HashMap<u64, RunEntry>,
    pub(super) compiles: HashMap<u64, Answer<()>>,
    pub(super) probes: HashMap<u64, Answer<(Layers, Vec<ProbeAttempt>)>>,
    /// Why the worker is gone, once it is.
    pub(super) dead: Option<String>,
}

/// How the worker is stopped for good.
pub(crate) enum Stopper {
    Process(Mutex<Child>),
    /// In-process mode: a worker thread cannot be killed, only abandoned.
    Thread,
}

pub(crate) struct WorkerHandle {
    pub(crate) id: u64,
    pub(super) outgoing: Arc<Outgoing>,
    pub(super) table: Mutex<Table>,
    pub(super) stopper: Stopper,
    pub(super) relay: Arc<Relay>,
    pub(super) layers: OnceLock<Layers>,
    pub(super) locked: bool,
    /// Runs and checks it holds now; changed under the supervisor's pool lock.
    pub(crate) active: AtomicUsize,
    pub(crate) served: AtomicU64,
    pub(crate) retiring: AtomicBool,
    pub(crate) idle_since: Mutex<Instant>,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn crashed(reason: &str) -> ExecutionError {
    error("SANDBOX_CRASHED", reason)
}

impl WorkerHandle {
    /// Takes over a started worker: its input, its output and how to stop it. `init` is the
    /// first frame it is sent.
    pub(crate) fn start(
        id: u64,
        (input, output): (Box<dyn Pipe>, Box<dyn Read + Send>),
        stopper: Stopper,
        relay: Arc<Relay>,
        init: Vec<u8>,
        locked: bool,
    ) -> std::io::Result<Arc<Self>> {
        let outgoing = Outgoing::start(input, format!("iota-sandbox-{id}-out"))?;
        outgoing.send(init);
        let worker = Arc::new(Self {
            id,
            outgoing,
            table: Mutex::default(),
            stopper,
            relay,
            layers: OnceLock::new(),
            locked,
            active: AtomicUsize::new(0),
            served: AtomicU64::new(0),
            retiring: AtomicBool::new(false),
            idle_since: Mutex::new(crate::clock::now()),
        });
        let reader = worker.clone();
        std::thread::Builder::new()
            .name(format!("iota-sandbox-{id}-in"))
            .spawn(move || reader.read_loop(BufReader::new(output)))?;
        Ok(worker)
    }

    /// The worker's process id, when it is a process.
    pub(crate) fn pid(&self) -> Option<u32> {
        match &self.stopper {
            Stopper::Process(child) => Some(lock(child).id()),
            Stopper::Thread => None,
        }
    }

    pub(crate) fn is_dead(&self) -> bool {
        lock(&self.table).dead.is_some()
    }

    pub(super) fn send(&self, message: &ToWorker, blob: &[u8]) -> Result<(), ExecutionError> {
        let frame = encode(message, blob).map_err(|e| error("INTERNAL", e.to_string()))?;
        if self.outgoing.send(frame) {
            Ok(())
        } else {
            Err(crashed(
                lock(&self.table)
                    .dead
                    .as_deref()
                    .unwrap_or("the sandbox process is gone"),
            ))
        }
    }

    /// Registers a request under the table's lock (refused if the worker is gone), then sends
    /// its frame. If the pipe is broken, the request stays registered: the reader sees the
    /// worker's end and answers it with the reason.
    fn register_and_send(
        &self,
        register: impl FnOnce(&mut Table),
        unregister: impl FnOnce(&mut Table),
        message: &ToWorker,
        blob: &[u8],
    ) -> Result<(), ExecutionError> {
        let frame = encode(message, blob).map_err(|e| {
            error(
                "INPUT_TOO_LARGE",
                format!("the job cannot be handed to the sandbox: {e}"),
            )
        })?;
        {
            let mut table = lock(&self.table);
            if let Some(reason) = &table.dead {
                return Err(crashed(reason));
            }
            register(&mut table);
        }
        if !self.outgoing.send(frame) {
            let mut table = lock(&self.table);
            if let Some(reason) = table.dead.clone() {
                unregister(&mut table);
                return Err(crashed(&reason));
            }
        }
        Ok(())
    }

    /// Gives the worker a run; its end arrives on the returned receiver.
    pub(crate) fn start_run(
        &self,
        order: RunOrder,
        blob: &[u8],
        entry: RunEntry,
    ) -> Result<(), ExecutionError> {
        let run = order.run;
        self.register_and_send(
            |table| {
                table.runs.insert(run, entry);
            },
            |table| {
                table.runs.remove(&run);
            },
            &ToWorker::Run(Box::new(order)),
            blob,
        )
    }

    pub(crate) fn cancel(&self, run: u64) {
        let _ = self.send(&ToWorker::Cancel { run }, &[]);
    }

    /// Whether the worker still holds run `run` (it has not reported its end).
    pub(crate) fn holds(&self, run: u64) -> bool {
        lock(&self.table).runs.contains_key(&run)
    }

    /// Forgets a run the supervisor has given up on, so that the worker's end does not touch it.
    pub(crate) fn forget(&self, run: u64) {
        lock(&self.table).runs.remove(&run);
    }

    pub(crate) fn compile(
        &self,
        id: u64,
        source: String,
        handler: Option<String>,
    ) -> Result<oneshot::Receiver<Result<(), ExecutionError>>, ExecutionError> {
        let (answer, receiver) = oneshot::channel();
        self.register_and_send(
            |table| {
                table.compiles.insert(id, answer);
            },
            |table| {
                table.compiles.remove(&id);
            },
            &ToWorker::Compile {
                id,
                source,
                handler,
            },
            &[],
        )?;
        Ok(receiver)
    }

    #[allow(clippy::type_complexity)]
    pub(crate) fn probe(
        &self,
        id: u64,
    ) -> Result<
        oneshot::Receiver<Result<(Layers, Vec<ProbeAttempt>), ExecutionError>>,
        ExecutionError,
    > {
        let (answer, receiver) = oneshot::channel();
        self.register_and_send(
            |table| {
                table.probes.insert(id, answer);
            },
            |table| {
                table.probes.remove(&id);
            },
            &ToWorker::Probe { id },
            &[],
        )?;
        Ok(receiver)
    }

    /// Stops the worker now (SIGKILL) and fails whatever it still held with `reason`.
    pub(crate) fn kill(&self, reason: &str) {
        self.stop_process();
        self.die(reason.to_owned());
    }

    /// Closes the worker's input: it exits once it has read what was sent.
    pub(crate) fn close(&self) {
        self.retiring.store(true, Ordering::Release);
        self.outgoing.close();
    }

    fn stop_process(&self) {
        if let Stopper::Process(child) = &self.stopper {
            let _ = lock(child).kill();
        }
    }

    /// Marks the worker gone and fails everything it held.
    fn die(&self, reason: String) {
        self.outgoing.close();
        let table = {
            let mut table = lock(&self.table);
            if table.dead.is_none() {
                table.dead = Some(reason);
            }
            let reason = table.dead.clone().unwrap_or_default();
            Table {
                runs: std::mem::take(&mut table.runs),
                compiles: std::mem::take(&mut table.compiles),
                probes: std::mem::take(&mut table.probes),
                dead: Some(reason),
            }
        };
        let reason = table.dead.as_deref().unwrap_or_default();
        for (_, entry) in table.runs {
            let _ = entry.done.send(RunEnd::Crashed(crashed(reason)));
        }
        for (_, answer) in table.compiles {
            let _ = answer.send(Err(crashed(reason)));
        }
        for (_, answer) in table.probes {
            let _ = answer.send(Err(crashed(reason)));
        }
    }

    fn read_loop(self: Arc<Self>, mut output: impl Read) {
        let not_a_worker = "the worker program did not answer as a sandbox worker (a host \
                            application must call runtime::run_worker_if_requested() first \
                            thing in main)";
        let mut answered = false;
        let ended = loop {
            match read_frame::<FromWorker>(&mut output) {
                Ok(Some((message, blob))) => {
                    answered = true;
                    self.dispatch(message, blob);
                }
                Ok(None) if answered => break "the sandbox process ended".to_owned(),
                Err(e) if answered => break format!("the sandbox process broke the protocol: {e}"),
                Ok(None) | Err(_) => break not_a_worker.to_owned(),
            }
        };
        // Whatever ended the stream, the process must not live on.
        self.stop_process();
        let status = match &self.stopper {
            Stopper::Process(child) => lock(child).wait().ok().map(|status| status.to_string()),
            Stopper::Thread => None,
        };
        let reason = match status {
            Some(status) => format!("{ended} ({status})"),
            None => ended,
        };
        if !self.retiring.load(Ordering::Acquire) || !lock(&self.table).runs.is_empty() {
            tracing::warn!(worker = self.id, reason = %reason, "sandbox worker stopped");
        }
        self.die(reason);
    }
}
