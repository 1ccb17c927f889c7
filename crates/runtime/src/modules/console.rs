//! `console.*` and `sdk.log.*`: both write to the execution's log, with a level, a message,
//! metadata and a time. A script that logs past the volume limit is stopped; a message is
//! formatted only as far as the execution may still log, so a huge one is never built whole.

use super::{Install, ModuleHost};
use super::{cut, lazy_property, text_prefix};
use domain::execution::LogLevel;
use rquickjs::function::{Opt, Rest};
use rquickjs::{Ctx, Function, Object, Result, Value};
use std::rc::Rc;

/// How a value reads in a log line: strings as they are, everything else as JSON if it can be.
/// At most `max` bytes, and whether it was cut: a huge value is never copied out whole.
pub(crate) fn display<'js>(
    ctx: &Ctx<'js>,
    value: &Value<'js>,
    max: usize,
) -> Result<(String, bool)> {
    if let Some(text) = value.as_string() {
        return text_prefix(text, max);
    }
    let shown = if value.is_undefined() {
        "undefined".to_owned()
    } else if let Some(object) = value.as_object().filter(|_| value.is_error()) {
        let field = |key: &str| -> Result<Option<String>> {
            match object.get::<_, Option<rquickjs::String>>(key) {
                Ok(Some(text)) => text_prefix(&text, max).map(|(text, _)| Some(text)),
                _ => Ok(None),
            }
        };
        let name = field("name")?.unwrap_or_else(|| "Error".into());
        let message = field("message")?.unwrap_or_default();
        format!("{name}: {message}")
    } else if value.is_function() {
        "[function]".to_owned()
    } else {
        match ctx.json_stringify(value.clone()) {
            Ok(Some(text)) => return text_prefix(&text, max),
            _ => format!("[{}]", value.type_name()),
        }
    };
    let kept = cut(&shown, max);
    Ok((kept.to_owned(), kept.len() < shown.len()))
}

/// The longest UTF-8 character: a text cut at a character boundary below `room + SLACK`
/// bytes is still longer than `room`.
const SLACK: usize = 4;

/// The metadata as JSON, read from at most `max` bytes of its text. Longer metadata comes back
/// as a string of that prefix, which is still longer than `max`, so that it counts against
/// the log volume like the whole would (and the execution stops with `LOG_LIMIT`).
fn metadata<'js>(
    ctx: &Ctx<'js>,
    value: Option<Value<'js>>,
    max: usize,
) -> Result<serde_json::Value> {
    let Some(value) = value.filter(|v| !v.is_undefined() && !v.is_null()) else {
        return Ok(serde_json::Value::Null);
    };
    let Ok(Some(text)) = ctx.json_stringify(value) else {
        return Ok(serde_json::Value::Null);
    };
    let (text, was_cut) = text_prefix(&text, max)?;
    if was_cut {
        return Ok(serde_json::Value::String(text));
    }
    Ok(serde_json::from_str(&text).unwrap_or_default())
}

/// Formats the arguments of one `console` call, stopping once the message is longer than the
/// execution may still log (`room`): the rest could not be logged anyway.
fn console_message<'js>(ctx: &Ctx<'js>, args: &[Value<'js>], room: usize) -> Result<String> {
    let limit = room.saturating_add(SLACK);
    let mut message = String::new();
    for (index, value) in args.iter().enumerate() {
        if index > 0 {
            message.push(' ');
        }
        let (text, was_cut) = display(ctx, value, limit.saturating_sub(message.len()))?;
        message.push_str(&text);
        if was_cut || message.len() > room {
            break;
        }
    }
    Ok(message)
}

fn build_console<'js, H: ModuleHost + 'static>(
    ctx: &Ctx<'js>,
    shared: &Rc<H>,
) -> Result<Value<'js>> {
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
        let write = move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> Result<()> {
            let message = console_message(&ctx, &args.0, shared.log_room())?;
            shared.log(level, message, serde_json::Value::Null);
            Ok(())
        };
        console.set(name, Function::new(ctx.clone(), write)?.with_name(name)?)?;
    }
    Ok(console.into_value())
}

fn build_log<'js, H: ModuleHost + 'static>(ctx: &Ctx<'js>, shared: &Rc<H>) -> Result<Value<'js>> {
    let log = Object::new(ctx.clone())?;
    for (name, level) in [
        ("debug", LogLevel::Debug),
        ("info", LogLevel::Info),
        ("warn", LogLevel::Warn),
        ("error", LogLevel::Error),
    ] {
        let shared = shared.clone();
        let write = move |ctx: Ctx<'js>, message: Value<'js>, extra: Opt<Value<'js>>| {
            let limit = shared.log_room().saturating_add(SLACK);
            let (text, _) = display(&ctx, &message, limit)?;
            let metadata = metadata(&ctx, extra.0, limit.saturating_sub(text.len()))?;
            shared.log(level, text, metadata);
            Ok::<_, rquickjs::Error>(())
        };
        log.set(name, Function::new(ctx.clone(), write)?.with_name(name)?)?;
    }
    Ok(log.into_value())
}

/// `console` and `sdk.log`, built the first time a script touches them.
pub(crate) fn install<'js, H: ModuleHost + 'static>(install: &Install<'_, 'js, H>) -> Result<()> {
    let (ctx, sdk, shared) = (install.ctx, install.sdk, install.host);
    let for_console = shared.clone();
    lazy_property(ctx, &ctx.globals(), "console", false, move |ctx| {
        build_console(ctx, &for_console)
    })?;
    let for_log = shared.clone();
    lazy_property(ctx, sdk, "log", true, move |ctx| build_log(ctx, &for_log))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Formats `args` (a JavaScript array expression) with `room` bytes left, and counts how
    /// many values past the first were turned into text.
    fn format_with_room(args: &str, room: usize) -> (String, i32) {
        let runtime = rquickjs::Runtime::new().unwrap();
        let context = rquickjs::Context::full(&runtime).unwrap();
        context.with(|ctx| {
            let source = format!(
                "globalThis.touched = 0; const probe = {{ toJSON() {{ touched++; return 'p' }} }}; {args}"
            );
            let values: Vec<Value> = ctx.eval(source).unwrap();
            let message = console_message(&ctx, &values, room).unwrap();
            (message, ctx.globals().get("touched").unwrap())
        })
    }

    #[test]
    fn formatting_stops_once_the_message_is_over_the_room() {
        let cases = [
            // (arguments, room, expected length, probes formatted)
            ("['ab', probe, 'cd']", 100, 9, 1),
            ("['x'.repeat(1000), probe, probe]", 100, 104, 0),
            ("['x'.repeat(60), 'y'.repeat(60), probe]", 100, 104, 0),
            ("['é'.repeat(100), probe]", 101, 104, 0),
            ("[probe, 'x'.repeat(1000)]", 0, 3, 1),
        ];
        for (args, room, length, touched) in cases {
            let (message, seen) = format_with_room(args, room);
            assert_eq!(message.len(), length, "{args} in {room}");
            assert_eq!(seen, touched, "{args} in {room}: probes formatted");
        }
    }
}
