//! `context`: the read-only facts of the execution (tenant, script, execution, user, input,
//! trigger).

use super::{Install, ModuleHost};
use rquickjs::{Ctx, Function, Object, Result, Value};

/// `context` is parsed and frozen the first time the script reads it.
pub(crate) fn install<'js, H: ModuleHost + 'static>(install: &Install<'_, 'js, H>) -> Result<()> {
    let ctx = install.ctx;
    let json = install.context.to_owned();
    super::lazy_property(ctx, &ctx.globals(), "context", false, move |ctx| {
        build(ctx, &json)
    })
}

fn build<'js>(ctx: &Ctx<'js>, context_json: &str) -> Result<Value<'js>> {
    let value: Value = ctx.json_parse(context_json)?;
    let freeze: Function = ctx.globals().get::<_, Object>("Object")?.get("freeze")?;
    if let Some(trigger) = value
        .as_object()
        .and_then(|o| o.get::<_, Value>("trigger").ok())
    {
        freeze.call::<_, Value>((trigger,))?;
    }
    freeze.call((value,))
}
