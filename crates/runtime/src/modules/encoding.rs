//! `atob` and `btoa`, and the UTF-8 natives behind `TextEncoder` and `TextDecoder`.

use super::{Install, ModuleHost};
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use rquickjs::function::Opt;
use rquickjs::{Ctx, Exception, Function, Object, Result};

const FORGIVING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn btoa<'js>(ctx: Ctx<'js>, text: String) -> Result<String> {
    let mut bytes = Vec::with_capacity(text.len());
    for c in text.chars() {
        let code = c as u32;
        if code > 0xFF {
            return Err(Exception::throw_message(
                &ctx,
                "btoa: the string contains characters outside Latin-1",
            ));
        }
        bytes.push(code as u8);
    }
    Ok(STANDARD.encode(bytes))
}

fn atob<'js>(ctx: Ctx<'js>, encoded: String) -> Result<String> {
    let cleaned: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    match FORGIVING.decode(cleaned) {
        Ok(bytes) => Ok(bytes.into_iter().map(char::from).collect()),
        Err(_) => Err(Exception::throw_message(
            &ctx,
            "atob: the string is not valid base64",
        )),
    }
}

pub(crate) fn install<'js, H: ModuleHost + 'static>(install: &Install<'_, 'js, H>) -> Result<()> {
    let ctx = install.ctx;
    let globals = ctx.globals();
    globals.set("btoa", Function::new(ctx.clone(), btoa)?.with_name("btoa")?)?;
    globals.set("atob", Function::new(ctx.clone(), atob)?.with_name("atob")?)?;
    Ok(())
}

/// The natives the `TextEncoder`/`TextDecoder` classes of the lazy polyfill use.
pub(crate) fn natives<'js>(ctx: &Ctx<'js>, into: &Object<'js>) -> Result<()> {
    into.set(
        "utf8Encode",
        Function::new(ctx.clone(), |text: String| text.into_bytes())?,
    )?;
    let decode = |ctx: Ctx<'js>, bytes: Vec<u8>, fatal: Opt<bool>| -> Result<String> {
        match String::from_utf8(bytes) {
            Ok(text) => Ok(text),
            Err(_) if fatal.0.unwrap_or(false) => Err(Exception::throw_type(
                &ctx,
                "The encoded data was not valid UTF-8",
            )),
            Err(error) => Ok(String::from_utf8_lossy(error.as_bytes()).into_owned()),
        }
    };
    into.set("utf8Decode", Function::new(ctx.clone(), decode)?)?;
    Ok(())
}
