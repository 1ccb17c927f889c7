//! One execution in a fresh QuickJS runtime and context, on the calling thread: install the
//! sandbox, load the bytecode, call the entry point, and drive promises, timers and host calls
//! until the result settles or a limit ends it.

mod deferred;
mod meter;
mod sandbox;
mod shared;

pub(crate) use shared::{Completion, Control, HostLink, Shared, timeout_error};

use crate::compile::{Compiled, HANDLER_ALIAS, MAIN_ALIAS};
use crate::errors::{error, from_engine_error, from_thrown};
use crate::job::Report;
use crate::modules::{self, coded_error};
use crate::protocol::{RunOrder, WorkerSettings};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use domain::execution::{ExecutionError, Outcome};
use rquickjs::promise::PromiseState;
use rquickjs::{Context, Ctx, Function, Module, Persistent, Promise, Runtime, Value};
use sandbox::{new_context, new_runtime};
use std::rc::Rc;
use std::sync::Arc;

/// The function the script exports as its entry point, by the rules of SPEC §5.
fn entry_point<'js>(
    ctx: &Ctx<'js>,
    module: &Module<'js, rquickjs::module::Evaluated>,
    compiled_main: bool,
    compiled_handler: bool,
) -> rquickjs::Result<Function<'js>> {
    let namespace = module.namespace()?;
    let mut candidates = vec!["default"];
    if compiled_main {
        candidates.push(MAIN_ALIAS);
    }
    candidates.push("main");
    if compiled_handler {
        candidates.push(HANDLER_ALIAS);
    }
    for name in candidates {
        if let Ok(function) = namespace.get::<_, Function>(name) {
            return Ok(function);
        }
    }
    Err(coded_error(
        ctx,
        "NO_ENTRY_POINT",
        "the script has no entry point: export a default function or define main",
    ))
}

/// What the event loop ends with.
enum Ended {
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
const DEMOTE_AFTER: std::time::Duration = std::time::Duration::from_millis(20);

/// Runs `order` to the end on this thread; its host calls go through `link`.
pub(crate) fn run(
    order: &RunOrder,
    compiled: &Compiled,
    settings: &WorkerSettings,
    control: Arc<Control>,
    inbox: Receiver<Completion>,
    link: Arc<dyn HostLink>,
) -> Report {
    let started_at = crate::clock::utc();
    let (outcome, logs, memory_bytes) =
        match new_runtime(order.memory_bytes, settings.max_stack_bytes).and_then(
            |(runtime, meter)| {
                new_context(&runtime, settings.allow_eval).map(|context| (runtime, meter, context))
            },
        ) {
            Err(_) => (
                Outcome::Failed(error(
                    "MEMORY_LIMIT",
                    "the memory limit is too small to start the script",
                )),
                Vec::new(),
                0,
            ),
            Ok((runtime, meter, context)) => {
                let watcher = control.clone();
                // A run that has computed for DEMOTE_AFTER gives way to short runs
                // (`pool.rs`). Its CPU time cannot pass its wall time, so the thread's CPU
                // clock is only read once DEMOTE_AFTER has passed on the wall clock.
                let (started, cpu_at_start) = (crate::clock::now(), crate::clock::thread_cpu());
                let mut demoted = false;
                runtime.set_interrupt_handler(Some(Box::new(move || {
                    if !demoted
                        && crate::clock::now().duration_since(started) >= DEMOTE_AFTER
                        && crate::clock::thread_cpu().saturating_sub(cpu_at_start) >= DEMOTE_AFTER
                    {
                        demoted = true;
                        crate::pool::demote_current_thread();
                    }
                    watcher.should_stop()
                })));
                let shared = Rc::new(Shared::new(control.clone(), order, settings, link));
                let ended = drive(&runtime, &context, &shared, order, compiled, &inbox);
                let time_limit = order.time_limit_ms;
                let outcome = match ended {
                    Ended::Stopped(outcome) => outcome,
                    Ended::Failed(failure) => control
                        .stop_outcome(time_limit)
                        .unwrap_or_else(|| Outcome::Failed(meter.explain(failure))),
                    Ended::Value(json) => control
                        .stop_outcome(time_limit)
                        .unwrap_or_else(|| output_outcome(json, order.max_output_bytes)),
                };
                let memory = meter.peak() as u64;
                context.with(|_| shared.clear());
                let logs = shared.take_logs();
                (outcome, logs, memory)
            }
        };
    Report {
        outcome,
        logs,
        memory_bytes,
        started_at,
        finished_at: crate::clock::utc(),
        // A bare isolate has no host to call: no SDK call leaves it.
        sdk_calls: Default::default(),
    }
}

/// Loads the module, chains the entry call onto its evaluation, and returns the promise.
fn start<'js>(
    ctx: &Ctx<'js>,
    shared: &Rc<Shared>,
    order: &RunOrder,
    compiled: &Compiled,
) -> rquickjs::Result<Promise<'js>> {
    modules::install_all(ctx, shared, &order.context)?;
    // SAFETY: `compiled.bytecode` was written by `compile` in this process, by this engine
    // build, from the script's source; it is never read from outside the process.
    #[allow(unsafe_code)]
    let declared = unsafe { Module::load(ctx.clone(), &compiled.bytecode)? };
    let (module, evaluated) = declared.eval()?;
    let argument: Value = ctx.json_parse(order.argument.to_string())?;
    let (has_main, has_handler) = (compiled.has_main, compiled.has_handler);
    let call_entry = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>| -> rquickjs::Result<Value<'js>> {
            let entry = entry_point(&ctx, &module, has_main, has_handler)?;
            entry.call((argument.clone(),))
        },
    )?;
    let then: Function = evaluated.get("then")?;
    then.call((rquickjs::function::This(evaluated.clone()), call_entry))
}

fn drive(
    runtime: &Runtime,
    context: &Context,
    shared: &Rc<Shared>,
    order: &RunOrder,
    compiled: &Compiled,
    inbox: &Receiver<Completion>,
) -> Ended {
    let time_limit = order.time_limit_ms;
    let control = shared.control().clone();
    let started = context.with(|ctx| match start(&ctx, shared, order, compiled) {
        Ok(promise) => Ok(Persistent::save(&ctx, promise)),
        Err(e) => Err(from_engine_error(&ctx, e)),
    });
    let result = match started {
        Ok(result) => result,
        Err(failure) => return Ended::Failed(failure),
    };
    loop {
        loop {
            match runtime.execute_pending_job() {
                Ok(true) => {}
                Ok(false) => break,
                Err(exception) => {
                    let failure = exception.0.with(|ctx| from_thrown(&ctx, ctx.catch()));
                    return Ended::Failed(failure);
                }
            }
        }
        if let Some(outcome) = control.stop_outcome(time_limit) {
            return Ended::Stopped(outcome);
        }
        let settled = context.with(|ctx| {
            let promise = result
                .clone()
                .restore(&ctx)
                .map_err(|e| from_engine_error(&ctx, e))?;
            match promise.state() {
                PromiseState::Pending => Ok(None),
                PromiseState::Resolved => {
                    let value: Value = promise
                        .result()
                        .unwrap_or(Ok(Value::new_undefined(ctx.clone())))
                        .map_err(|e| from_engine_error(&ctx, e))?;
                    let json = ctx
                        .json_stringify(value)
                        .map_err(|e| from_engine_error(&ctx, e))?;
                    let json = json
                        .map(|s| s.to_string())
                        .transpose()
                        .map_err(|e| from_engine_error(&ctx, e))?;
                    Ok(Some(Ended::Value(json.unwrap_or_else(|| "null".into()))))
                }
                PromiseState::Rejected => {
                    let failure = match promise.result::<Value>() {
                        Some(Err(rquickjs::Error::Exception)) => from_thrown(&ctx, ctx.catch()),
                        _ => error("RUNTIME_ERROR", "the script failed"),
                    };
                    Ok(Some(Ended::Failed(failure)))
                }
            }
        });
        match settled {
            Ok(Some(ended)) => return ended,
            Ok(None) => {}
            Err(failure) => return Ended::Failed(failure),
        }
        match context.with(|ctx| shared.run_due_timer(&ctx)) {
            Ok(true) => continue,
            Ok(false) => {}
            Err(failure) => return Ended::Failed(failure),
        }
        if !shared.has_work() {
            return Ended::Failed(error(
                "NEVER_SETTLED",
                "the script's promise never settles: nothing it waits for (timer or SDK call) is pending",
            ));
        }
        let wake_at = shared
            .next_due()
            .map_or(control.deadline, |due| due.min(control.deadline));
        match inbox.recv_timeout(wake_at.saturating_duration_since(crate::clock::now())) {
            Ok(Completion::Host {
                id,
                result: host_result,
            }) => {
                if let Err(failure) = context.with(|ctx| shared.settle(&ctx, id, host_result)) {
                    return Ended::Failed(failure);
                }
            }
            Ok(Completion::Wake)
            | Err(RecvTimeoutError::Timeout)
            | Err(RecvTimeoutError::Disconnected) => {}
        }
    }
}

/// For benchmarks: a fresh runtime and full context evaluating a trivial script, as the
/// baseline the sandbox's cost is compared with.
pub fn bare_isolate_run(source: &str) -> bool {
    let Ok(runtime) = Runtime::new() else {
        return false;
    };
    let Ok(context) = Context::full(&runtime) else {
        return false;
    };
    context.with(|ctx| ctx.eval::<Value, _>(source).is_ok())
}

/// The names on `globalThis` of a context with the sandbox's intrinsics but none of its
/// modules: what the ECMAScript engine itself provides.
pub fn standard_globals() -> Vec<String> {
    let Ok(runtime) = Runtime::new() else {
        return Vec::new();
    };
    let Ok(context) = new_context(&runtime, false) else {
        return Vec::new();
    };
    context.with(|ctx| {
        let keys = ctx
            .globals()
            .own_keys::<String>(rquickjs::object::Filter::new().string());
        keys.filter_map(Result::ok).collect()
    })
}
