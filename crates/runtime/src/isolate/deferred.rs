//! Standard classes a context builds on first use: `Date`; `Map`, `Set`, `WeakMap` and
//! `WeakSet`; the typed arrays with `ArrayBuffer`, `DataView` and `Atomics`; `WeakRef` and
//! `FinalizationRegistry`. Most runs touch none of them, and building them is about 40% of
//! the time and a quarter of the memory of a fresh context.
//!
//! Each name starts as a non-enumerable, configurable accessor on `globalThis`. The first
//! read of any name of a group adds the whole group to the context, as QuickJS does when it
//! builds a full context, and the names become ordinary data properties. Assigning a name
//! before that replaces it with the assigned value, which the later loading of its group
//! keeps. A group is added at most once per context: adding it again would orphan the class
//! prototypes it holds, so a group whose loading failed (the memory limit) keeps throwing.
//!
//! Nothing in QuickJS reaches these classes except through their globals (the engine's own
//! `Object.groupBy` builds its map without a prototype and does not need them), and no
//! native of the SDK builds them.

use rquickjs::function::This;
use rquickjs::object::{Accessor, Property};
use rquickjs::{Ctx, Exception, Object, Result, Value, qjs};
use std::cell::Cell;
use std::rc::Rc;

type AddGroup = unsafe extern "C" fn(*mut qjs::JSContext) -> std::ffi::c_int;

struct Group {
    names: &'static [&'static str],
    add: AddGroup,
    /// Names the group defines as an object built on first read, which QuickJS does only
    /// where the name does not exist yet (it aborts the process otherwise).
    fresh: &'static [&'static str],
}

const GROUPS: [Group; 4] = [
    Group {
        names: &["Date"],
        add: qjs::JS_AddIntrinsicDate,
        fresh: &[],
    },
    Group {
        names: &["Map", "Set", "WeakMap", "WeakSet"],
        add: qjs::JS_AddIntrinsicMapSet,
        fresh: &[],
    },
    Group {
        names: &[
            "ArrayBuffer",
            "SharedArrayBuffer",
            "Uint8ClampedArray",
            "Int8Array",
            "Uint8Array",
            "Int16Array",
            "Uint16Array",
            "Int32Array",
            "Uint32Array",
            "BigInt64Array",
            "BigUint64Array",
            "Float16Array",
            "Float32Array",
            "Float64Array",
            "DataView",
            "Atomics",
        ],
        add: qjs::JS_AddIntrinsicTypedArrays,
        fresh: &["Atomics"],
    },
    Group {
        names: &["WeakRef", "FinalizationRegistry"],
        add: qjs::JS_AddIntrinsicWeakRef,
        fresh: &[],
    },
];

/// Where a group stands in one context.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Waiting,
    Loaded,
    Failed,
}

/// One context's groups, and the names its script assigned before their group was loaded.
struct State {
    stages: [Cell<Stage>; GROUPS.len()],
    /// Per group, a bit per name.
    assigned: [Cell<u32>; GROUPS.len()],
}

/// Defines every deferred name on the context's global object.
pub(super) fn install(ctx: &Ctx<'_>) -> Result<()> {
    let state = Rc::new(State {
        stages: std::array::from_fn(|_| Cell::new(Stage::Waiting)),
        assigned: std::array::from_fn(|_| Cell::new(0)),
    });
    for (group, entry) in GROUPS.iter().enumerate() {
        for slot in 0..entry.names.len() {
            define_accessor(ctx, &state, group, slot)?;
        }
    }
    Ok(())
}

/// The accessor that stands for a name until its group is built. It finds the global object
/// through the context, never through a captured value (that would be a cycle the collector
/// cannot see), nor through `this` (a script may call a saved getter on anything).
fn define_accessor<'js>(
    ctx: &Ctx<'js>,
    state: &Rc<State>,
    group: usize,
    slot: usize,
) -> Result<()> {
    let name = GROUPS[group].names[slot];
    let (read, write) = (state.clone(), state.clone());
    let get = move |ctx: Ctx<'js>| -> Result<Value<'js>> {
        match read.stages[group].get() {
            Stage::Waiting => {
                load(&ctx, &read, group)?;
                ctx.globals().get(name)
            }
            // Only a getter saved before the load, called again, gets here.
            Stage::Loaded => Ok(Value::new_undefined(ctx)),
            Stage::Failed => Err(unavailable(&ctx, name)),
        }
    };
    let set = move |ctx: Ctx<'js>, _: This<Value<'js>>, value: Value<'js>| -> Result<()> {
        let bits = &write.assigned[group];
        bits.set(bits.get() | 1 << slot);
        data_property(&ctx.globals(), name, value)
    };
    ctx.globals()
        .prop(name, Accessor::new(get, set).configurable())
}

fn data_property<'js>(globals: &Object<'js>, name: &str, value: Value<'js>) -> Result<()> {
    globals.prop(name, Property::from(value).writable().configurable())
}

fn unavailable(ctx: &Ctx<'_>, name: &str) -> rquickjs::Error {
    Exception::throw_internal(
        ctx,
        &format!("out of memory: {name} could not be built within the script's memory limit"),
    )
}

/// Adds `group` to the context, once, keeping the values the script assigned to its names.
fn load(ctx: &Ctx<'_>, state: &Rc<State>, group: usize) -> Result<()> {
    state.stages[group].set(Stage::Failed);
    let entry = &GROUPS[group];
    let globals = ctx.globals();
    let assigned = state.assigned[group].get();
    let mut kept = Vec::new();
    for (slot, &name) in entry.names.iter().enumerate() {
        if assigned & 1 << slot != 0 && globals.contains_key(name)? {
            kept.push((name, globals.get::<_, Value>(name)?));
        }
    }
    for name in entry.fresh {
        globals.remove(*name)?;
    }
    // SAFETY: `ctx` is a live context entered on this thread, and none of the group's
    // `fresh` names is defined on its global object; the stage above guarantees the group is added once,
    // as QuickJS's own context constructor adds it.
    #[allow(unsafe_code)]
    let added = unsafe { (entry.add)(ctx.as_raw().as_ptr()) };
    if added < 0 {
        // The engine's own error stands (at the limit it may not have had the memory to
        // build one). The names the build did not reach keep their accessors, which throw
        // from now on; the `fresh` ones get theirs back if there is room.
        for (slot, &name) in entry.names.iter().enumerate() {
            if !globals.contains_key(name).unwrap_or(true) {
                let _ = define_accessor(ctx, state, group, slot);
            }
        }
        return Err(rquickjs::Error::Exception);
    }
    for (name, value) in kept {
        data_property(&globals, name, value)?;
    }
    state.stages[group].set(Stage::Loaded);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::sandbox::{new_context, new_runtime};
    use rquickjs::{CatchResultExt, Coerced, Ctx};

    /// The value as a string, or what was thrown.
    fn eval(ctx: &Ctx<'_>, source: &str) -> Result<String, String> {
        ctx.eval::<Coerced<String>, _>(source)
            .catch(ctx)
            .map(|value| value.0)
            .map_err(|thrown| thrown.to_string())
    }

    #[test]
    fn a_group_that_failed_to_build_is_never_built_again() {
        let (runtime, _meter) = new_runtime(64 * 1024 * 1024, 512 * 1024).unwrap();
        let context = new_context(&runtime, true).unwrap();
        // Room for an error message, far from enough for the typed arrays.
        let used = runtime.memory_usage().malloc_size as usize;
        runtime.set_memory_limit(used + 4 * 1024);
        context.with(|ctx| {
            // What the engine throws at its limit may be only `null`: it may have no memory
            // left to build an error.
            assert!(eval(&ctx, "new Uint8Array(1)").is_err());
        });
        runtime.set_memory_limit(64 * 1024 * 1024);
        context.with(|ctx| {
            let again = eval(&ctx, "new Int8Array(1)").unwrap_err();
            assert!(
                again.contains("Int8Array could not be built within the script's memory limit"),
                "{again}"
            );
            assert_eq!(eval(&ctx, "new Map([[1, 2]]).get(1)").unwrap(), "2");
        });
        // Freeing the runtime checks that nothing the failed build made is left over.
        drop(context);
        drop(runtime);
    }

    #[test]
    fn every_group_builds_into_a_fresh_context_and_frees_with_it() {
        let (runtime, _meter) = new_runtime(64 * 1024 * 1024, 512 * 1024).unwrap();
        let context = new_context(&runtime, true).unwrap();
        context.with(|ctx| {
            for (group, entry) in super::GROUPS.iter().enumerate() {
                let name = entry.names[entry.names.len() - 1];
                let kind = eval(&ctx, &format!("typeof {name}")).unwrap();
                assert!(
                    kind == "function" || kind == "object",
                    "group {group}: {name} is {kind}"
                );
                for name in entry.names {
                    let descriptor = eval(
                        &ctx,
                        &format!(
                            "JSON.stringify(Object.getOwnPropertyDescriptor(globalThis, '{name}'))"
                        ),
                    )
                    .unwrap();
                    assert!(
                        descriptor
                            .contains(r#""writable":true,"enumerable":false,"configurable":true"#),
                        "{name}: {descriptor}"
                    );
                }
            }
        });
        drop(context);
        drop(runtime);
    }
}
