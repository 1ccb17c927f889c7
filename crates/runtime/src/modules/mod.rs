//! The globals a script sees, one file per module, each with an `install` entry. The list in
//! `install_all` is the whole surface; `declarations` (later) must agree with it.

pub(crate) mod console;
pub(crate) mod context;
pub(crate) mod crypto;
pub(crate) mod encoding;
pub(crate) mod lazy;
pub(crate) mod sdk;
pub(crate) mod services;
pub(crate) mod timers;
pub(crate) mod utils;

use crate::isolate::Shared;
use rquickjs::{Ctx, Result};
use std::rc::Rc;

/// Installs every module into a fresh context.
pub(crate) fn install_all<'js>(
    ctx: &Ctx<'js>,
    shared: &Rc<Shared>,
    context_json: &str,
) -> Result<()> {
    context::install(ctx, context_json)?;
    let sdk = rquickjs::Object::new(ctx.clone())?;
    console::install(ctx, &sdk, shared)?;
    sdk::install(ctx, &sdk, shared)?;
    ctx.globals().set("sdk", sdk)?;
    timers::install(ctx, shared)?;
    encoding::install(ctx)?;
    crypto::install(ctx)?;
    utils::install(ctx)?;
    lazy::install(ctx)?;
    services::install(ctx, shared)?;
    Ok(())
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
