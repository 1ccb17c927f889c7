//! One execution in a fresh QuickJS runtime and context: install the sandbox, load the
//! bytecode, call the entry point, and drive promises, timers and host calls until the result
//! settles or a limit ends it. While it has nothing to do but wait it is handed back as
//! [`Parked`], holding no thread, and [`resume`]d on whichever thread takes it over.

mod deferred;
mod execution;
mod meter;
mod sandbox;
mod shared;

pub(crate) use shared::{Completion, Control, HostLink, Shared, timeout_error};

use crate::compile::{Compiled, HANDLER_ALIAS, MAIN_ALIAS};
use crate::errors::{error, from_engine_error};
use crate::job::Report;
use crate::modules::{self, coded_error};
use crate::protocol::{RunOrder, WorkerSettings};
use crossbeam_channel::Receiver;
use domain::execution::Outcome;
use execution::{Ended, Execution, Pace};
use rquickjs::{Context, Ctx, Function, Module, Persistent, Promise, Runtime, Value};
use sandbox::{new_context, new_runtime};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

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

/// How far an execution has come: ended with its report, or waiting.
pub(crate) enum Step {
    Done(Report),
    /// Waiting for a host call's result, a timer or its deadline, holding no thread.
    Parked(Parked),
}

/// An execution that waits, with no thread: its runtime, context and state, moved as one to
/// the thread that resumes it ([`resume`]).
pub(crate) struct Parked {
    execution: Box<Execution>,
    /// When it must be resumed even if nothing arrives: its next timer or its deadline.
    pub(crate) wake_at: Instant,
}

// SAFETY: a parked execution is the only owner of its QuickJS runtime and of everything that
// points into it: its `Rc`s (the shared state, the meter, the pace) are cloned only into that
// runtime's closures and allocator, and the whole moves together, to be used by one thread at
// a time. QuickJS keeps no per-thread state but the native stack's top, which `resume` sets
// again on the thread that takes the execution over.
#[allow(unsafe_code)]
unsafe impl Send for Parked {}

impl Parked {
    /// Whether something already waits in its inbox (it must not be left parked then).
    pub(crate) fn has_news(&self) -> bool {
        !self.execution.inbox.is_empty()
    }
}

/// Starts `order` on this thread, and runs it until it ends or waits; its host calls go
/// through `link`.
pub(crate) fn run(
    order: &RunOrder,
    compiled: &Compiled,
    settings: &WorkerSettings,
    control: Arc<Control>,
    inbox: Receiver<Completion>,
    link: Arc<dyn HostLink>,
) -> Step {
    let started_at = crate::clock::utc();
    let built =
        new_runtime(order.memory_bytes, settings.max_stack_bytes).and_then(|(runtime, meter)| {
            new_context(&runtime, settings.allow_eval).map(|context| (runtime, meter, context))
        });
    let Ok((runtime, meter, context)) = built else {
        let failure = error(
            "MEMORY_LIMIT",
            "the memory limit is too small to start the script",
        );
        return Step::Done(Report {
            outcome: Outcome::Failed(failure),
            logs: Vec::new(),
            memory_bytes: 0,
            started_at,
            finished_at: crate::clock::utc(),
            // A bare isolate has no host to call: no SDK call leaves it.
            sdk_calls: Default::default(),
        });
    };
    let pace = Rc::new(Pace::new());
    let (watcher, pacer) = (control.clone(), pace.clone());
    runtime.set_interrupt_handler(Some(Box::new(move || {
        pacer.check();
        watcher.should_stop()
    })));
    let shared = Rc::new(Shared::new(control.clone(), order, settings, link));
    let mut execution = Execution {
        result: None,
        shared,
        context,
        runtime,
        meter,
        pace,
        control,
        inbox,
        started_at,
        time_limit_ms: order.time_limit_ms,
        max_output_bytes: order.max_output_bytes,
    };
    let started =
        execution.context.with(
            |ctx| match start(&ctx, &execution.shared, order, compiled) {
                Ok(promise) => Ok(Persistent::save(&ctx, promise)),
                Err(e) => Err(from_engine_error(&ctx, e)),
            },
        );
    match started {
        Ok(result) => {
            execution.result = Some(result);
            Box::new(execution).go()
        }
        Err(failure) => Step::Done(execution.finish(Ended::Failed(failure))),
    }
}

/// Takes a parked execution over on this thread and runs it until it ends or waits again.
pub(crate) fn resume(parked: Parked) -> Step {
    let execution = parked.execution;
    execution.context.with(|ctx| {
        // SAFETY: the runtime is this execution's own, alive, and used by this thread only;
        // its stack checks must measure this thread's stack from here on.
        #[allow(unsafe_code)]
        unsafe {
            rquickjs::qjs::JS_UpdateStackTop(rquickjs::qjs::JS_GetRuntime(ctx.as_raw().as_ptr()));
        }
    });
    execution.pace.enter_thread();
    execution.go()
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
