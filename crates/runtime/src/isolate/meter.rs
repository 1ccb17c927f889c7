//! An execution's memory limit, kept by the allocator of its runtime: QuickJS's memory comes
//! from Rust's allocator through [`Metered`], which counts what is held, refuses what would
//! pass the limit, remembers that it refused, and keeps the peak the execution reports.
//!
//! QuickJS's own limit cannot say that it was reached. At the limit the engine often has no
//! memory left to build its "out of memory" error either, and throws `null` instead (every
//! common memory bomb ends so); without the meter such a run read as a script that threw
//! `null`. Counting here also charges a run for what it really holds — the engine's arenas,
//! partly empty ones included — rather than the sum of its objects.

use domain::execution::ExecutionError;
use rquickjs::allocator::{Allocator, RustAllocator};
use std::cell::Cell;
use std::rc::Rc;

/// What one runtime holds, against its limit.
pub(crate) struct Meter {
    limit: usize,
    held: Cell<usize>,
    peak: Cell<usize>,
    refused: Cell<bool>,
}

impl Meter {
    pub(crate) fn new(limit: usize) -> Rc<Self> {
        Rc::new(Self {
            limit,
            held: Cell::new(0),
            peak: Cell::new(0),
            refused: Cell::new(false),
        })
    }

    /// Whether `more` bytes fit; a refusal is remembered.
    fn admit(&self, more: usize) -> bool {
        let fits = self
            .held
            .get()
            .checked_add(more)
            .is_some_and(|total| total <= self.limit);
        if !fits {
            self.refused.set(true);
        }
        fits
    }

    fn add(&self, bytes: usize) {
        let held = self.held.get().saturating_add(bytes);
        self.held.set(held);
        self.peak.set(self.peak.get().max(held));
    }

    fn remove(&self, bytes: usize) {
        self.held.set(self.held.get().saturating_sub(bytes));
    }

    /// The most the runtime held at once: the execution's memory as reported.
    pub(crate) fn peak(&self) -> usize {
        self.peak.get()
    }

    /// Whether an allocation was refused for the limit.
    pub(crate) fn refused(&self) -> bool {
        self.refused.get()
    }

    /// `failure`, unless it is the `null` the engine throws when it has no memory left to
    /// build an error and the limit was reached: then it is the memory limit's.
    pub(crate) fn explain(&self, failure: ExecutionError) -> ExecutionError {
        if self.refused() && crate::errors::threw_null(&failure) {
            return crate::errors::error(
                "MEMORY_LIMIT",
                format!(
                    "the script ran out of memory (its limit is {} bytes)",
                    self.limit
                ),
            );
        }
        failure
    }
}

/// Rust's allocator, metered.
pub(crate) struct Metered {
    meter: Rc<Meter>,
}

impl Metered {
    pub(crate) fn new(meter: Rc<Meter>) -> Self {
        Self { meter }
    }
}

/// The size [`RustAllocator`] reserves for a request (it rounds up to 8 bytes).
fn rounded(size: usize) -> usize {
    size.div_ceil(8).saturating_mul(8)
}

// SAFETY: every block comes from `RustAllocator` and goes back to it; the meter only counts
// and refuses (a refusal is a null pointer, which QuickJS expects from any allocator).
#[allow(unsafe_code)]
unsafe impl Allocator for Metered {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        if !self.meter.admit(rounded(size)) {
            return std::ptr::null_mut();
        }
        let block = RustAllocator.alloc(size);
        if !block.is_null() {
            // SAFETY: `block` was just allocated by `RustAllocator`.
            self.meter.add(unsafe { RustAllocator::usable_size(block) });
        }
        block
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        let Some(total) = count.checked_mul(size) else {
            return std::ptr::null_mut();
        };
        if !self.meter.admit(rounded(total)) {
            return std::ptr::null_mut();
        }
        let block = RustAllocator.calloc(count, size);
        if !block.is_null() {
            // SAFETY: `block` was just allocated by `RustAllocator`.
            self.meter.add(unsafe { RustAllocator::usable_size(block) });
        }
        block
    }

    unsafe fn dealloc(&mut self, block: *mut u8) {
        // SAFETY: the caller hands back a block of this allocator, which took it from
        // `RustAllocator`.
        unsafe {
            self.meter.remove(RustAllocator::usable_size(block));
            RustAllocator.dealloc(block);
        }
    }

    unsafe fn realloc(&mut self, block: *mut u8, new_size: usize) -> *mut u8 {
        if block.is_null() {
            return self.alloc(new_size);
        }
        // SAFETY: as in `dealloc`.
        let old = unsafe { RustAllocator::usable_size(block) };
        let new = rounded(new_size);
        if new > old && !self.meter.admit(new - old) {
            return std::ptr::null_mut();
        }
        // SAFETY: as in `dealloc`; on failure the old block stays, and stays counted.
        let moved = unsafe { RustAllocator.realloc(block, new_size) };
        if !moved.is_null() {
            self.meter.remove(old);
            // SAFETY: `moved` was just allocated by `RustAllocator`.
            self.meter.add(unsafe { RustAllocator::usable_size(moved) });
        }
        moved
    }

    unsafe fn usable_size(block: *mut u8) -> usize {
        // SAFETY: as in `dealloc`.
        unsafe { RustAllocator::usable_size(block) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meter_counts_refuses_past_the_limit_and_remembers() {
        let meter = Meter::new(4096);
        let mut allocator = Metered::new(meter.clone());
        let first = allocator.alloc(1000);
        assert!(!first.is_null());
        assert_eq!(meter.held.get(), 1000);
        assert!(!meter.refused());
        assert!(allocator.alloc(4000).is_null());
        assert!(meter.refused());
        #[allow(unsafe_code)]
        // SAFETY: `first` came from this allocator; each block is handed back once.
        unsafe {
            let grown = allocator.realloc(first, 3000);
            assert!(!grown.is_null());
            assert_eq!(meter.held.get(), 3000);
            assert!(allocator.realloc(grown, 5000).is_null(), "past the limit");
            assert_eq!(meter.held.get(), 3000, "the old block stays counted");
            allocator.dealloc(grown);
        }
        assert_eq!((meter.held.get(), meter.peak()), (0, 3000));
    }

    /// What a fresh runtime and sandbox context hold once a short script has run: what every
    /// execution pays before its own data, and what 10,000 executions in flight pay 10,000
    /// times. QuickJS as published (4 KiB arenas, `vendor/rquickjs-sys/PATCHES.md`) holds
    /// about 160 KiB here, and 1 KiB arenas about 97 KiB.
    #[test]
    fn a_fresh_sandbox_holds_little_memory() {
        let (runtime, meter) = super::super::sandbox::new_runtime(64 << 20, 512 << 10).unwrap();
        // `eval` on: this test compiles its script in place (executions load bytecode).
        let context = super::super::sandbox::new_context(&runtime, true).unwrap();
        context.with(|ctx| {
            let source = "const kept = [1, 2, 3].map((n) => ({ n, label: 'item ' + n })); \
                          JSON.stringify(kept)";
            let compiled = rquickjs::Module::declare(ctx.clone(), "probe", source).unwrap();
            let (_module, done) = compiled.eval().unwrap();
            done.finish::<()>().unwrap();
        });
        runtime.run_gc();
        let held = meter.held.get();
        assert!(held < 120 * 1024, "a fresh sandbox holds {held} bytes");
        assert!(
            held > 32 * 1024,
            "{held} bytes: the meter missed the context"
        );
    }
}
