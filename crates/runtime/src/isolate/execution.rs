//! One execution's state from its start to its end ([`Execution`]), and its event loop:
//! promise jobs, due timers and arrived host results, until the result settles, a limit ends
//! it, or it has nothing to do but wait (it is parked then, `mod.rs`).

use super::meter::Meter;
use super::{Completion, Control, Parked, Shared, Step};
use crate::errors::{error, from_engine_error, from_thrown};
use crate::job::Report;
use crossbeam_channel::Receiver;
use domain::execution::{ExecutionError, Outcome};
use rquickjs::promise::PromiseState;
use rquickjs::{Context, Ctx, Persistent, Promise, Runtime, Value};
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the event loop ends with.
pub(super) enum Ended {
    Value(String),
    Failed(ExecutionError),
    Stopped(Outcome),
}

fn output_outcome(json: String, max_output: u64) -> Outcome {
    if json.len() as u64 > max_output {
        return Outcome::Failed(error(
            "OUTPUT_LIMIT",
            format!(
                "the output is {} bytes, more than the limit of {max_output} bytes",
                json.len()
            ),
        ));
    }
    match serde_json::from_str(&json) {
        Ok(value) => Outcome::Completed(value),
        Err(_) => Outcome::Failed(error(
            "OUTPUT_NOT_JSON",
            "the output could not be represented as JSON",
        )),
    }
}

/// How much CPU time a run may use at the worker's niceness before its thread is demoted
/// (time spent waiting — for a host call, a timer — does not count).
const DEMOTE_AFTER: Duration = Duration::from_millis(20);

/// The CPU a run has used, across the threads it ran on, and whether it was demoted.
pub(super) struct Pace {
    started: Instant,
    /// The CPU clock of the thread it runs on, as it took the thread.
    cpu_base: Cell<Duration>,
    /// Its CPU on the threads it ran on before.
    spent: Cell<Duration>,
    demoted: Cell<bool>,
}

impl Pace {
    pub(super) fn new() -> Self {
        Self {
            started: crate::clock::now(),
            cpu_base: Cell::new(crate::clock::thread_cpu()),
            spent: Cell::new(Duration::ZERO),
            demoted: Cell::new(false),
        }
    }

    fn cpu(&self) -> Duration {
        self.spent.get() + crate::clock::thread_cpu().saturating_sub(self.cpu_base.get())
    }

    /// A run that has computed for DEMOTE_AFTER gives way to short runs (`pool.rs`). Its CPU
    /// time cannot pass its wall time, so the CPU clock is only read once DEMOTE_AFTER has
    /// passed on the wall clock.
    pub(super) fn check(&self) {
        if !self.demoted.get()
            && crate::clock::now().duration_since(self.started) >= DEMOTE_AFTER
            && self.cpu() >= DEMOTE_AFTER
        {
            self.demoted.set(true);
            crate::pool::demote_current_thread();
        }
    }

    /// Before the run parks: what it used on this thread counts on the next.
    fn leave_thread(&self) {
        self.spent.set(self.cpu());
    }

    /// As the run resumes on the calling thread (demoted again if it was).
    pub(super) fn enter_thread(&self) {
        self.cpu_base.set(crate::clock::thread_cpu());
        if self.demoted.get() {
            crate::pool::demote_current_thread();
        }
    }
}

/// Everything one execution holds between its start and its end. Fields drop in order: the
/// values kept in the runtime before the context and the runtime themselves.
pub(super) struct Execution {
    pub(super) result: Option<Persistent<Promise<'static>>>,
    pub(super) shared: Rc<Shared>,
    pub(super) context: Context,
    pub(super) runtime: Runtime,
    pub(super) meter: Rc<Meter>,
    pub(super) pace: Rc<Pace>,
    pub(super) control: Arc<Control>,
    pub(super) inbox: Receiver<Completion>,
    pub(super) started_at: chrono::DateTime<chrono::Utc>,
    pub(super) time_limit_ms: u64,
    pub(super) max_output_bytes: u64,
}

impl Drop for Execution {
    fn drop(&mut self) {
        self.result = None;
        self.context.with(|_| self.shared.clear());
    }
}

/// What the event loop comes to: an end, or a wait.
enum Progress {
    Ended(Ended),
    Waiting(Instant),
}

impl Execution {
    pub(super) fn go(mut self: Box<Self>) -> Step {
        match self.drive() {
            Progress::Ended(ended) => Step::Done(self.finish(ended)),
            Progress::Waiting(wake_at) => {
                self.pace.leave_thread();
                Step::Parked(Parked {
                    execution: self,
                    wake_at,
                })
            }
        }
    }

    /// The report of the ended run (what it kept in the runtime goes with it, on drop).
    pub(super) fn finish(&mut self, ended: Ended) -> Report {
        let time_limit = self.time_limit_ms;
        let outcome = match ended {
            Ended::Stopped(outcome) => outcome,
            Ended::Failed(failure) => self
                .control
                .stop_outcome(time_limit)
                .unwrap_or_else(|| Outcome::Failed(self.meter.explain(failure))),
            Ended::Value(json) => self
                .control
                .stop_outcome(time_limit)
                .unwrap_or_else(|| output_outcome(json, self.max_output_bytes)),
        };
        let memory_bytes = self.meter.peak() as u64;
        Report {
            outcome,
            logs: self.shared.take_logs(),
            memory_bytes,
            started_at: self.started_at,
            finished_at: crate::clock::utc(),
            // A bare isolate has no host to call: no SDK call leaves it.
            sdk_calls: Default::default(),
        }
    }

    /// Runs jobs, timers and arrived host results until the execution ends or has nothing to
    /// do until something arrives.
    fn drive(&self) -> Progress {
        let (control, shared) = (&self.control, &self.shared);
        let Some(result) = self.result.as_ref() else {
            return Progress::Ended(Ended::Failed(error("INTERNAL", "the run has no result")));
        };
        loop {
            loop {
                match self.runtime.execute_pending_job() {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(exception) => {
                        let failure = exception.0.with(|ctx| from_thrown(&ctx, ctx.catch()));
                        return Progress::Ended(Ended::Failed(failure));
                    }
                }
            }
            if let Some(outcome) = control.stop_outcome(self.time_limit_ms) {
                return Progress::Ended(Ended::Stopped(outcome));
            }
            match self.context.with(|ctx| settled(&ctx, result)) {
                Ok(Some(ended)) => return Progress::Ended(ended),
                Ok(None) => {}
                Err(failure) => return Progress::Ended(Ended::Failed(failure)),
            }
            match self.context.with(|ctx| shared.run_due_timer(&ctx)) {
                Ok(true) => continue,
                Ok(false) => {}
                Err(failure) => return Progress::Ended(Ended::Failed(failure)),
            }
            if !shared.has_work() {
                return Progress::Ended(Ended::Failed(error(
                    "NEVER_SETTLED",
                    "the script's promise never settles: nothing it waits for (timer or SDK call) is pending",
                )));
            }
            match self.inbox.try_recv() {
                Ok(Completion::Host {
                    id,
                    result: host_result,
                }) => {
                    if let Err(failure) = self
                        .context
                        .with(|ctx| shared.settle(&ctx, id, host_result))
                    {
                        return Progress::Ended(Ended::Failed(failure));
                    }
                }
                Ok(Completion::Wake) => {}
                Err(_) => {
                    let wake_at = shared
                        .next_due()
                        .map_or(control.deadline, |due| due.min(control.deadline));
                    if wake_at > crate::clock::now() {
                        return Progress::Waiting(wake_at);
                    }
                }
            }
        }
    }
}

/// The run's result, once its promise has settled.
fn settled(
    ctx: &Ctx<'_>,
    result: &Persistent<Promise<'static>>,
) -> Result<Option<Ended>, ExecutionError> {
    let promise = result
        .clone()
        .restore(ctx)
        .map_err(|e| from_engine_error(ctx, e))?;
    match promise.state() {
        PromiseState::Pending => Ok(None),
        PromiseState::Resolved => {
            let value: Value = promise
                .result()
                .unwrap_or(Ok(Value::new_undefined(ctx.clone())))
                .map_err(|e| from_engine_error(ctx, e))?;
            let json = ctx
                .json_stringify(value)
                .map_err(|e| from_engine_error(ctx, e))?;
            let json = json
                .map(|s| s.to_string())
                .transpose()
                .map_err(|e| from_engine_error(ctx, e))?;
            Ok(Some(Ended::Value(json.unwrap_or_else(|| "null".into()))))
        }
        PromiseState::Rejected => {
            let failure = match promise.result::<Value>() {
                Some(Err(rquickjs::Error::Exception)) => from_thrown(ctx, ctx.catch()),
                _ => error("RUNTIME_ERROR", "the script failed"),
            };
            Ok(Some(Ended::Failed(failure)))
        }
    }
}
