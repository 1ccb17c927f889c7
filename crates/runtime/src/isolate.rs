//! One execution in a fresh QuickJS runtime and context, on the calling thread: install the
//! sandbox, load the bytecode, call the entry point, and drive promises, timers and host calls
//! until the result settles or a limit ends it.

use crate::budget::{BudgetConfig, Budgets};
use crate::compile::{Compiled, HANDLER_ALIAS, MAIN_ALIAS};
use crate::config::EngineConfig;
use crate::errors::{error, from_engine_error, from_thrown};
use crate::host::{CallScope, HostError, HostPort};
use crate::job::{Job, Report};
use crate::modules::{self, coded_error, timers::MAX_TIMERS};
use chrono::Utc;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use domain::execution::{ExecutionError, LogEntry, LogLevel, Outcome};
use rquickjs::loader::{Loader, Resolver};
use rquickjs::promise::PromiseState;
use rquickjs::{
    Context, Ctx, Function, Module, Persistent, Promise, Runtime, Value, context::intrinsic,
};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
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

    fn should_stop(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
            || self.faulted.load(Ordering::Acquire)
            || Instant::now() >= self.deadline
    }

    /// Why the execution must stop now, if it must.
    fn stop_outcome(&self, time_limit_ms: u64) -> Option<Outcome> {
        if self.cancelled.load(Ordering::Acquire) {
            return Some(Outcome::Cancelled);
        }
        if self.faulted.load(Ordering::Acquire) {
            let fault = self.fault.lock().unwrap_or_else(|p| p.into_inner()).clone();
            return Some(Outcome::Failed(
                fault.unwrap_or_else(|| error("INTERNAL", "stopped")),
            ));
        }
        if Instant::now() >= self.deadline {
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

/// The resolve and reject functions of a promise a host call will settle.
type Settlers = (Persistent<Function<'static>>, Persistent<Function<'static>>);

/// The state of one execution that the installed modules share with its event loop.
pub(crate) struct Shared {
    control: Arc<Control>,
    budgets: Arc<Budgets>,
    budget_config: BudgetConfig,
    http_budget: u64,
    log_dropped: Cell<bool>,
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
    pub(crate) scope: CallScope,
    pub(crate) host: Arc<dyn HostPort>,
    pub(crate) handle: tokio::runtime::Handle,
}

impl Shared {
    /// Counts one SDK call against the script's per-minute budget of `module`.
    pub(crate) fn charge(&self, module: &'static str) -> Result<(), String> {
        let limit = match module {
            "http" => self.http_budget,
            "db" => self.budget_config.db,
            "cache" => self.budget_config.cache,
            "events" => self.budget_config.events,
            _ => self.budget_config.log,
        };
        if self.budgets.charge(self.scope.script_id, module, limit) {
            Ok(())
        } else {
            Err(format!(
                "the script used its budget of {limit} {module} calls this minute"
            ))
        }
    }

    /// Records a log line. Every call counts toward the execution's log volume (entries and
    /// bytes), past which the execution is stopped; past the script's per-minute log budget
    /// lines are dropped instead, with one warning per execution.
    pub(crate) fn log(&self, level: LogLevel, message: String, metadata: serde_json::Value) {
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
        let mut logs = self.logs.borrow_mut();
        if !self
            .budgets
            .charge(self.scope.script_id, "log", self.budget_config.log)
        {
            if !self.log_dropped.replace(true) {
                let warning = format!(
                    "log budget of {} lines per minute used up; further lines are dropped",
                    self.budget_config.log
                );
                logs.push(LogEntry {
                    level: LogLevel::Warn,
                    message: warning,
                    metadata: serde_json::Value::Null,
                    ts: Utc::now(),
                });
            }
            return;
        }
        logs.push(LogEntry {
            level,
            message,
            metadata,
            ts: Utc::now(),
        });
    }

    pub(crate) fn add_timer<'js>(
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
            .insert((Instant::now() + period, id), ());
        Some(id)
    }

    pub(crate) fn clear_timer(&self, id: u32) {
        self.timers.borrow_mut().remove(&id);
    }

    /// Starts a host call: returns a promise that the event loop settles with its result.
    pub(crate) fn call_host<'js>(
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
        let host = self.host.clone();
        let scope = self.scope.clone();
        let wake = self.control.wake.clone();
        self.handle.spawn(async move {
            let result = host.call(scope, &module, &method, args).await;
            let _ = wake.send(Completion::Host { id, result });
        });
        Ok(promise)
    }

    fn next_due(&self) -> Option<Instant> {
        self.due.borrow().keys().next().map(|(at, _)| *at)
    }

    fn has_work(&self) -> bool {
        !self.timers.borrow().is_empty() || !self.pending.borrow().is_empty()
    }

    /// Runs the first timer that is due, if any; returns whether one ran.
    fn run_due_timer(&self, ctx: &Ctx<'_>) -> Result<bool, ExecutionError> {
        let now = Instant::now();
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

    fn settle(
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
                let thrown = match coded_error(ctx, &failure.code, &failure.message) {
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
    fn clear(&self) {
        self.timers.borrow_mut().clear();
        self.due.borrow_mut().clear();
        self.pending.borrow_mut().clear();
    }
}

/// Refuses every `import`, static or dynamic, with a message that says why.
struct NoImports;

impl Resolver for NoImports {
    fn resolve<'js>(
        &mut self,
        _: &Ctx<'js>,
        base: &str,
        name: &str,
        _: Option<rquickjs::loader::ImportAttributes<'js>>,
    ) -> rquickjs::Result<String> {
        Err(rquickjs::Error::new_resolving_message(
            base,
            name,
            "scripts cannot import modules; use the SDK globals",
        ))
    }
}

impl Loader for NoImports {
    fn load<'js>(
        &mut self,
        _: &Ctx<'js>,
        name: &str,
        _: Option<rquickjs::loader::ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js>> {
        Err(rquickjs::Error::new_loading_message(
            name,
            "scripts cannot import modules",
        ))
    }
}

type Intrinsics = (
    intrinsic::Date,
    intrinsic::RegExpCompiler,
    intrinsic::RegExp,
    intrinsic::Json,
    intrinsic::Proxy,
    intrinsic::MapSet,
    intrinsic::TypedArrays,
    intrinsic::Promise,
    intrinsic::WeakRef,
    intrinsic::Performance,
);
type IntrinsicsWithEval = (Intrinsics, intrinsic::Eval);

fn new_runtime(memory_bytes: u64, stack_bytes: usize) -> rquickjs::Result<Runtime> {
    let runtime = Runtime::new()?;
    runtime.set_memory_limit(usize::try_from(memory_bytes).unwrap_or(usize::MAX));
    runtime.set_max_stack_size(stack_bytes);
    runtime.set_loader(NoImports, NoImports);
    Ok(runtime)
}

fn new_context(runtime: &Runtime, allow_eval: bool) -> rquickjs::Result<Context> {
    if allow_eval {
        Context::custom::<IntrinsicsWithEval>(runtime)
    } else {
        Context::custom::<Intrinsics>(runtime)
    }
}

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

/// What an execution shares with the rest of the engine.
pub(crate) struct Surroundings {
    pub(crate) host: Arc<dyn HostPort>,
    pub(crate) handle: tokio::runtime::Handle,
    pub(crate) budgets: Arc<Budgets>,
}

pub(crate) fn scope_of(job: &Job, deadline: Instant) -> CallScope {
    CallScope {
        tenant_id: job.tenant_id,
        script_id: job.script_id,
        execution_id: job.execution_id,
        user_id: job.user_id,
        deadline,
        event_depth: job.event_depth,
    }
}

/// Runs `job` to the end on this thread.
pub(crate) fn run(
    job: &Job,
    compiled: &Compiled,
    config: &EngineConfig,
    control: Arc<Control>,
    inbox: Receiver<Completion>,
    around: &Surroundings,
) -> Report {
    let started_at = Utc::now();
    let limits = job.limits;
    let (outcome, logs, memory_bytes) =
        match new_runtime(limits.max_memory_bytes, config.max_stack_bytes).and_then(|runtime| {
            new_context(&runtime, config.allow_eval).map(|context| (runtime, context))
        }) {
            Err(_) => (
                Outcome::Failed(error(
                    "MEMORY_LIMIT",
                    "the memory limit is too small to start the script",
                )),
                Vec::new(),
                0,
            ),
            Ok((runtime, context)) => {
                let watcher = control.clone();
                runtime.set_interrupt_handler(Some(Box::new(move || watcher.should_stop())));
                let shared = Rc::new(Shared {
                    control: control.clone(),
                    budgets: around.budgets.clone(),
                    budget_config: config.budgets.clone(),
                    http_budget: limits.max_api_calls_per_minute,
                    log_dropped: Cell::new(false),
                    log_attempts: Cell::new(0),
                    max_log_entries: config.max_log_entries,
                    max_log_bytes: config.max_log_bytes,
                    logs: RefCell::default(),
                    log_bytes: Cell::new(0),
                    timers: RefCell::default(),
                    due: RefCell::default(),
                    next_timer: Cell::new(0),
                    pending: RefCell::default(),
                    next_call: Cell::new(0),
                    scope: scope_of(job, control.deadline),
                    host: around.host.clone(),
                    handle: around.handle.clone(),
                });
                let ended = drive(&runtime, &context, &shared, job, compiled, &inbox);
                let outcome = match ended {
                    Ended::Stopped(outcome) => outcome,
                    Ended::Failed(failure) => control
                        .stop_outcome(limits.max_execution_time_ms)
                        .unwrap_or(Outcome::Failed(failure)),
                    Ended::Value(json) => control
                        .stop_outcome(limits.max_execution_time_ms)
                        .unwrap_or_else(|| output_outcome(json, limits.max_output_size_bytes)),
                };
                let memory = runtime.memory_usage().memory_used_size.max(0) as u64;
                context.with(|_| shared.clear());
                let logs = shared.logs.take();
                (outcome, logs, memory)
            }
        };
    Report {
        outcome,
        logs,
        memory_bytes,
        started_at,
        finished_at: Utc::now(),
    }
}

fn context_json(job: &Job) -> String {
    serde_json::json!({
        "tenantId": job.tenant_id,
        "userId": job.user_id,
        "scriptId": job.script_id,
        "executionId": job.execution_id,
        "input": job.input,
        "trigger": job.trigger,
    })
    .to_string()
}

/// Loads the module, chains the entry call onto its evaluation, and returns the promise.
fn start<'js>(
    ctx: &Ctx<'js>,
    shared: &Rc<Shared>,
    job: &Job,
    compiled: &Compiled,
) -> rquickjs::Result<Promise<'js>> {
    modules::install_all(ctx, shared, &context_json(job))?;
    // SAFETY: `compiled.bytecode` was written by `compile` in this process, by this engine
    // build, from the script's source; it is never read from outside the process.
    #[allow(unsafe_code)]
    let declared = unsafe { Module::load(ctx.clone(), &compiled.bytecode)? };
    let (module, evaluated) = declared.eval()?;
    let argument: Value = ctx.json_parse(job.argument.to_string())?;
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
    job: &Job,
    compiled: &Compiled,
    inbox: &Receiver<Completion>,
) -> Ended {
    let time_limit = job.limits.max_execution_time_ms;
    let control = shared.control.clone();
    let started = context.with(|ctx| match start(&ctx, shared, job, compiled) {
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
        match inbox.recv_timeout(wake_at.saturating_duration_since(Instant::now())) {
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

/// For benchmarks: one whole execution of `compiled` in the sandbox, on this thread.
pub fn sandbox_isolate_run(
    job: &Job,
    compiled: &Compiled,
    config: &EngineConfig,
    handle: tokio::runtime::Handle,
) -> Report {
    let (wake, inbox) = crossbeam_channel::unbounded();
    let deadline = Instant::now() + Duration::from_millis(job.limits.max_execution_time_ms);
    let control = Arc::new(Control::new(deadline, wake));
    let around = Surroundings {
        host: Arc::new(crate::host::NoHost),
        handle,
        budgets: Arc::new(Budgets::new()),
    };
    run(job, compiled, config, control, inbox, &around)
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
