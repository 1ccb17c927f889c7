//! `console.*` and `sdk.log.*`: both write to the execution's log, with a level, a message,
//! metadata and a time. A script that logs past the volume limit is stopped.

use super::lazy_property;
use crate::isolate::Shared;
use domain::execution::LogLevel;
use rquickjs::function::{Opt, Rest};
use rquickjs::{Ctx, Function, Object, Result, Value};
use std::rc::Rc;

/// How a value reads in a log line: strings as they are, everything else as JSON if it can be.
pub(crate) fn display<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> String {
    if let Some(text) = value.as_string() {
        return text.to_string().unwrap_or_default();
    }
    if value.is_undefined() {
        return "undefined".into();
    }
    if let Some(object) = value.as_object().filter(|_| value.is_error()) {
        let name: String = object.get("name").unwrap_or_else(|_| "Error".into());
        let message: String = object.get("message").unwrap_or_default();
        return format!("{name}: {message}");
    }
    if value.is_function() {
        return "[function]".into();
    }
    match ctx.json_stringify(value.clone()) {
        Ok(Some(text)) => text.to_string().unwrap_or_default(),
        _ => format!("[{}]", value.type_name()),
    }
}

fn metadata<'js>(ctx: &Ctx<'js>, value: Option<Value<'js>>) -> serde_json::Value {
    let Some(value) = value.filter(|v| !v.is_undefined() && !v.is_null()) else {
        return serde_json::Value::Null;
    };
    match ctx.json_stringify(value) {
        Ok(Some(text)) => {
            serde_json::from_str(&text.to_string().unwrap_or_default()).unwrap_or_default()
        }
        _ => serde_json::Value::Null,
    }
}

fn build_console<'js>(ctx: &Ctx<'js>, shared: &Rc<Shared>) -> Result<Value<'js>> {
    let console = Object::new(ctx.clone())?;
    for (name, level) in [
        ("log", LogLevel::Info),
        ("info", LogLevel::Info),
        ("debug", LogLevel::Debug),
        ("warn", LogLevel::Warn),
        ("error", LogLevel::Error),
        ("trace", LogLevel::Debug),
    ] {
        let shared = shared.clone();
        let write = move |ctx: Ctx<'js>, args: Rest<Value<'js>>| {
            let message = args
                .0
                .iter()
                .map(|v| display(&ctx, v))
                .collect::<Vec<_>>()
                .join(" ");
            shared.log(level, message, serde_json::Value::Null);
        };
        console.set(name, Function::new(ctx.clone(), write)?.with_name(name)?)?;
    }
    Ok(console.into_value())
}

fn build_log<'js>(ctx: &Ctx<'js>, shared: &Rc<Shared>) -> Result<Value<'js>> {
    let log = Object::new(ctx.clone())?;
    for (name, level) in [
        ("debug", LogLevel::Debug),
        ("info", LogLevel::Info),
        ("warn", LogLevel::Warn),
        ("error", LogLevel::Error),
    ] {
        let shared = shared.clone();
        let write = move |ctx: Ctx<'js>, message: Value<'js>, extra: Opt<Value<'js>>| {
            let text = display(&ctx, &message);
            shared.log(level, text, metadata(&ctx, extra.0));
        };
        log.set(name, Function::new(ctx.clone(), write)?.with_name(name)?)?;
    }
    Ok(log.into_value())
}

/// `console` and `sdk.log`, built the first time a script touches them.
pub(crate) fn install<'js>(ctx: &Ctx<'js>, sdk: &Object<'js>, shared: &Rc<Shared>) -> Result<()> {
    let for_console = shared.clone();
    lazy_property(ctx, &ctx.globals(), "console", false, move |ctx| {
        build_console(ctx, &for_console)
    })?;
    let for_log = shared.clone();
    lazy_property(ctx, sdk, "log", true, move |ctx| build_log(ctx, &for_log))
}
