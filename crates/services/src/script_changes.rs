//! `ScriptChanges`: the tenants whose scripts this node changed, so that what is kept in memory
//! about them (the HTTP route table) is reloaded before its next use, not a second later.

use domain::TenantId;
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct ScriptChanges {
    generation: AtomicU64,
    tenants: Mutex<HashSet<TenantId>>,
}

impl ScriptChanges {
    /// Records that a script of `tenant` was written or deleted (after the write committed).
    pub fn changed(&self, tenant: TenantId) {
        self.lock().insert(tenant);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// A number that moves whenever `changed` is called.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The tenants changed since the last call. Read `generation` first: a change recorded in
    /// between moves it again, so it is never lost.
    pub fn take(&self) -> HashSet<TenantId> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<TenantId>> {
        self.tenants
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_taken_once_and_move_the_generation() {
        let changes = ScriptChanges::default();
        let (a, b) = (TenantId::new(), TenantId::new());
        let start = changes.generation();
        changes.changed(a);
        changes.changed(b);
        changes.changed(a);
        assert_eq!(changes.generation(), start + 3);
        assert_eq!(changes.take(), HashSet::from([a, b]));
        assert!(changes.take().is_empty());
    }
}
