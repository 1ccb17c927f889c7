//! `URL`, `URLSearchParams`, `TextEncoder` and `TextDecoder`: written in JavaScript over small
//! natives, compiled once per process, and loaded into an execution only when the script first
//! touches one of them, so that scripts which do not use them pay nothing.

use super::encoding;
use super::{Install, ModuleHost};
use crate::compile::compile_internal;
use rquickjs::function::Opt;
use rquickjs::{Ctx, Exception, Function, Module, Object, Result, Value};
use std::sync::OnceLock;

const POLYFILL: &str = include_str!("lazy.js");
const NAMES: [&str; 4] = ["URL", "URLSearchParams", "TextEncoder", "TextDecoder"];

fn polyfill_bytecode() -> &'static std::result::Result<Vec<u8>, String> {
    static BYTECODE: OnceLock<std::result::Result<Vec<u8>, String>> = OnceLock::new();
    BYTECODE.get_or_init(|| compile_internal("iota:standard", POLYFILL).map_err(|e| e.message))
}

fn url_parts<'js>(ctx: &Ctx<'js>, url: &url::Url) -> Result<Object<'js>> {
    let parts = Object::new(ctx.clone())?;
    let search = match url.query() {
        Some(q) if !q.is_empty() => format!("?{q}"),
        _ => String::new(),
    };
    let hash = match url.fragment() {
        Some(f) if !f.is_empty() => format!("#{f}"),
        _ => String::new(),
    };
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => String::new(),
    };
    parts.set("href", url.as_str())?;
    parts.set("protocol", format!("{}:", url.scheme()))?;
    parts.set("username", url.username())?;
    parts.set("password", url.password().unwrap_or(""))?;
    parts.set("host", host)?;
    parts.set("hostname", url.host_str().unwrap_or(""))?;
    parts.set(
        "port",
        url.port().map(|p| p.to_string()).unwrap_or_default(),
    )?;
    parts.set("pathname", url.path())?;
    parts.set("search", search)?;
    parts.set("hash", hash)?;
    parts.set("origin", url.origin().ascii_serialization())?;
    Ok(parts)
}

fn parse_url<'js>(ctx: &Ctx<'js>, href: &str, base: Option<&str>) -> Result<url::Url> {
    let parsed = match base {
        Some(base) => url::Url::parse(base).and_then(|base| base.join(href)),
        None => url::Url::parse(href),
    };
    parsed.map_err(|_| Exception::throw_type(ctx, &format!("Invalid URL: {href}")))
}

fn natives<'js>(ctx: &Ctx<'js>) -> Result<Object<'js>> {
    let natives = Object::new(ctx.clone())?;
    let parse = |ctx: Ctx<'js>, href: String, base: Opt<String>| -> Result<Object<'js>> {
        let url = parse_url(&ctx, &href, base.0.as_deref())?;
        url_parts(&ctx, &url)
    };
    natives.set("urlParse", Function::new(ctx.clone(), parse)?)?;
    let set = |ctx: Ctx<'js>, href: String, part: String, value: String| -> Result<Object<'js>> {
        let mut url = parse_url(&ctx, &href, None)?;
        let trimmed = |v: &str, prefix: char| v.strip_prefix(prefix).unwrap_or(v).to_owned();
        // Setters that the URL standard makes silent no-ops on bad input stay silent here too.
        let _ = match part.as_str() {
            "protocol" => url.set_scheme(value.trim_end_matches(':')),
            "username" => url.set_username(&value),
            "password" => {
                url.set_password(Some(&value).filter(|v| !v.is_empty()).map(String::as_str))
            }
            "host" | "hostname" => url.set_host(Some(&value)).map_err(|_| ()),
            "port" => url.set_port(value.parse().ok()),
            "pathname" => {
                url.set_path(&value);
                Ok(())
            }
            "search" => {
                let query = trimmed(&value, '?');
                url.set_query(Some(&query).filter(|q| !q.is_empty()).map(String::as_str));
                Ok(())
            }
            "hash" => {
                let fragment = trimmed(&value, '#');
                url.set_fragment(
                    Some(&fragment)
                        .filter(|f| !f.is_empty())
                        .map(String::as_str),
                );
                Ok(())
            }
            _ => Ok(()),
        };
        url_parts(&ctx, &url)
    };
    natives.set("urlSet", Function::new(ctx.clone(), set)?)?;
    encoding::natives(ctx, &natives)?;
    Ok(natives)
}

/// Loads the polyfill and replaces the lazy accessors with its classes.
fn load<'js>(ctx: &Ctx<'js>) -> Result<Object<'js>> {
    let bytecode = polyfill_bytecode()
        .as_ref()
        .map_err(|e| Exception::throw_internal(ctx, e))?;
    let globals = ctx.globals();
    globals.set("__iota_native", natives(ctx)?)?;
    // SAFETY: the bytecode was produced by `compile` in this process from a constant source,
    // with the same engine build; QuickJS only trusts bytecode it wrote itself.
    #[allow(unsafe_code)]
    let module = unsafe { Module::load(ctx.clone(), bytecode)? };
    let (module, promise) = module.eval()?;
    promise.finish::<()>()?;
    let namespace = module.namespace()?;
    for name in NAMES {
        let class: Value = namespace.get(name)?;
        globals.prop(
            name,
            rquickjs::object::Property::from(class)
                .writable()
                .configurable(),
        )?;
    }
    Ok(globals)
}

pub(crate) fn install<'js, H: ModuleHost + 'static>(install: &Install<'_, 'js, H>) -> Result<()> {
    let ctx = install.ctx;
    for name in NAMES {
        super::lazy_property(ctx, &ctx.globals(), name, false, move |ctx| {
            load(ctx)?.get(name)
        })?;
    }
    Ok(())
}
