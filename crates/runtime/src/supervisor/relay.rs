//! The relay: what a worker's frames ask of the server. Reports are handed to their waiting
//! runs, and host calls are checked, charged and run in the scope the supervisor gave the run
//! that made them — never in one the worker names.

use super::handle::{RunEnd, WorkerHandle, lock};
use crate::budget::{BudgetConfig, Budgets};
use crate::compile::Compiled;
use crate::host::{HostError, HostErrorCode, HostPort};
use crate::job::Report;
use crate::protocol::{FromWorker, Layers, ToWorker};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Most host calls one execution may have outstanding at once.
const MAX_PENDING_CALLS: usize = 64;

/// The most distinct `module.method` names counted for one run.
const MAX_CALL_NAMES: usize = 64;

/// What every worker's relay shares: the host, where host calls run, and the budgets.
pub(crate) struct Relay {
    pub(crate) host: Arc<dyn HostPort>,
    pub(crate) handle: tokio::runtime::Handle,
    pub(crate) budgets: Arc<Budgets>,
    pub(crate) budget_config: BudgetConfig,
    /// Whether the locks the first worker reported have been logged.
    pub(crate) layers_logged: AtomicBool,
}

impl Relay {
    pub(super) fn note_layers(&self, layers: &Layers, locked: bool) {
        if self.layers_logged.swap(true, Ordering::AcqRel) {
            return;
        }
        if !locked {
            tracing::warn!(
                "sandbox workers run inside the server process (in-process mode, for tests and benchmarks only): scripts are not isolated"
            );
            return;
        }
        let missing = layers.missing();
        if missing.is_empty() {
            tracing::info!("sandbox workers locked down: memory cap, no-new-privileges, seccomp");
        }
        for (layer, why) in missing {
            tracing::warn!(
                layer,
                reason = why,
                "a sandbox layer is missing; carrying on with the others"
            );
        }
    }
}

impl WorkerHandle {
    pub(super) fn dispatch(self: &Arc<Self>, message: FromWorker, blob: Vec<u8>) {
        match message {
            FromWorker::Ready { layers } => {
                self.relay.note_layers(&layers, self.locked);
                let _ = self.layers.set(layers);
            }
            FromWorker::Call {
                run,
                call,
                module,
                method,
                args,
            } => self.relay_call(run, call, (module, method), args),
            FromWorker::Log { run, entry } => {
                let live = lock(&self.table)
                    .runs
                    .get(&run)
                    .and_then(|entry| entry.live.clone());
                if let Some(live) = live {
                    live.line(entry);
                }
            }
            FromWorker::Done {
                run,
                report,
                compiled,
            } => {
                let Some(entry) = lock(&self.table).runs.remove(&run) else {
                    return;
                };
                let mut report = Report {
                    outcome: report.outcome.into(),
                    logs: report.logs,
                    memory_bytes: report.memory_bytes,
                    started_at: report.started_at,
                    finished_at: report.finished_at,
                    sdk_calls: entry.calls,
                };
                self.relay.budgets.apply_log_budget(
                    entry.scope.script_id,
                    self.relay.budget_config.log,
                    &mut report.logs,
                );
                let compiled = compiled.map(|flags| Compiled::from_parts(blob, flags));
                let _ = entry.done.send(RunEnd::Done(report, compiled));
            }
            FromWorker::Compiled { id, result } => {
                if let Some(answer) = lock(&self.table).compiles.remove(&id) {
                    let _ = answer.send(result);
                }
            }
            FromWorker::Probed { id, attempts } => {
                if let Some(answer) = lock(&self.table).probes.remove(&id) {
                    let layers = self.layers.get().cloned().unwrap_or_default();
                    let _ = answer.send(Ok((layers, attempts)));
                }
            }
        }
    }

    /// Runs a host call of run `run` in the scope the supervisor gave that run.
    fn relay_call(
        self: &Arc<Self>,
        run: u64,
        call: u64,
        (module, method): (String, String),
        args: serde_json::Value,
    ) {
        let scope = {
            let mut table = lock(&self.table);
            let Some(entry) = table.runs.get_mut(&run) else {
                return;
            };
            let name = format!("{module}.{method}");
            // Counted by name, the names bounded: a script cannot grow the table at will.
            if entry.calls.len() < MAX_CALL_NAMES || entry.calls.contains_key(&name) {
                *entry.calls.entry(name).or_default() += 1;
            }
            let refused = if entry.pending_calls >= MAX_PENDING_CALLS {
                Some(HostError::new(
                    HostErrorCode::TooManyCalls,
                    format!("more than {MAX_PENDING_CALLS} SDK calls are pending at once"),
                ))
            } else {
                self.relay
                    .budgets
                    .charge_call(
                        entry.scope.script_id,
                        (&module, &method),
                        entry.http_limit,
                        &self.relay.budget_config,
                    )
                    .err()
                    .map(|message| HostError::new(HostErrorCode::RateLimit, message))
            };
            if let Some(refusal) = refused {
                drop(table);
                self.reply(run, call, Err(refusal));
                return;
            }
            entry.pending_calls += 1;
            entry.scope.clone()
        };
        let worker = self.clone();
        let host = self.relay.host.clone();
        self.relay.handle.spawn(async move {
            let result = host.call(scope, &module, &method, args).await;
            if let Some(entry) = lock(&worker.table).runs.get_mut(&run) {
                entry.pending_calls = entry.pending_calls.saturating_sub(1);
            }
            worker.reply(run, call, result);
        });
    }

    fn reply(&self, run: u64, call: u64, result: Result<serde_json::Value, HostError>) {
        let reply = ToWorker::Reply { run, call, result };
        if self.send(&reply, &[]).is_err() {
            // The reply may be too large for a frame: the script sees that instead.
            let result = Err(HostError::new(
                HostErrorCode::ResultTooLarge,
                "the result is too large to hand to the script",
            ));
            let _ = self.send(&ToWorker::Reply { run, call, result }, &[]);
        }
    }
}
