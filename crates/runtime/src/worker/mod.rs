//! The sandbox worker: a separate process, started by the supervisor from the product's own
//! binary, that runs untrusted JavaScript and holds nothing else — no database connection, no
//! credentials, no settings but the engine's, an empty environment. It reads frames from the
//! supervisor on stdin and writes frames back on stdout; each execution runs on a thread of
//! its own, and its host calls travel to the supervisor as frames.

mod lockdown;

use crate::compile::{Compiled, compile_for};
use crate::errors::error;
use crate::isolate::{self, Completion, Control, HostLink};
use crate::pool::ThreadPool;
use crate::protocol::{
    EntryFlags, FromWorker, Layers, RunOrder, RunReport, ToWorker, WorkerSettings, read_frame,
    write_frame,
};
use chrono::Utc;
use crossbeam_channel::Sender;
use domain::execution::Outcome;
use std::collections::HashMap;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

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
}

/// What the read loop needs to reach a running execution.
struct Running {
    control: Arc<Control>,
    wake: Sender<Completion>,
}

type Runs = Arc<Mutex<HashMap<u64, Running>>>;

fn lock_runs(runs: &Runs) -> MutexGuard<'_, HashMap<u64, Running>> {
    runs.lock().unwrap_or_else(|p| p.into_inner())
}

/// Serves frames from `input` until it ends. The first frame must be `Init`; the worker locks
/// itself down (unless told not to) and answers `Ready` with the layers it holds.
pub(crate) fn serve(input: impl Read, output: impl Write + Send + 'static) -> io::Result<()> {
    let mut input = BufReader::new(input);
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
    let settings = Arc::new(settings);
    let runs: Runs = Arc::default();
    let pool = ThreadPool::new(settings.idle_threads);
    while let Some((message, blob)) = read_frame::<ToWorker>(&mut input)? {
        match message {
            ToWorker::Run(order) => start_run(*order, blob, &settings, &outbox, &runs, &pool),
            ToWorker::Reply { run, call, result } => {
                if let Some(running) = lock_runs(&runs).get(&run) {
                    let _ = running.wake.send(Completion::Host { id: call, result });
                }
            }
            ToWorker::Cancel { run } => {
                if let Some(running) = lock_runs(&runs).get(&run) {
                    running.control.cancel();
                }
            }
            ToWorker::Compile {
                id,
                source,
                handler,
            } => {
                let task_outbox = outbox.clone();
                let task = Box::new(move || {
                    let result = compile_for(&source, handler.as_deref()).map(drop);
                    task_outbox.send(&FromWorker::Compiled { id, result }, &[]);
                });
                if pool.spawn(task).is_err() {
                    let result = Err(error("INTERNAL", "the sandbox cannot start a thread"));
                    outbox.send(&FromWorker::Compiled { id, result }, &[]);
                }
            }
            ToWorker::Probe { id } => {
                let attempts = lockdown::probe();
                outbox.send(&FromWorker::Probed { id, attempts }, &[]);
            }
            ToWorker::Init(_) => {}
        }
    }
    Ok(())
}

fn failed_report(failure: domain::execution::ExecutionError) -> RunReport {
    let now = Utc::now();
    RunReport {
        outcome: Outcome::Failed(failure).into(),
        logs: Vec::new(),
        memory_bytes: 0,
        started_at: now,
        finished_at: now,
    }
}

/// Starts `order` on a thread of its own; its report goes back as a `Done` frame.
fn start_run(
    order: RunOrder,
    blob: Vec<u8>,
    settings: &Arc<WorkerSettings>,
    outbox: &Arc<Outbox>,
    runs: &Runs,
    pool: &ThreadPool,
) {
    let run = order.run;
    let (wake, inbox) = crossbeam_channel::unbounded::<Completion>();
    let deadline = Instant::now() + Duration::from_millis(order.time_limit_ms);
    let control = Arc::new(Control::new(deadline, wake.clone()));
    lock_runs(runs).insert(
        run,
        Running {
            control: control.clone(),
            wake,
        },
    );
    let (settings, task_outbox, task_runs) = (settings.clone(), outbox.clone(), runs.clone());
    let task = Box::new(move || {
        let (compiled, fresh) = match order.entry {
            Some(flags) => (Compiled::from_parts(blob, flags), false),
            None => match compile_for(
                order.source.as_deref().unwrap_or_default(),
                order.handler.as_deref(),
            ) {
                Ok(compiled) => (compiled, true),
                Err(failure) => {
                    lock_runs(&task_runs).remove(&run);
                    let report = Box::new(failed_report(failure));
                    let done = FromWorker::Done {
                        run,
                        report,
                        compiled: None,
                    };
                    task_outbox.send(&done, &[]);
                    return;
                }
            },
        };
        let link: Arc<dyn HostLink> = task_outbox.clone();
        let report = isolate::run(&order, &compiled, &settings, control, inbox, link);
        lock_runs(&task_runs).remove(&run);
        let report = Box::new(RunReport {
            outcome: report.outcome.into(),
            logs: report.logs,
            memory_bytes: report.memory_bytes,
            started_at: report.started_at,
            finished_at: report.finished_at,
        });
        let flags = EntryFlags {
            has_main: compiled.has_main,
            has_handler: compiled.has_handler,
        };
        let done = FromWorker::Done {
            run,
            report,
            compiled: fresh.then_some(flags),
        };
        let blob: &[u8] = if fresh { &compiled.bytecode } else { &[] };
        task_outbox.send(&done, blob);
    });
    if pool.spawn(task).is_err() {
        lock_runs(runs).remove(&run);
        let failure = error("INTERNAL", "the sandbox cannot start a thread");
        let done = FromWorker::Done {
            run,
            report: Box::new(failed_report(failure)),
            compiled: None,
        };
        outbox.send(&done, &[]);
    }
}
