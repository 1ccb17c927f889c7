//! Test runs: a script as edited but not saved, run in the real sandbox under its limits and
//! recorded as an execution with trigger `test`; no version is written.

use super::{ExecutionService, ExecutionServiceError, RunRequest};
use domain::execution::{Execution, Trigger, TriggerDetails, TriggerKind};
use domain::script::{ResourceLimits, Script};
use domain::{Actor, Permission};
use serde_json::Value;
use std::collections::BTreeMap;

/// What a test run shows: its execution (output, logs, duration, peak memory), the limits it
/// ran under and the SDK calls it made, by `module.method`.
#[derive(Clone, Debug)]
pub struct TestReport {
    pub execution: Execution,
    pub limits: ResourceLimits,
    pub sdk_calls: BTreeMap<String, u64>,
    /// Whether the run is in the history (not when the script is not saved yet).
    pub recorded: bool,
}

impl TestReport {
    /// Every SDK call of the run, whatever its module.
    pub fn total_sdk_calls(&self) -> u64 {
        self.sdk_calls.values().sum()
    }
}

impl ExecutionService {
    /// Runs `script` (a stored script whose spec holds the edited, unsaved fields) with
    /// `input` as a test run of `actor`: the run and its record are those of any run by hand,
    /// but its trigger is `test` and its source is never cached as the version's.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id, script = %script.id))]
    pub async fn test_run(
        &self,
        actor: &Actor,
        script: &Script,
        input: Value,
    ) -> Result<TestReport, ExecutionServiceError> {
        self.trial(actor, script, input, true).await
    }

    /// Runs `script`, not saved yet, with `input` as a test run of `actor` that leaves no
    /// record: there is no script to file it under.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id))]
    pub async fn test_unsaved(
        &self,
        actor: &Actor,
        script: &Script,
        input: Value,
    ) -> Result<TestReport, ExecutionServiceError> {
        self.trial(actor, script, input, false).await
    }

    async fn trial(
        &self,
        actor: &Actor,
        script: &Script,
        input: Value,
        record: bool,
    ) -> Result<TestReport, ExecutionServiceError> {
        actor.require(Permission::ScriptsExecute)?;
        let request = RunRequest {
            trigger: Trigger {
                kind: TriggerKind::Test,
                details: TriggerDetails {
                    user_id: actor.user_id,
                    ..TriggerDetails::default()
                },
            },
            input,
            argument: None,
            attempt: 1,
            event_depth: 0,
        };
        let ran = self
            .run_script(actor.user_id, script, request, None, record)
            .await?;
        Ok(TestReport {
            execution: ran.execution,
            limits: script.spec.limits,
            sdk_calls: ran.sdk_calls,
            recorded: record,
        })
    }
}
