//! `sdk.http`, `sdk.db`, `sdk.cache` and `events`: JavaScript shapes (in `sdk.js`) over one
//! native that calls the host (the supervisor charges the script's per-minute budget). Loaded
//! the first time a script touches one of them.

use super::services::json_arguments;
use super::{Install, ModuleHost};
use crate::compile::compile_internal;
use rquickjs::function::Rest;
use rquickjs::object::{Accessor, Property};
use rquickjs::{Ctx, Exception, Function, Module, Object, Result, Value};
use std::rc::Rc;
use std::sync::OnceLock;

const GLUE: &str = include_str!("sdk.js");

fn glue_bytecode() -> &'static std::result::Result<Vec<u8>, String> {
    static BYTECODE: OnceLock<std::result::Result<Vec<u8>, String>> = OnceLock::new();
    BYTECODE.get_or_init(|| compile_internal("iota:sdk", GLUE).map_err(|e| e.message))
}

fn native_call<'js, H: ModuleHost + 'static>(
    ctx: &Ctx<'js>,
    shared: &Rc<H>,
) -> Result<Function<'js>> {
    let shared = shared.clone();
    Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, module: String, method: String, args: Rest<Value<'js>>| {
            let arguments = json_arguments(&ctx, args.0)?;
            shared.call_host(&ctx, module, method, arguments)
        },
    )
}

/// Loads the glue, builds its objects over the native, and puts them in place of the lazy
/// accessors. The native reaches the glue as an argument, never through a global.
fn load<'js, H: ModuleHost + 'static>(ctx: &Ctx<'js>, shared: &Rc<H>) -> Result<Object<'js>> {
    let bytecode = glue_bytecode()
        .as_ref()
        .map_err(|e| Exception::throw_internal(ctx, e))?;
    // SAFETY: the bytecode was produced by `compile_internal` in this process from a constant
    // source with the same engine build.
    #[allow(unsafe_code)]
    let module = unsafe { Module::load(ctx.clone(), bytecode)? };
    let (module, promise) = module.eval()?;
    promise.finish::<()>()?;
    let build: Function = module.namespace()?.get("default")?;
    let built: Object = build.call((native_call(ctx, shared)?,))?;
    let globals = ctx.globals();
    let sdk: Object = globals.get("sdk")?;
    for name in ["http", "db", "cache"] {
        let value: Value = built.get(name)?;
        sdk.prop(name, Property::from(value).enumerable())?;
    }
    let events: Value = built.get("events")?;
    globals.prop("events", Property::from(events).writable().configurable())?;
    Ok(built)
}

pub(crate) fn install<'js, H: ModuleHost + 'static>(install: &Install<'_, 'js, H>) -> Result<()> {
    let (ctx, sdk, shared) = (install.ctx, install.sdk, install.host);
    for name in ["http", "db", "cache"] {
        let shared = shared.clone();
        let getter = move |ctx: Ctx<'js>| -> Result<Value<'js>> { load(&ctx, &shared)?.get(name) };
        sdk.prop(name, Accessor::new_get(getter).configurable().enumerable())?;
    }
    let shared = shared.clone();
    let getter = move |ctx: Ctx<'js>| -> Result<Value<'js>> { load(&ctx, &shared)?.get("events") };
    ctx.globals()
        .prop("events", Accessor::new_get(getter).configurable())
}
