//! `setTimeout`, `clearTimeout`, `setInterval`, `clearInterval`. Timers are kept by the
//! execution's event loop and never outlive the execution's time limit.

use super::coded_error;
use super::{Install, ModuleHost};
use rquickjs::function::{Opt, Rest};
use rquickjs::{Ctx, Function, Result, Value};
use std::time::Duration;

/// More pending timers than this is a runaway script, not a schedule.
pub(crate) const MAX_TIMERS: usize = 10_000;

fn delay(ms: Option<f64>) -> Duration {
    let ms = ms.filter(|v| v.is_finite() && *v > 0.0).unwrap_or(0.0);
    Duration::from_micros((ms.min(1e12) * 1000.0) as u64)
}

fn schedule<'js, H: ModuleHost>(
    ctx: &Ctx<'js>,
    shared: &H,
    callback: Function<'js>,
    ms: Opt<f64>,
    args: Rest<Value<'js>>,
    repeat: bool,
) -> Result<u32> {
    let period = delay(ms.0);
    shared
        .add_timer(ctx, callback, args.0, period, repeat)
        .ok_or_else(|| {
            coded_error(
                ctx,
                "TIMER_LIMIT",
                &format!("more than {MAX_TIMERS} timers are pending"),
            )
        })
}

pub(crate) fn install<'js, H: ModuleHost + 'static>(install: &Install<'_, 'js, H>) -> Result<()> {
    let (ctx, shared) = (install.ctx, install.host);
    let globals = ctx.globals();
    for (name, repeat) in [("setTimeout", false), ("setInterval", true)] {
        let shared = shared.clone();
        let set =
            move |ctx: Ctx<'js>, callback: Function<'js>, ms: Opt<f64>, args: Rest<Value<'js>>| {
                schedule(&ctx, shared.as_ref(), callback, ms, args, repeat)
            };
        globals.set(name, Function::new(ctx.clone(), set)?.with_name(name)?)?;
    }
    for name in ["clearTimeout", "clearInterval"] {
        let shared = shared.clone();
        let clear = move |id: Opt<Value<'js>>| {
            if let Some(id) = id.0.and_then(|v| v.as_number()) {
                shared.clear_timer(id as u32);
            }
        };
        globals.set(name, Function::new(ctx.clone(), clear)?.with_name(name)?)?;
    }
    Ok(())
}
