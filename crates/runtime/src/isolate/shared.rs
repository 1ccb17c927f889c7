//! The state one execution shares between its event loop, its installed SDK modules and the
//! threads outside it: the [`Control`] that cancels or wakes it, and the [`Shared`] log, timer
//! and pending-host-call bookkeeping.

use crate::errors::{error, from_engine_error};
use crate::host::HostError;
use crate::modules::{coded_error, timers::MAX_TIMERS};
use crate::protocol::{RunOrder, WorkerSettings};
use crossbeam_channel::Sender;
use domain::execution::{ExecutionError, LogEntry, LogLevel, Outcome};
use rquickjs::{Ctx, Function, Persistent, Promise, Value};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the outside world can do to a running execution: cancel it, or wake it when a host
/// call completes.
pub(crate) struct Control {
    pub(crate) deadline: Instant,
    cancelled: AtomicBool,
    faulted: AtomicBool,
    fault: Mutex<Option<ExecutionError>>,
    wake: Sender<Completion>,
}

pub(crate) enum Completion {
    Host {
        id: u64,
        result: Result<serde_json::Value, HostError>,
    },
    Wake,
}

impl Control {
    pub(crate) fn new(deadline: Instant, wake: Sender<Completion>) -> Self {
        Self {
            deadline,
            cancelled: AtomicBool::new(false),
            faulted: AtomicBool::new(false),
            fault: Mutex::new(None),
            wake,
        }
    }

    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        let _ = self.wake.send(Completion::Wake);
    }

    /// Stops the execution with `error` at the next opportunity (the first fault wins).
    pub(crate) fn fail(&self, error: ExecutionError) {
        let mut fault = self.fault.lock().unwrap_or_else(|p| p.into_inner());
        if fault.is_none() {
            *fault = Some(error);
        }
        self.faulted.store(true, Ordering::Release);
    }

    pub(super) fn should_stop(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
            || self.faulted.load(Ordering::Acquire)
            || crate::clock::now() >= self.deadline
    }

    /// Why the execution must stop now, if it must.
    pub(super) fn stop_outcome(&self, time_limit_ms: u64) -> Option<Outcome> {
        if self.cancelled.load(Ordering::Acquire) {
            return Some(Outcome::Cancelled);
        }
        if self.faulted.load(Ordering::Acquire) {
            let fault = self.fault.lock().unwrap_or_else(|p| p.into_inner()).clone();
            return Some(Outcome::Failed(
                fault.unwrap_or_else(|| error("INTERNAL", "stopped")),
            ));
        }
        if crate::clock::now() >= self.deadline {
            return Some(Outcome::TimedOut(timeout_error(time_limit_ms)));
        }
        None
    }
}

pub(crate) fn timeout_error(time_limit_ms: u64) -> ExecutionError {
    error(
        "TIMEOUT",
        format!("the script ran longer than its time limit of {time_limit_ms} ms"),
    )
}

struct Timer {
    callback: Persistent<Function<'static>>,
    args: Vec<Persistent<Value<'static>>>,
    period: Option<Duration>,
}

/// Where an execution's host calls go: to the supervisor, which checks, charges and runs them
/// and sends each result back to the execution's inbox as a [`Completion::Host`].
pub(crate) trait HostLink: Send + Sync {
    fn call(&self, run: u64, call: u64, module: String, method: String, args: serde_json::Value);

    /// Hands on a line run `run` just logged, for those who follow it live.
    fn log(&self, run: u64, entry: LogEntry);
}

/// The resolve and reject functions of a promise a host call will settle.
type Settlers = (Persistent<Function<'static>>, Persistent<Function<'static>>);

/// The state of one execution that the installed modules share with its event loop.
pub(crate) struct Shared {
    control: Arc<Control>,
    log_attempts: Cell<usize>,
    max_log_entries: usize,
    max_log_bytes: usize,
    logs: RefCell<Vec<LogEntry>>,
    log_bytes: Cell<usize>,
    timers: RefCell<HashMap<u32, Timer>>,
    due: RefCell<BTreeMap<(Instant, u32), ()>>,
    next_timer: Cell<u32>,
    pending: RefCell<HashMap<u64, Settlers>>,
    next_call: Cell<u64>,
    run: u64,
    /// Whether each accepted line also goes to `link` at once.
    live_logs: bool,
    link: Arc<dyn HostLink>,
    /// The host's services: names with their methods.
    pub(crate) services: Vec<(String, Vec<String>)>,
}

impl Shared {
    /// The state of the run of `order` under `control`, whose host calls go through `link`.
    pub(super) fn new(
        control: Arc<Control>,
        order: &RunOrder,
        settings: &WorkerSettings,
        link: Arc<dyn HostLink>,
    ) -> Self {
        Self {
            control,
            log_attempts: Cell::new(0),
            max_log_entries: settings.max_log_entries,
            max_log_bytes: settings.max_log_bytes,
            logs: RefCell::default(),
            log_bytes: Cell::new(0),
            timers: RefCell::default(),
            due: RefCell::default(),
            next_timer: Cell::new(0),
            pending: RefCell::default(),
            next_call: Cell::new(0),
            run: order.run,
            live_logs: order.live_logs,
            link,
            services: order.services.clone(),
        }
    }

    /// The log lines recorded so far, leaving none behind.
    pub(super) fn take_logs(&self) -> Vec<LogEntry> {
        self.logs.take()
    }

    pub(super) fn next_due(&self) -> Option<Instant> {
        self.due.borrow().keys().next().map(|(at, _)| *at)
    }

    pub(super) fn has_work(&self) -> bool {
        !self.timers.borrow().is_empty() || !self.pending.borrow().is_empty()
    }

    /// Runs the first timer that is due, if any; returns whether one ran.
    pub(super) fn run_due_timer(&self, ctx: &Ctx<'_>) -> Result<bool, ExecutionError> {
        let now = crate::clock::now();
        loop {
            let Some(((at, id), ())) = self.due.borrow_mut().pop_first() else {
                return Ok(false);
            };
            if at > now {
                self.due.borrow_mut().insert((at, id), ());
                return Ok(false);
            }
            let (callback, args, period) = {
                let timers = self.timers.borrow();
                let Some(timer) = timers.get(&id) else {
                    continue;
                };
                (timer.callback.clone(), timer.args.clone(), timer.period)
            };
            match period {
                Some(period) => {
                    self.due.borrow_mut().insert((now + period, id), ());
                }
                None => {
                    self.timers.borrow_mut().remove(&id);
                }
            }
            let callback = callback
                .restore(ctx)
                .map_err(|e| from_engine_error(ctx, e))?;
            let mut arguments = rquickjs::function::Args::new(ctx.clone(), args.len());
            for arg in args {
                arguments
                    .push_arg(arg.restore(ctx).map_err(|e| from_engine_error(ctx, e))?)
                    .map_err(|e| from_engine_error(ctx, e))?;
            }
            callback
                .call_arg::<Value>(arguments)
                .map_err(|e| from_engine_error(ctx, e))?;
            return Ok(true);
        }
    }

    pub(super) fn settle(
        &self,
        ctx: &Ctx<'_>,
        id: u64,
        result: Result<serde_json::Value, HostError>,
    ) -> Result<(), ExecutionError> {
        let Some((resolve, reject)) = self.pending.borrow_mut().remove(&id) else {
            return Ok(());
        };
        let engine = |e| from_engine_error(ctx, e);
        match result {
            Ok(value) => {
                let value: Value = ctx.json_parse(value.to_string()).map_err(engine)?;
                resolve
                    .restore(ctx)
                    .map_err(engine)?
                    .call::<_, ()>((value,))
                    .map_err(engine)
            }
            Err(failure) => {
                let thrown = match coded_error(ctx, failure.code.as_str(), &failure.message) {
                    rquickjs::Error::Exception => ctx.catch(),
                    other => return Err(engine(other)),
                };
                reject
                    .restore(ctx)
                    .map_err(engine)?
                    .call::<_, ()>((thrown,))
                    .map_err(engine)
            }
        }
    }

    /// Drops every value kept across calls; must run before the runtime is dropped.
    pub(super) fn clear(&self) {
        self.timers.borrow_mut().clear();
        self.due.borrow_mut().clear();
        self.pending.borrow_mut().clear();
    }
}

impl crate::modules::ModuleHost for Shared {
    /// Records a log line. Every call counts toward the execution's log volume (entries and
    /// bytes), past which the execution is stopped. (The supervisor applies the script's
    /// per-minute log budget to the lines it receives.)
    fn log(&self, level: LogLevel, message: String, metadata: serde_json::Value) {
        let size = message.len()
            + if metadata.is_null() {
                0
            } else {
                metadata.to_string().len()
            };
        let attempts = self.log_attempts.get() + 1;
        self.log_attempts.set(attempts);
        self.log_bytes.set(self.log_bytes.get() + size);
        if attempts > self.max_log_entries || self.log_bytes.get() > self.max_log_bytes {
            let message = format!(
                "the script logged more than {} entries or {} bytes",
                self.max_log_entries, self.max_log_bytes
            );
            self.control.fail(error("LOG_LIMIT", message));
            return;
        }
        let entry = LogEntry {
            level,
            message,
            metadata,
            ts: crate::clock::utc(),
        };
        if self.live_logs {
            self.link.log(self.run, entry.clone());
        }
        self.logs.borrow_mut().push(entry);
    }

    fn add_timer<'js>(
        &self,
        ctx: &Ctx<'js>,
        callback: Function<'js>,
        args: Vec<Value<'js>>,
        period: Duration,
        repeat: bool,
    ) -> Option<u32> {
        if self.timers.borrow().len() >= MAX_TIMERS {
            return None;
        }
        let id = self.next_timer.get().wrapping_add(1).max(1);
        self.next_timer.set(id);
        let timer = Timer {
            callback: Persistent::save(ctx, callback),
            args: args.into_iter().map(|a| Persistent::save(ctx, a)).collect(),
            period: repeat.then_some(period.max(Duration::from_millis(1))),
        };
        self.timers.borrow_mut().insert(id, timer);
        self.due
            .borrow_mut()
            .insert((crate::clock::now() + period, id), ());
        Some(id)
    }

    fn clear_timer(&self, id: u32) {
        self.timers.borrow_mut().remove(&id);
    }

    /// Starts a host call: returns a promise that the event loop settles with its result.
    fn call_host<'js>(
        &self,
        ctx: &Ctx<'js>,
        module: String,
        method: String,
        args: serde_json::Value,
    ) -> rquickjs::Result<Promise<'js>> {
        let (promise, resolve, reject) = ctx.promise()?;
        let id = self.next_call.get() + 1;
        self.next_call.set(id);
        self.pending.borrow_mut().insert(
            id,
            (
                Persistent::save(ctx, resolve),
                Persistent::save(ctx, reject),
            ),
        );
        self.link.call(self.run, id, module, method, args);
        Ok(promise)
    }

    /// Bytes of log the execution may still write before it is stopped with `LOG_LIMIT`.
    fn log_room(&self) -> usize {
        self.max_log_bytes.saturating_sub(self.log_bytes.get())
    }

    fn services(&self) -> &[(String, Vec<String>)] {
        &self.services
    }
}
