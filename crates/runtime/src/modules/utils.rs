//! `utils`: small helpers scripts keep needing — hashing and HMAC (for webhook signatures),
//! a constant-time comparison, date formatting in a timezone, and `{{name}}` templates. Text
//! they build is capped at `MAX_NATIVE_STRING_BYTES` (`OUTPUT_LIMIT` past it).

use super::{Install, ModuleHost};
use super::{MAX_NATIVE_STRING_BYTES, coded_error};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use rquickjs::function::Opt;
use rquickjs::{Ctx, Exception, Function, Object, Result, Value};
use sha2::{Digest, Sha256, Sha512};
use std::fmt::Write as _;

fn encode(ctx: &Ctx<'_>, bytes: &[u8], encoding: Option<String>) -> Result<String> {
    match encoding.as_deref().unwrap_or("hex") {
        "hex" => Ok(bytes
            .iter()
            .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
                let _ = write!(out, "{b:02x}");
                out
            })),
        "base64" => Ok(STANDARD.encode(bytes)),
        other => Err(Exception::throw_type(
            ctx,
            &format!("unknown encoding \"{other}\" (use hex or base64)"),
        )),
    }
}

fn hash<'js>(
    ctx: Ctx<'js>,
    algorithm: String,
    data: String,
    encoding: Opt<String>,
) -> Result<String> {
    let digest = match algorithm.to_ascii_lowercase().as_str() {
        "sha256" => Sha256::digest(data.as_bytes()).to_vec(),
        "sha512" => Sha512::digest(data.as_bytes()).to_vec(),
        other => {
            return Err(Exception::throw_type(
                &ctx,
                &format!("unknown hash \"{other}\" (use sha256 or sha512)"),
            ));
        }
    };
    encode(&ctx, &digest, encoding.0)
}

fn hmac<'js>(
    ctx: Ctx<'js>,
    algorithm: String,
    key: String,
    data: String,
    encoding: Opt<String>,
) -> Result<String> {
    let bad_key = |ctx: &Ctx<'js>| Exception::throw_type(ctx, "the HMAC key is not usable");
    let signature = match algorithm.to_ascii_lowercase().as_str() {
        "sha256" => {
            let mut mac =
                Hmac::<Sha256>::new_from_slice(key.as_bytes()).map_err(|_| bad_key(&ctx))?;
            mac.update(data.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        "sha512" => {
            let mut mac =
                Hmac::<Sha512>::new_from_slice(key.as_bytes()).map_err(|_| bad_key(&ctx))?;
            mac.update(data.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        other => {
            return Err(Exception::throw_type(
                &ctx,
                &format!("unknown HMAC hash \"{other}\" (use sha256 or sha512)"),
            ));
        }
    };
    encode(&ctx, &signature, encoding.0)
}

/// Compares two strings in time that does not depend on where they differ.
fn timing_safe_equal(a: String, b: String) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn instant<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> Result<DateTime<Utc>> {
    let millis = if let Some(number) = value.as_number() {
        Some(number)
    } else if let Some(object) = value.as_object() {
        object
            .get::<_, Function>("getTime")
            .and_then(|get| get.call((rquickjs::function::This(object.clone()),)))
            .ok()
    } else if let Some(text) = value.as_string() {
        let text = text.to_string()?;
        DateTime::parse_from_rfc3339(&text)
            .ok()
            .map(|d| d.timestamp_millis() as f64)
    } else {
        None
    };
    millis
        .filter(|m| m.is_finite())
        .and_then(|m| Utc.timestamp_millis_opt(m as i64).single())
        .ok_or_else(|| {
            Exception::throw_type(
                ctx,
                "expected a Date, a timestamp in milliseconds or an RFC 3339 string",
            )
        })
}

fn format_date<'js>(
    ctx: Ctx<'js>,
    value: Value<'js>,
    format: Opt<String>,
    zone: Opt<String>,
) -> Result<String> {
    let at = instant(&ctx, &value)?;
    let zone = zone.0.unwrap_or_else(|| "UTC".into());
    let tz: chrono_tz::Tz = zone
        .parse()
        .map_err(|_| Exception::throw_type(&ctx, &format!("\"{zone}\" is not an IANA timezone")))?;
    let pattern = format.0.unwrap_or_else(|| "%Y-%m-%dT%H:%M:%S%:z".into());
    let mut out = Bounded::new(MAX_NATIVE_STRING_BYTES);
    let written = write!(
        out,
        "{}",
        at.with_timezone(&tz)
            .format_with_items(chrono::format::StrftimeItems::new(&pattern))
    );
    if out.overflowed {
        return Err(too_long(&ctx, "utils.formatDate"));
    }
    written.map_err(|_| {
        Exception::throw_type(&ctx, &format!("\"{pattern}\" is not a valid date format"))
    })?;
    Ok(out.text)
}

/// A string that refuses to grow past its limit (and remembers that it refused).
struct Bounded {
    text: String,
    max: usize,
    overflowed: bool,
}

impl Bounded {
    fn new(max: usize) -> Self {
        Self {
            text: String::new(),
            max,
            overflowed: false,
        }
    }
}

impl std::fmt::Write for Bounded {
    fn write_str(&mut self, piece: &str) -> std::fmt::Result {
        if self.text.len() + piece.len() > self.max {
            self.overflowed = true;
            return Err(std::fmt::Error);
        }
        self.text.push_str(piece);
        Ok(())
    }
}

fn too_long(ctx: &Ctx<'_>, helper: &str) -> rquickjs::Error {
    coded_error(
        ctx,
        "OUTPUT_LIMIT",
        &format!("{helper} would return more than {MAX_NATIVE_STRING_BYTES} bytes"),
    )
}

/// Replaces `{{ path.to.value }}` with the value at that path (empty when missing). The
/// result is at most `MAX_NATIVE_STRING_BYTES`: a placeholder repeated a thousand times over
/// a large value throws `OUTPUT_LIMIT` before the text is built.
fn template<'js>(ctx: Ctx<'js>, text: String, values: Opt<Value<'js>>) -> Result<String> {
    let values = values.0.filter(|v| v.is_object());
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find("{{") {
        push_within(&ctx, &mut out, &rest[..start])?;
        let Some(end) = rest[start + 2..].find("}}") else {
            push_within(&ctx, &mut out, &rest[start..])?;
            return Ok(out);
        };
        let path = rest[start + 2..start + 2 + end].trim();
        let mut current = values.clone();
        for part in path.split('.') {
            current =
                current.and_then(|v| v.as_object().and_then(|o| o.get::<_, Value>(part).ok()));
        }
        if let Some(value) = current.filter(|v| !v.is_undefined() && !v.is_null()) {
            let room = MAX_NATIVE_STRING_BYTES.saturating_sub(out.len());
            let (text, was_cut) = super::console::display(&ctx, &value, room)?;
            if was_cut {
                return Err(too_long(&ctx, "utils.template"));
            }
            out.push_str(&text);
        }
        rest = &rest[start + 2 + end + 2..];
    }
    push_within(&ctx, &mut out, rest)?;
    Ok(out)
}

fn push_within(ctx: &Ctx<'_>, out: &mut String, piece: &str) -> Result<()> {
    if out.len() + piece.len() > MAX_NATIVE_STRING_BYTES {
        return Err(too_long(ctx, "utils.template"));
    }
    out.push_str(piece);
    Ok(())
}

pub(crate) fn install<'js, H: ModuleHost + 'static>(install: &Install<'_, 'js, H>) -> Result<()> {
    let ctx = install.ctx;
    super::lazy_property(ctx, &ctx.globals(), "utils", false, |ctx| {
        let utils = Object::new(ctx.clone())?;
        utils.set("hash", Function::new(ctx.clone(), hash)?.with_name("hash")?)?;
        utils.set("hmac", Function::new(ctx.clone(), hmac)?.with_name("hmac")?)?;
        utils.set(
            "timingSafeEqual",
            Function::new(ctx.clone(), timing_safe_equal)?.with_name("timingSafeEqual")?,
        )?;
        utils.set(
            "formatDate",
            Function::new(ctx.clone(), format_date)?.with_name("formatDate")?,
        )?;
        utils.set(
            "template",
            Function::new(ctx.clone(), template)?.with_name("template")?,
        )?;
        Ok(utils.into_value())
    })
}
