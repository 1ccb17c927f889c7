//! The globals a script sees, one file per module, each with the same `install` entry. The
//! list in `install_all` is the whole surface (`tests/declarations.rs` holds it in agreement
//! with `sdk.d.ts`). Modules reach their execution only through the narrow [`ModuleHost`]
//! trait: they know nothing of the event loop that implements it.

pub(crate) mod console;
pub(crate) mod context;
pub(crate) mod crypto;
pub(crate) mod encoding;
pub(crate) mod lazy;
pub(crate) mod sdk;
pub(crate) mod services;
pub(crate) mod timers;
pub(crate) mod utils;

use domain::execution::LogLevel;
use rquickjs::{Ctx, Function, Object, Promise, Result, Value};
use std::rc::Rc;
use std::time::Duration;

/// What modules may ask of the execution they are installed into.
pub(crate) trait ModuleHost {
    /// Records a log line (the execution stops once its log volume is spent).
    fn log(&self, level: LogLevel, message: String, metadata: serde_json::Value);
    /// Bytes the execution may still log.
    fn log_room(&self) -> usize;
    /// Schedules `callback`; `None` when too many timers are pending.
    fn add_timer<'js>(
        &self,
        ctx: &Ctx<'js>,
        callback: Function<'js>,
        args: Vec<Value<'js>>,
        period: Duration,
        repeat: bool,
    ) -> Option<u32>;
    fn clear_timer(&self, id: u32);
    /// Starts a host call; the promise settles with its result.
    fn call_host<'js>(
        &self,
        ctx: &Ctx<'js>,
        module: String,
        method: String,
        args: serde_json::Value,
    ) -> Result<Promise<'js>>;
    /// The host's services: names with their methods.
    fn services(&self) -> &[(String, Vec<String>)];
}

/// What every module's `install` gets.
pub(crate) struct Install<'a, 'js, H> {
    pub(crate) ctx: &'a Ctx<'js>,
    /// The `sdk` global, filled by the modules that add to it.
    pub(crate) sdk: &'a Object<'js>,
    pub(crate) host: &'a Rc<H>,
    /// `context` as JSON.
    pub(crate) context: &'a str,
}

/// Installs every module into a fresh context.
pub(crate) fn install_all<'js, H: ModuleHost + 'static>(
    ctx: &Ctx<'js>,
    host: &Rc<H>,
    context: &str,
) -> Result<()> {
    let sdk = Object::new(ctx.clone())?;
    let install = Install {
        ctx,
        sdk: &sdk,
        host,
        context,
    };
    context::install(&install)?;
    console::install(&install)?;
    sdk::install(&install)?;
    timers::install(&install)?;
    encoding::install(&install)?;
    crypto::install(&install)?;
    utils::install(&install)?;
    lazy::install(&install)?;
    services::install(&install)?;
    ctx.globals().set("sdk", sdk)
}

/// Defines `name` on `target` as an accessor that builds the value on first use and then
/// replaces itself with it, so that a fresh isolate pays only for what its script touches.
pub(crate) fn lazy_property<'js, F>(
    ctx: &Ctx<'js>,
    target: &rquickjs::Object<'js>,
    name: &'static str,
    enumerable: bool,
    build: F,
) -> Result<()>
where
    F: Fn(&Ctx<'js>) -> Result<rquickjs::Value<'js>> + 'js,
{
    use rquickjs::function::This;
    use rquickjs::object::{Accessor, Property};
    // The getter finds its object through `this`: holding it in the closure would make a
    // reference cycle the engine's collector cannot see.
    let getter =
        move |ctx: Ctx<'js>, owner: This<rquickjs::Object<'js>>| -> Result<rquickjs::Value<'js>> {
            let value = build(&ctx)?;
            let property = Property::from(value.clone()).writable().configurable();
            owner.0.prop(
                name,
                if enumerable {
                    property.enumerable()
                } else {
                    property
                },
            )?;
            Ok(value)
        };
    let accessor = Accessor::new_get(getter).configurable();
    let _ = ctx;
    target.prop(
        name,
        if enumerable {
            accessor.enumerable()
        } else {
            accessor
        },
    )
}

/// The most bytes a native helper (`utils.template`, `utils.formatDate`, ...) returns in one
/// string. Such helpers build their result outside the script's memory limit, from inputs
/// that can multiply (a template repeating a placeholder); past this they throw
/// `OUTPUT_LIMIT` instead of allocating.
pub(crate) const MAX_NATIVE_STRING_BYTES: usize = 16 * 1024 * 1024;

/// At most the first `max` bytes of a JavaScript string (cut at a character boundary), and
/// whether anything was cut. The full text is only ever copied inside the engine's heap,
/// under the script's memory limit; the Rust copy is bounded by `max`.
pub(crate) fn text_prefix(text: &rquickjs::String<'_>, max: usize) -> Result<(String, bool)> {
    let whole = text.clone().to_cstring()?;
    let whole = whole.as_str();
    if whole.len() <= max {
        return Ok((whole.to_owned(), false));
    }
    Ok((cut(whole, max).to_owned(), true))
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub(crate) fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// An `Error` with a `code`, as every failure the SDK reports to scripts.
pub(crate) fn coded_error<'js>(ctx: &Ctx<'js>, code: &str, message: &str) -> rquickjs::Error {
    let built = rquickjs::Exception::from_message(ctx.clone(), message).and_then(|exception| {
        exception.as_object().set("code", code)?;
        Ok(exception)
    });
    match built {
        Ok(exception) => ctx.throw(exception.into_value()),
        Err(error) => error,
    }
}
