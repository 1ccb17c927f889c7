//! Per-minute call budgets per script and SDK module (`http`, `db`, `cache`, `log`, `events`),
//! shared by every execution of the script in this process. A fixed one-minute window.

use domain::ScriptId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// The operator's budgets; `http` comes from each script's `maxApiCallsPerMinute`.
#[derive(Clone, Debug)]
pub struct BudgetConfig {
    pub db: u64,
    pub cache: u64,
    pub log: u64,
    pub events: u64,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            db: 60,
            cache: 120,
            log: 100,
            events: 30,
        }
    }
}

type Window = (u64, u64);

pub(crate) struct Budgets {
    origin: Instant,
    /// (script, module) → (minute window, calls in it).
    used: Mutex<HashMap<(ScriptId, &'static str), Window>>,
}

impl Budgets {
    pub(crate) fn new() -> Self {
        Self {
            origin: Instant::now(),
            used: Mutex::default(),
        }
    }

    fn window(&self) -> u64 {
        self.origin.elapsed().as_secs() / 60
    }

    /// Counts one call; `false` when the script has used its `limit` for this minute.
    pub(crate) fn charge(&self, script: ScriptId, module: &'static str, limit: u64) -> bool {
        let window = self.window();
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        if used.len() > 100_000 {
            used.retain(|_, (w, _)| *w == window);
        }
        let entry = used.entry((script, module)).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 >= limit {
            return false;
        }
        entry.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_cut_in_at_the_limit_per_script_and_module() {
        let budgets = Budgets::new();
        let (a, b) = (ScriptId::new(), ScriptId::new());
        assert!((0..3).all(|_| budgets.charge(a, "db", 3)));
        assert!(!budgets.charge(a, "db", 3));
        assert!(
            budgets.charge(a, "cache", 3),
            "another module has its own budget"
        );
        assert!(
            budgets.charge(b, "db", 3),
            "another script has its own budget"
        );
    }
}
