//! `crypto.randomUUID()`.

use super::{Install, ModuleHost};
use rquickjs::{Function, Object, Result};

pub(crate) fn install<'js, H: ModuleHost + 'static>(install: &Install<'_, 'js, H>) -> Result<()> {
    let ctx = install.ctx;
    super::lazy_property(ctx, &ctx.globals(), "crypto", false, |ctx| {
        let crypto = Object::new(ctx.clone())?;
        let random_uuid = Function::new(ctx.clone(), || uuid::Uuid::new_v4().to_string())?
            .with_name("randomUUID")?;
        crypto.set("randomUUID", random_uuid)?;
        Ok(crypto.into_value())
    })
}
