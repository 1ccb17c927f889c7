//! `context`: the read-only facts of the execution (tenant, script, execution, user, input,
//! trigger).

use rquickjs::{Ctx, Function, Object, Result, Value};

pub(crate) fn install<'js>(ctx: &Ctx<'js>, context_json: &str) -> Result<()> {
    let value: Value = ctx.json_parse(context_json)?;
    let freeze: Function = ctx.globals().get::<_, Object>("Object")?.get("freeze")?;
    if let Some(trigger) = value
        .as_object()
        .and_then(|o| o.get::<_, Value>("trigger").ok())
    {
        freeze.call::<_, Value>((trigger,))?;
    }
    let frozen: Value = freeze.call((value,))?;
    ctx.globals().set("context", frozen)
}
