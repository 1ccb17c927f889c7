//! `services.<name>.<method>(...args)`: the host application's own services. Each call goes
//! through the host port with the execution's tenant and user, and returns a promise.

use super::{Install, ModuleHost};
use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object, Result, Value};

/// The arguments of a call as one JSON array.
pub(crate) fn json_arguments<'js>(
    ctx: &Ctx<'js>,
    args: Vec<Value<'js>>,
) -> Result<serde_json::Value> {
    let array = rquickjs::Array::new(ctx.clone())?;
    for (index, arg) in args.into_iter().enumerate() {
        array.set(index, arg)?;
    }
    let text = ctx
        .json_stringify(array)?
        .map(|s| s.to_string())
        .transpose()?
        .unwrap_or_else(|| "[]".into());
    Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Array(Vec::new())))
}

pub(crate) fn install<'js, H: ModuleHost + 'static>(install: &Install<'_, 'js, H>) -> Result<()> {
    let (ctx, shared) = (install.ctx, install.host);
    let services = Object::new(ctx.clone())?;
    for (service, methods) in shared.services() {
        let object = Object::new(ctx.clone())?;
        for method in methods {
            let shared = shared.clone();
            let target = format!("{service}.{method}");
            let call =
                move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> Result<rquickjs::Promise<'js>> {
                    let arguments = json_arguments(&ctx, args.0)?;
                    shared.call_host(&ctx, "services".into(), target.clone(), arguments)
                };
            object.set(
                method.as_str(),
                Function::new(ctx.clone(), call)?.with_name(method)?,
            )?;
        }
        services.set(service.as_str(), object)?;
    }
    ctx.globals().set("services", services)
}
