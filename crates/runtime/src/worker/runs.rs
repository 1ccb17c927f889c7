//! The runs of a worker: registering an order so that replies and cancellations reach it,
//! running it on the calling thread (compiling first when no bytecode came with it), and
//! sending its report back as a `Done` frame.

use super::Outbox;
use crate::compile::{Compiled, compile_for};
use crate::errors::error;
use crate::isolate::{self, Completion, Control, HostLink};
use crate::protocol::{EntryFlags, FromWorker, RunOrder, RunReport, WorkerSettings};
use crossbeam_channel::{Receiver, Sender};
use domain::execution::{ExecutionError, Outcome};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// What the reading thread needs to reach a running execution.
struct Running {
    control: Arc<Control>,
    wake: Sender<Completion>,
}

/// The executions running in this worker, by run id.
#[derive(Default)]
pub(super) struct Runs(Mutex<HashMap<u64, Running>>);

impl Runs {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Running>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands a host call's completion to run `run`, if it still runs.
    pub(super) fn wake(&self, run: u64, completion: Completion) {
        if let Some(running) = self.lock().get(&run) {
            let _ = running.wake.send(completion);
        }
    }

    pub(super) fn cancel(&self, run: u64) {
        if let Some(running) = self.lock().get(&run) {
            running.control.cancel();
        }
    }

    fn remove(&self, run: u64) {
        self.lock().remove(&run);
    }
}

/// An order registered and ready to run.
pub(super) struct Prepared {
    order: RunOrder,
    blob: Vec<u8>,
    control: Arc<Control>,
    inbox: Receiver<Completion>,
}

/// Registers `order`, starting its clock now.
pub(super) fn prepare(runs: &Runs, order: RunOrder, blob: Vec<u8>) -> Prepared {
    let (wake, inbox) = crossbeam_channel::unbounded::<Completion>();
    let deadline = crate::clock::now() + Duration::from_millis(order.time_limit_ms);
    let control = Arc::new(Control::new(deadline, wake.clone()));
    runs.lock().insert(
        order.run,
        Running {
            control: control.clone(),
            wake,
        },
    );
    Prepared {
        order,
        blob,
        control,
        inbox,
    }
}

fn failed_report(failure: ExecutionError) -> RunReport {
    let now = crate::clock::utc();
    RunReport {
        outcome: Outcome::Failed(failure).into(),
        logs: Vec::new(),
        memory_bytes: 0,
        started_at: now,
        finished_at: now,
    }
}

fn send_failure(run: u64, failure: ExecutionError, outbox: &Outbox) {
    let done = FromWorker::Done {
        run,
        report: Box::new(failed_report(failure)),
        compiled: None,
    };
    outbox.send(&done, &[]);
}

/// Fails a prepared run that cannot be run.
pub(super) fn refuse(prepared: Prepared, outbox: &Outbox, runs: &Runs) {
    runs.remove(prepared.order.run);
    let failure = error("INTERNAL", "the sandbox cannot start a thread");
    send_failure(prepared.order.run, failure, outbox);
}

/// Runs a prepared order on this thread and sends its report.
pub(super) fn execute(
    prepared: Prepared,
    settings: &WorkerSettings,
    outbox: &Arc<Outbox>,
    runs: &Runs,
) {
    let Prepared {
        order,
        blob,
        control,
        inbox,
    } = prepared;
    let run = order.run;
    let (compiled, fresh) = match order.entry {
        Some(flags) => (Compiled::from_parts(blob, flags), false),
        None => match compile_for(
            order.source.as_deref().unwrap_or_default(),
            order.handler.as_deref(),
        ) {
            Ok(compiled) => (compiled, true),
            Err(failure) => {
                runs.remove(run);
                send_failure(run, failure, outbox);
                return;
            }
        },
    };
    let link: Arc<dyn HostLink> = outbox.clone();
    let report = isolate::run(&order, &compiled, settings, control, inbox, link);
    runs.remove(run);
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
    outbox.send(&done, blob);
}
