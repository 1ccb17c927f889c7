//! The sandbox worker: a separate process, started by the supervisor from the product's own
//! binary, that runs untrusted JavaScript and holds nothing else — no database connection, no
//! credentials, no settings but the engine's, an empty environment. It reads frames from the
//! supervisor on stdin and writes frames back on stdout. An execution runs on a pool thread
//! while it computes; while it only waits (for a host call, a timer) it is parked with no
//! thread (`runs.rs`), so that thousands of waiting runs cost their engines' memory and no
//! more. Its host calls travel to the supervisor as frames.
//!
//! Reading follows a leader/follower pattern: one pool thread at a time reads; when it reads
//! a run, it hands the reading to an idle thread and runs the order itself, so a run starts
//! without a thread hand-off on its path.

mod lockdown;
mod runs;

use crate::compile::compile_for;
use crate::errors::error;
use crate::isolate::{Completion, HostLink};
use crate::pool::ThreadPool;
use crate::protocol::{FromWorker, Layers, ToWorker, WorkerSettings, read_frame, write_frame};
use runs::Runs;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};

/// The first argument that makes the product's binary a sandbox worker.
pub const WORKER_ARG: &str = "__iota-sandbox-worker";

/// Runs this process as a sandbox worker when it was started as one, and never returns then.
/// A host application that runs scripts calls this first thing in `main`, before it reads
/// any configuration or opens anything, so that its workers start clean.
pub fn run_worker_if_requested() {
    if std::env::args_os()
        .nth(1)
        .is_some_and(|arg| arg == WORKER_ARG)
    {
        worker_main();
    }
}

/// Stops a process that was started as a sandbox worker but went on to build an engine: its
/// `main` did not call [`run_worker_if_requested`] first, and each worker would start
/// workers of its own without end.
pub(crate) fn refuse_engine_in_worker() {
    if std::env::args_os()
        .nth(1)
        .is_some_and(|arg| arg == WORKER_ARG)
    {
        eprintln!(
            "iota-sandbox: this program was started as a sandbox worker but builds an engine: call runtime::run_worker_if_requested() first thing in main"
        );
        std::process::exit(70);
    }
}

/// Serves the supervisor on stdin and stdout until it closes them, then exits the process.
pub fn worker_main() -> ! {
    let code = match worker_streams() {
        Ok((input, output)) => match serve(input, output) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("iota-sandbox: {e}");
                2
            }
        },
        Err(e) => {
            eprintln!("iota-sandbox: cannot take its streams: {e}");
            2
        }
    };
    std::process::exit(code)
}

/// The protocol's streams: private copies of stdin and stdout, with stdout itself pointed at
/// stderr so that nothing printed by accident can break a frame.
fn worker_streams() -> io::Result<(std::fs::File, std::fs::File)> {
    use std::os::fd::AsFd;
    let input = std::fs::File::from(io::stdin().as_fd().try_clone_to_owned()?);
    let output = std::fs::File::from(io::stdout().as_fd().try_clone_to_owned()?);
    #[cfg(target_os = "linux")]
    rustix::stdio::dup2_stdout(io::stderr())?;
    Ok((input, output))
}

/// Writes frames to the supervisor; every thread of the worker shares it.
pub(crate) struct Outbox(Mutex<BufWriter<Box<dyn Write + Send>>>);

impl Outbox {
    fn lock(&self) -> MutexGuard<'_, BufWriter<Box<dyn Write + Send>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send(&self, message: &FromWorker, blob: &[u8]) {
        // A failed write means the supervisor is gone: the read loop sees the same and ends.
        let _ = write_frame(&mut *self.lock(), message, blob);
    }
}

impl HostLink for Outbox {
    fn call(&self, run: u64, call: u64, module: String, method: String, args: serde_json::Value) {
        let message = FromWorker::Call {
            run,
            call,
            module,
            method,
            args,
        };
        self.send(&message, &[]);
    }

    fn log(&self, run: u64, entry: domain::execution::LogEntry) {
        self.send(&FromWorker::Log { run, entry }, &[]);
    }
}

/// The alarm thread only keeps a heap of instants and resumes runs on pool threads.
const ALARM_STACK_BYTES: usize = 256 * 1024;

type Input = BufReader<Box<dyn Read + Send>>;

/// What the threads of a worker share.
struct Worker {
    settings: WorkerSettings,
    outbox: Arc<Outbox>,
    runs: Runs,
    pool: ThreadPool,
    /// The input, held by whichever thread leads (reads) now.
    input: Mutex<Option<Input>>,
    /// Told how the input ended.
    ended: crossbeam_channel::Sender<io::Result<()>>,
}

impl Worker {
    fn take_input(&self) -> Option<Input> {
        self.input.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn put_input(&self, input: Input) {
        *self.input.lock().unwrap_or_else(|p| p.into_inner()) = Some(input);
    }

    /// Handles a frame that is not a run.
    fn handle(self: &Arc<Self>, message: ToWorker) {
        match message {
            ToWorker::Run(_) | ToWorker::Init(_) => {}
            ToWorker::Reply { run, call, result } => {
                if let Some(parked) = self.runs.wake(run, Completion::Host { id: call, result }) {
                    runs::resume(self, run, parked);
                }
            }
            ToWorker::Cancel { run } => {
                if let Some(parked) = self.runs.cancel(run) {
                    runs::resume(self, run, parked);
                }
            }
            ToWorker::Compile {
                id,
                source,
                handler,
            } => {
                let outbox = self.outbox.clone();
                let task = Box::new(move || {
                    let result = compile_for(&source, handler.as_deref()).map(drop);
                    outbox.send(&FromWorker::Compiled { id, result }, &[]);
                });
                if self.pool.spawn(task).is_err() {
                    let result = Err(error("INTERNAL", "the sandbox cannot start a thread"));
                    self.outbox.send(&FromWorker::Compiled { id, result }, &[]);
                }
            }
            ToWorker::Probe { id } => {
                let attempts = lockdown::probe();
                self.outbox.send(&FromWorker::Probed { id, attempts }, &[]);
            }
        }
    }
}

/// Reads frames until one is a run; then hands the reading to another thread and runs it.
fn lead(worker: Arc<Worker>) {
    let Some(mut input) = worker.take_input() else {
        return;
    };
    loop {
        match read_frame::<ToWorker>(&mut input) {
            Ok(Some((ToWorker::Run(order), blob))) => {
                let prepared = runs::prepare(&worker.runs, *order, blob);
                worker.put_input(input);
                let next = worker.clone();
                if worker.pool.spawn(Box::new(move || lead(next))).is_ok() {
                    runs::execute(prepared, &worker);
                    return;
                }
                // No thread to take over the reading: keep it, and fail this run.
                runs::refuse(prepared, &worker.outbox, &worker.runs);
                match worker.take_input() {
                    Some(taken) => input = taken,
                    None => return,
                }
            }
            Ok(Some((message, _))) => worker.handle(message),
            Ok(None) => {
                let _ = worker.ended.send(Ok(()));
                return;
            }
            Err(e) => {
                let _ = worker.ended.send(Err(e));
                return;
            }
        }
    }
}

/// Serves frames from `input` until it ends. The first frame must be `Init`; the worker locks
/// itself down (unless told not to) and answers `Ready` with the layers it holds.
pub(crate) fn serve(
    input: impl Read + Send + 'static,
    output: impl Write + Send + 'static,
) -> io::Result<()> {
    let mut input: Input = BufReader::new(Box::new(input));
    let settings = match read_frame::<ToWorker>(&mut input)? {
        Some((ToWorker::Init(settings), _)) => settings,
        Some(_) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the first frame is not Init",
            ));
        }
        None => return Ok(()),
    };
    let layers = if settings.lockdown {
        lockdown::apply(&settings)
    } else {
        Layers::default()
    };
    let outbox = Arc::new(Outbox(Mutex::new(BufWriter::new(Box::new(output)))));
    outbox.send(&FromWorker::Ready { layers }, &[]);
    let (ended, end) = crossbeam_channel::bounded(1);
    let worker = Arc::new(Worker {
        pool: ThreadPool::new(settings.idle_threads),
        settings,
        outbox,
        runs: Runs::default(),
        input: Mutex::new(Some(input)),
        ended,
    });
    let alarms = worker.clone();
    std::thread::Builder::new()
        .name("iota-alarms".into())
        .stack_size(ALARM_STACK_BYTES)
        .spawn(move || runs::ring_alarms(&alarms))
        .map_err(|e| io::Error::other(format!("cannot start the alarm thread: {e}")))?;
    let first = worker.clone();
    worker
        .pool
        .spawn(Box::new(move || lead(first)))
        .map_err(|e| io::Error::other(format!("cannot start the reading thread: {e}")))?;
    let ended = end
        .recv()
        .unwrap_or_else(|_| Err(io::Error::other("the reading thread stopped")));
    worker.runs.close();
    ended
}
