//! The runs of a worker: registering an order so that replies and cancellations reach it,
//! running it (compiling first when no bytecode came with it), parking it while it waits —
//! for a host call's result, a timer or its deadline — with no thread of its own, resuming it
//! on a pool thread when something arrives or its alarm rings, and sending its report back as
//! a `Done` frame.

use super::{Outbox, Worker};
use crate::compile::{Compiled, compile_for};
use crate::errors::error;
use crate::isolate::{self, Completion, Control, HostLink, Parked, Step};
use crate::protocol::{EntryFlags, FromWorker, RunOrder, RunReport};
use crossbeam_channel::{Receiver, Sender};
use domain::execution::{ExecutionError, Outcome};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What the reading thread needs to reach a run, and the run itself while it is parked.
struct Running {
    control: Arc<Control>,
    wake: Sender<Completion>,
    /// The run, while it waits with no thread.
    parked: Option<Parked>,
    /// The earliest alarm set for it that has not rung.
    alarm: Option<Instant>,
    /// For a source compiled here: its entry points and bytecode, sent back with the report.
    fresh: Option<(EntryFlags, Vec<u8>)>,
}

/// The executions of this worker, by run id, and the alarms of the parked ones.
#[derive(Default)]
pub(super) struct Runs {
    running: Mutex<HashMap<u64, Running>>,
    alarms: Mutex<BinaryHeap<Reverse<(Instant, u64)>>>,
    /// Told when an alarm is set, or the worker closes.
    alarm_set: Condvar,
    /// Set when the worker's input has ended: the alarm thread leaves.
    closed: AtomicBool,
}

impl Runs {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands a host call's completion to run `run`, if it still runs; returns the run if it
    /// was parked, for the caller to resume.
    pub(super) fn wake(&self, run: u64, completion: Completion) -> Option<Parked> {
        let mut running = self.lock();
        let entry = running.get_mut(&run)?;
        let _ = entry.wake.send(completion);
        entry.parked.take()
    }

    /// Cancels run `run`; returns it if it was parked, for the caller to resume (to end).
    pub(super) fn cancel(&self, run: u64) -> Option<Parked> {
        let mut running = self.lock();
        let entry = running.get_mut(&run)?;
        entry.control.cancel();
        entry.parked.take()
    }

    /// Leaves `parked` to wait for its inbox or its alarm; gives it back when something has
    /// already arrived (the caller goes on with it).
    fn park(&self, run: u64, parked: Parked) -> Option<Parked> {
        let wake_at = parked.wake_at;
        {
            let mut running = self.lock();
            let Some(entry) = running.get_mut(&run) else {
                // Never so: a run's entry goes only with its end. Dropped, it ends here.
                return None;
            };
            if parked.has_news() {
                return Some(parked);
            }
            entry.parked = Some(parked);
            if entry.alarm.is_some_and(|alarm| alarm <= wake_at) {
                // An alarm rings first; the run parks again then if it still waits.
                return None;
            }
            entry.alarm = Some(wake_at);
        }
        let mut alarms = self.alarms.lock().unwrap_or_else(|p| p.into_inner());
        alarms.push(Reverse((wake_at, run)));
        self.alarm_set.notify_one();
        None
    }

    /// An alarm set at `at` for `run` rang: returns the run if it is parked and due, or if
    /// this was its alarm (it parked again since, for later, counting on this one to wake it:
    /// it parks once more, with an alarm for its own time).
    fn ring(&self, run: u64, at: Instant) -> Option<Parked> {
        let mut running = self.lock();
        let entry = running.get_mut(&run)?;
        let its_alarm = entry.alarm == Some(at);
        if its_alarm {
            entry.alarm = None;
        }
        let due = entry.parked.as_ref()?.wake_at <= crate::clock::now();
        if its_alarm || due {
            entry.parked.take()
        } else {
            None
        }
    }

    /// Stops the alarm thread.
    pub(super) fn close(&self) {
        let _alarms = self.alarms.lock().unwrap_or_else(|p| p.into_inner());
        self.closed.store(true, Ordering::Release);
        self.alarm_set.notify_all();
    }

    fn set_fresh(&self, run: u64, fresh: (EntryFlags, Vec<u8>)) {
        if let Some(entry) = self.lock().get_mut(&run) {
            entry.fresh = Some(fresh);
        }
    }

    /// Forgets `run`; returns what its report carries back.
    fn remove(&self, run: u64) -> Option<(EntryFlags, Vec<u8>)> {
        self.lock().remove(&run).and_then(|entry| entry.fresh)
    }
}

/// Rings the alarms of parked runs as they fall due, for as long as the worker lives.
pub(super) fn ring_alarms(worker: &Arc<Worker>) {
    let runs = &worker.runs;
    let mut alarms = runs.alarms.lock().unwrap_or_else(|p| p.into_inner());
    while !runs.closed.load(Ordering::Acquire) {
        let now = crate::clock::now();
        match alarms.peek() {
            Some(&Reverse((at, run))) if at <= now => {
                alarms.pop();
                drop(alarms);
                if let Some(parked) = runs.ring(run, at) {
                    resume(worker, run, parked);
                }
                alarms = runs.alarms.lock().unwrap_or_else(|p| p.into_inner());
            }
            Some(&Reverse((at, _))) => {
                let wait = at
                    .saturating_duration_since(now)
                    .max(Duration::from_micros(100));
                alarms = runs
                    .alarm_set
                    .wait_timeout(alarms, wait)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            None => {
                alarms = runs
                    .alarm_set
                    .wait(alarms)
                    .unwrap_or_else(|p| p.into_inner());
            }
        }
    }
}

/// Goes on with a parked run on a pool thread.
pub(super) fn resume(worker: &Arc<Worker>, run: u64, parked: Parked) {
    let next = worker.clone();
    let task = Box::new(move || carry(&next, run, isolate::resume(parked)));
    if worker.pool.spawn(task).is_err() {
        // The run went with the task; it is failed in its place.
        fail_without_thread(run, &worker.outbox, &worker.runs);
    }
}

/// Follows a run's steps on this thread until it ends (its report is sent) or parks.
fn carry(worker: &Arc<Worker>, run: u64, mut step: Step) {
    loop {
        match step {
            Step::Done(report) => {
                let fresh = worker.runs.remove(run);
                let report = Box::new(RunReport {
                    outcome: report.outcome.into(),
                    logs: report.logs,
                    memory_bytes: report.memory_bytes,
                    started_at: report.started_at,
                    finished_at: report.finished_at,
                });
                let (compiled, blob) = match fresh {
                    Some((flags, bytecode)) => (Some(flags), bytecode),
                    None => (None, Vec::new()),
                };
                let done = FromWorker::Done {
                    run,
                    report,
                    compiled,
                };
                worker.outbox.send(&done, &blob);
                return;
            }
            Step::Parked(parked) => match worker.runs.park(run, parked) {
                Some(parked) => step = isolate::resume(parked),
                None => return,
            },
        }
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
            parked: None,
            alarm: None,
            fresh: None,
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
    fail_without_thread(prepared.order.run, outbox, runs);
}

/// Forgets `run` and reports it failed for want of a thread.
fn fail_without_thread(run: u64, outbox: &Outbox, runs: &Runs) {
    runs.remove(run);
    let failure = error("INTERNAL", "the sandbox cannot start a thread");
    send_failure(run, failure, outbox);
}

/// Starts a prepared order on this thread and follows it until it ends or parks.
pub(super) fn execute(prepared: Prepared, worker: &Arc<Worker>) {
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
                worker.runs.remove(run);
                send_failure(run, failure, &worker.outbox);
                return;
            }
        },
    };
    let link: Arc<dyn HostLink> = worker.outbox.clone();
    let step = isolate::run(&order, &compiled, &worker.settings, control, inbox, link);
    if fresh {
        let flags = EntryFlags {
            has_main: compiled.has_main,
            has_handler: compiled.has_handler,
        };
        worker.runs.set_fresh(run, (flags, compiled.bytecode));
    }
    carry(worker, run, step);
}
