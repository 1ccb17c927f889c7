//! The sandbox an execution runs in: a QuickJS runtime with its memory and stack limits and
//! no module loading, and a context with only the intrinsics scripts may use.

use super::meter::{Meter, Metered};
use rquickjs::loader::{Loader, Resolver};
use rquickjs::{Context, Ctx, Module, Runtime, context::intrinsic};
use std::rc::Rc;

/// Refuses every `import`, static or dynamic, with a message that says why.
struct NoImports;

impl Resolver for NoImports {
    fn resolve<'js>(
        &mut self,
        _: &Ctx<'js>,
        base: &str,
        name: &str,
        _: Option<rquickjs::loader::ImportAttributes<'js>>,
    ) -> rquickjs::Result<String> {
        Err(rquickjs::Error::new_resolving_message(
            base,
            name,
            "scripts cannot import modules; use the SDK globals",
        ))
    }
}

impl Loader for NoImports {
    fn load<'js>(
        &mut self,
        _: &Ctx<'js>,
        name: &str,
        _: Option<rquickjs::loader::ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js>> {
        Err(rquickjs::Error::new_loading_message(
            name,
            "scripts cannot import modules",
        ))
    }
}

/// Built with the context; the other standard classes are built on first use
/// (`deferred.rs`).
type Intrinsics = (
    intrinsic::RegExpCompiler,
    intrinsic::RegExp,
    intrinsic::Json,
    intrinsic::Proxy,
    intrinsic::Promise,
    intrinsic::Performance,
);
type IntrinsicsWithEval = (Intrinsics, intrinsic::Eval);

/// A runtime whose memory is metered against `memory_bytes` (`meter.rs`), with the meter.
pub(super) fn new_runtime(
    memory_bytes: u64,
    stack_bytes: usize,
) -> rquickjs::Result<(Runtime, Rc<Meter>)> {
    let meter = Meter::new(usize::try_from(memory_bytes).unwrap_or(usize::MAX));
    let runtime = Runtime::new_with_alloc(Metered::new(meter.clone()))?;
    runtime.set_max_stack_size(stack_bytes);
    runtime.set_loader(NoImports, NoImports);
    Ok((runtime, meter))
}

pub(super) fn new_context(runtime: &Runtime, allow_eval: bool) -> rquickjs::Result<Context> {
    let context = if allow_eval {
        Context::custom::<IntrinsicsWithEval>(runtime)
    } else {
        Context::custom::<Intrinsics>(runtime)
    }?;
    context.with(|ctx| super::deferred::install(&ctx))?;
    Ok(context)
}
