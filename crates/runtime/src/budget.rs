//! Per-minute call budgets per script and SDK module (`http`, `db`, `cache`, `log`, `events`),
//! shared by every execution of the script in this process. A fixed one-minute window.

use crate::clock::Clock;
use domain::ScriptId;
use domain::execution::{LogEntry, LogLevel};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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
    clock: Arc<dyn Clock>,
    origin: Instant,
    /// (script, module) → (minute window, calls in it).
    used: Mutex<HashMap<(ScriptId, &'static str), Window>>,
}

impl Budgets {
    pub(crate) fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            origin: clock.now(),
            clock,
            used: Mutex::default(),
        }
    }

    fn window(&self) -> u64 {
        self.clock
            .now()
            .saturating_duration_since(self.origin)
            .as_secs()
            / 60
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

/// Which calls count against a budget, and which budget.
fn budget_of(module: &str, method: &str) -> Option<&'static str> {
    match (module, method) {
        ("http", _) => Some("http"),
        ("db", "query" | "queryOne" | "execute") => Some("db"),
        ("cache", _) => Some("cache"),
        ("events", _) => Some("events"),
        _ => None,
    }
}

impl Budgets {
    /// Counts a host call of `script` against its module's budget (`http_limit` is the
    /// script's `maxApiCallsPerMinute`); the message says which budget is used up.
    pub(crate) fn charge_call(
        &self,
        script: ScriptId,
        (module, method): (&str, &str),
        http_limit: u64,
        config: &BudgetConfig,
    ) -> Result<(), String> {
        let Some(budget) = budget_of(module, method) else {
            return Ok(());
        };
        let limit = match budget {
            "http" => http_limit,
            "db" => config.db,
            "cache" => config.cache,
            _ => config.events,
        };
        if self.charge(script, budget, limit) {
            Ok(())
        } else {
            Err(format!(
                "the script used its budget of {limit} {budget} calls this minute"
            ))
        }
    }

    /// Keeps the log lines of an execution that fit the script's per-minute log budget; past
    /// it, lines are dropped, with one warning in their place.
    pub(crate) fn apply_log_budget(&self, script: ScriptId, limit: u64, logs: &mut Vec<LogEntry>) {
        let mut dropped = false;
        let mut kept = Vec::with_capacity(logs.len());
        for entry in logs.drain(..) {
            if self.charge(script, "log", limit) {
                kept.push(entry);
            } else if !dropped {
                dropped = true;
                kept.push(LogEntry {
                    level: LogLevel::Warn,
                    message: format!(
                        "log budget of {limit} lines per minute used up; further lines are dropped"
                    ),
                    metadata: serde_json::Value::Null,
                    ts: entry.ts,
                });
            }
        }
        *logs = kept;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clock that moves only when told to.
    struct ManualClock(Mutex<Instant>);

    impl Clock for ManualClock {
        fn now(&self) -> Instant {
            *self.0.lock().unwrap()
        }
    }

    #[test]
    fn budgets_start_afresh_each_minute() {
        let clock = Arc::new(ManualClock(Mutex::new(Instant::now())));
        let budgets = Budgets::new(clock.clone());
        let script = ScriptId::new();
        assert!((0..2).all(|_| budgets.charge(script, "db", 2)));
        assert!(!budgets.charge(script, "db", 2));
        *clock.0.lock().unwrap() += std::time::Duration::from_secs(59);
        assert!(!budgets.charge(script, "db", 2), "still the same minute");
        *clock.0.lock().unwrap() += std::time::Duration::from_secs(2);
        assert!(
            budgets.charge(script, "db", 2),
            "a new minute, a new budget"
        );
    }

    #[test]
    fn budgets_cut_in_at_the_limit_per_script_and_module() {
        let budgets = Budgets::new(Arc::new(crate::clock::SystemClock));
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
