//! Carrying out a run: its record stored as it starts, with the records of other runs
//! starting then (`recorder.rs`) — or, for a run of an HTTP endpoint, only if it outlives
//! [`DEFER_RECORD`], else once at its end with the records of other runs ending then — the
//! engine run, and its final record.

use super::{
    ExecutionService, ExecutionServiceError, Finished, INTERRUPTED, RunRequest, Start, plain_error,
};
use domain::execution::{Execution, ExecutionError, ExecutionStatus, Outcome, TriggerKind};
use domain::repository::RepoError;
use domain::script::Script;
use runtime::{EngineError, Job, Reservation};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// A run of an HTTP endpoint still going after this long is stored as `running` (seen in the
/// history, cancellable); one that ends sooner is stored once, when it ends.
const DEFER_RECORD: Duration = Duration::from_millis(250);

/// A finished execution and the SDK calls its run made, by `module.method`.
pub(super) struct Ran {
    pub(super) execution: Execution,
    pub(super) sdk_calls: BTreeMap<String, u64>,
}

impl ExecutionService {
    /// Starts an execution (inserting it, or moving a queued one on; a run of an HTTP endpoint
    /// is stored only if it outlives [`DEFER_RECORD`]) and runs it to its end.
    pub(super) async fn carry_out(
        &self,
        start: Start,
        user: Option<domain::UserId>,
        script: &Script,
        request: RunRequest,
        reservation: Option<Reservation>,
    ) -> Result<Ran, ExecutionServiceError> {
        let Start {
            mut execution,
            stored,
            record,
        } = start;
        // Held from before its start is stored until its final record is (`lost.rs`).
        let Some(hold) = self.hold(execution.id) else {
            return Err(ExecutionServiceError::AlreadyStarted);
        };
        let _ = execution.start(self.clock.now());
        let live = (request.trigger.kind != TriggerKind::Http)
            .then_some(self.live.as_ref())
            .flatten();
        // However the run ends, its followers hear of it once its record is as final as it gets.
        let _finished = live.map(|hub| Finished(hub.clone(), execution.id));
        // A run of an endpoint usually ends within milliseconds: stored once, at its end.
        let deferred = record && !stored && request.trigger.kind == TriggerKind::Http;
        // A run that leaves no record (a test run of a script not saved yet) is never stored.
        let mut in_storage = record && !deferred;
        // Finishes the record if the caller stops waiting before it is final (`detached.rs`).
        let mut unrecorded = self.unrecorded(&execution, hold, record, in_storage);
        if !record {
        } else if stored {
            match self.executions.update(&execution).await {
                Ok(()) => {}
                Err(RepoError::Stale) => {
                    unrecorded.disarm();
                    return Err(ExecutionServiceError::AlreadyStarted);
                }
                Err(error) => {
                    unrecorded.disarm();
                    self.note_unsure_start(&execution, &error);
                    return Err(error.into());
                }
            }
        } else if !deferred {
            // Written with the other runs starting meanwhile: ten thousand starting at once
            // are a few hundred transactions, not a queue of ten thousand.
            if let Err(error) = self.recorder.record(execution.clone()).await {
                unrecorded.disarm();
                self.note_unsure_start(&execution, &error);
                return Err(error.into());
            }
        }
        let job = Job {
            execution_id: execution.id,
            tenant_id: script.tenant_id,
            script_id: script.id,
            // A test run's source is the editor's, not the version's: never cached.
            script_version: if request.trigger.kind == TriggerKind::Test {
                runtime::UNSAVED_VERSION
            } else {
                script.version
            },
            user_id: user,
            script_type: script.spec.script_type(),
            source: script.spec.source.as_str().into(),
            limits: script.spec.limits,
            input: request.input.clone(),
            argument: request.argument.unwrap_or(request.input),
            trigger: serde_json::to_value(&request.trigger).unwrap_or(Value::Null),
            event_depth: request.event_depth,
            live: live.map(|hub| hub.sink(execution.id)),
        };
        let run = async {
            match reservation {
                Some(reservation) => self.engine.run_reserved(job, reservation).await,
                None => self.engine.run(job).await,
            }
        };
        let ran = if deferred {
            tokio::pin!(run);
            tokio::select! {
                ran = &mut run => ran,
                () = tokio::time::sleep(DEFER_RECORD) => {
                    // A long run is stored as `running`: visible and cancellable meanwhile.
                    match self.executions.insert(&execution).await {
                        Ok(()) => {
                            in_storage = true;
                            unrecorded.in_storage = true;
                        }
                        Err(error) => {
                            self.note_unsure_start(&execution, &error);
                            tracing::warn!(execution = %execution.id, %error, "a long endpoint run could not be stored as running; it is stored when it ends");
                        }
                    }
                    run.await
                }
            }
        } else {
            run.await
        };
        let (outcome, logs, memory, sdk_calls) = match ran {
            Ok(report) => (
                report.outcome,
                report.logs,
                Some(report.memory_bytes as i64),
                report.sdk_calls,
            ),
            Err(EngineError::Limit(limit)) => {
                let error = plain_error("CONCURRENCY_LIMIT", limit.to_string());
                execution
                    .finish(Outcome::Failed(error), self.clock.now())
                    .ok();
                if record {
                    self.store_refused(execution, &mut unrecorded).await?;
                }
                return Err(ExecutionServiceError::Busy(limit));
            }
            Err(other) => {
                let error = plain_error("INTERNAL", "the script could not be started".into());
                execution
                    .finish(Outcome::Failed(error), self.clock.now())
                    .ok();
                if record {
                    self.store_refused(execution, &mut unrecorded).await?;
                }
                return Err(ExecutionServiceError::Engine(other));
            }
        };
        let outcome = self.interrupted(outcome);
        if stored && matches!(&outcome, Outcome::Failed(e) if e.code == INTERRUPTED) {
            unrecorded.disarm();
            return self.back_to_pending(execution).await.map(|execution| Ran {
                execution,
                sdk_calls,
            });
        }
        execution.logs = logs;
        execution.memory_bytes = memory;
        if execution.finish(outcome, self.clock.now()).is_err() {
            tracing::error!(execution = %execution.id, "execution finished twice");
        }
        // From here, a caller that stops waiting leaves the final record to be stored anyway.
        unrecorded.ended(&execution);
        let stored_end = if record {
            self.store_end(&execution, in_storage).await
        } else {
            Ok(())
        };
        let hold = unrecorded.disarm();
        match stored_end {
            Ok(()) => {}
            // Cancelled from storage while it ran (another node, or an orphan sweep): keep theirs.
            Err(RepoError::Stale) => {
                tracing::warn!(execution = %execution.id, "execution was finalised elsewhere")
            }
            // The database went away during the run: the caller is answered now.
            Err(RepoError::Unavailable(_)) => {
                self.store_when_back(execution.clone(), in_storage, hold)
            }
            Err(cause) => {
                match self
                    .record_unstorable(execution.clone(), cause, in_storage)
                    .await
                {
                    Ok(fallback) => execution = fallback,
                    // Not even the fallback could be stored: keep trying in the background, so
                    // that no run stays `running` while this node lives.
                    Err(_) => self.store_when_back(execution.clone(), in_storage, hold),
                }
            }
        }
        crate::metrics::execution_finished(&execution);
        tracing::info!(execution = %execution.id, status = %execution.status, duration_ms = execution.duration_ms, "execution finished");
        Ok(Ran {
            execution,
            sdk_calls,
        })
    }

    /// Stores the end of a run the engine refused; for want of the database, in the background.
    async fn store_refused(
        &self,
        execution: Execution,
        unrecorded: &mut super::detached::Unrecorded,
    ) -> Result<(), RepoError> {
        unrecorded.ended(&execution);
        let in_storage = unrecorded.in_storage;
        let stored = self.store_end(&execution, in_storage).await;
        let hold = unrecorded.disarm();
        match stored {
            Ok(()) | Err(RepoError::Stale) => Ok(()),
            Err(RepoError::Unavailable(_)) => {
                self.store_when_back(execution, in_storage, hold);
                Ok(())
            }
            Err(other) => Err(other),
        }
    }

    /// Stores the end of a run: an update of its record, or its first write (with others).
    async fn store_end(&self, execution: &Execution, in_storage: bool) -> Result<(), RepoError> {
        if in_storage {
            self.executions.update(execution).await
        } else {
            self.recorder.record(execution.clone()).await
        }
    }

    /// An execution whose record cannot be stored as it is still gets a final status: it is
    /// stored as `failed` with `RECORD_UNSTORABLE` and the cause, without its output and logs.
    async fn record_unstorable(
        &self,
        execution: Execution,
        cause: RepoError,
        in_storage: bool,
    ) -> Result<Execution, ExecutionServiceError> {
        tracing::error!(execution = %execution.id, error = %cause, "the execution's record cannot be stored; storing it as failed");
        let fallback = Execution {
            status: ExecutionStatus::Failed,
            output: None,
            logs: Vec::new(),
            error: Some(ExecutionError {
                code: "RECORD_UNSTORABLE".into(),
                message: format!(
                    "the execution ended as {} but its record could not be stored ({cause}); \
                     its output and logs are lost",
                    execution.status
                ),
                line: None,
                column: None,
                stack: None,
            }),
            ..execution
        };
        match self.store_end(&fallback, in_storage).await {
            Ok(()) | Err(RepoError::Stale) => Ok(fallback),
            Err(again) => Err(again.into()),
        }
    }
}
