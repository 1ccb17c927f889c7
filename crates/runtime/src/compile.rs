//! Compiling a script's source to QuickJS bytecode, once per script version.
//!
//! Compilation runs in its own short-lived runtime with the `Eval` intrinsic; executions load
//! the bytecode into contexts without it, which is how `eval` and `new Function` stay off.
//! A function named `main` (or the type's handler) that the module does not export is still
//! an entry point: the compiler re-exports it under an internal name when the binding exists.

use crate::errors::{SCRIPT_NAME, error, from_engine_error};
use domain::execution::ExecutionError;
use domain::script::ScriptType;
use rquickjs::{Context, Module, Runtime, WriteOptions};
use std::time::Duration;

pub(crate) const MAIN_ALIAS: &str = "__iota_main__";
pub(crate) const HANDLER_ALIAS: &str = "__iota_handler__";

/// A script ready to load: its bytecode and which entry aliases it exports.
#[derive(Debug)]
pub struct Compiled {
    pub(crate) bytecode: Vec<u8>,
    pub(crate) has_main: bool,
    pub(crate) has_handler: bool,
}

impl Compiled {
    pub fn size(&self) -> usize {
        self.bytecode.len()
    }

    /// Bytecode received from a worker, with its entry aliases.
    pub(crate) fn from_parts(bytecode: Vec<u8>, flags: crate::protocol::EntryFlags) -> Self {
        Self {
            bytecode,
            has_main: flags.has_main,
            has_handler: flags.has_handler,
        }
    }

    pub(crate) fn flags(&self) -> crate::protocol::EntryFlags {
        crate::protocol::EntryFlags {
            has_main: self.has_main,
            has_handler: self.has_handler,
        }
    }
}

/// The name of the entry point a script type may use besides `default` and `main`.
pub(crate) fn handler_name(script_type: ScriptType) -> Option<&'static str> {
    match script_type {
        ScriptType::Http => Some("handleRequest"),
        ScriptType::Event => Some("handleEvent"),
        _ => None,
    }
}

const COMPILE_MEMORY: usize = 256 * 1024 * 1024;
const COMPILE_TIME: Duration = Duration::from_secs(10);

fn try_compile(
    runtime: &Runtime,
    context: &Context,
    name: &str,
    source: &str,
) -> Result<Vec<u8>, ExecutionError> {
    let deadline = crate::clock::now() + COMPILE_TIME;
    runtime.set_interrupt_handler(Some(Box::new(move || crate::clock::now() > deadline)));
    context.with(|ctx| {
        let module =
            Module::declare(ctx.clone(), name, source).map_err(|e| from_engine_error(&ctx, e))?;
        module
            .write(WriteOptions::default())
            .map_err(|e| from_engine_error(&ctx, e))
    })
}

fn compiler() -> Result<(Runtime, Context), ExecutionError> {
    let runtime = Runtime::new().map_err(|_| error("INTERNAL", "cannot start the compiler"))?;
    runtime.set_memory_limit(COMPILE_MEMORY);
    runtime.set_max_stack_size(1024 * 1024);
    let context =
        Context::full(&runtime).map_err(|_| error("INTERNAL", "cannot start the compiler"))?;
    Ok((runtime, context))
}

/// Compiles an internal module of the engine under its own name.
pub(crate) fn compile_internal(name: &str, source: &str) -> Result<Vec<u8>, ExecutionError> {
    let (runtime, context) = compiler()?;
    try_compile(&runtime, &context, name, source)
}

/// Compiles `source` as an ES module; a syntax error comes back with its line and column.
pub fn compile(source: &str, script_type: ScriptType) -> Result<Compiled, ExecutionError> {
    compile_for(source, handler_name(script_type))
}

/// Compiles `source`, whose type's handler (if any) is named `handler`.
pub(crate) fn compile_for(source: &str, handler: Option<&str>) -> Result<Compiled, ExecutionError> {
    let (runtime, context) = compiler()?;
    // The plain source first: its errors are the author's, with the author's line numbers.
    let plain = try_compile(&runtime, &context, SCRIPT_NAME, source)?;
    let alias = |name: &str, alias: &str| format!("\nexport {{ {name} as {alias} }};\n");
    let main = alias("main", MAIN_ALIAS);
    let handler = handler.map(|name| alias(name, HANDLER_ALIAS));
    let mut candidates = Vec::new();
    if let Some(handler) = &handler {
        candidates.push((format!("{source}{main}{handler}"), true, true));
        candidates.push((format!("{source}{handler}"), false, true));
    }
    candidates.push((format!("{source}{main}"), true, false));
    for (text, has_main, has_handler) in candidates {
        if let Ok(bytecode) = try_compile(&runtime, &context, SCRIPT_NAME, &text) {
            return Ok(Compiled {
                bytecode,
                has_main,
                has_handler,
            });
        }
    }
    Ok(Compiled {
        bytecode: plain,
        has_main: false,
        has_handler: false,
    })
}
