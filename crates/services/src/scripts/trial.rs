//! `ScriptService::test_run` and `test_unsaved`: the editor's fields, checked as a save checks
//! them, run in the sandbox as a test run (of the stored script, recorded; or of a script not
//! saved yet, not recorded); nothing of the script is written.

use super::{ScriptError, ScriptService};
use crate::executions::TestReport;
use domain::script::{Script, ScriptInput};
use domain::{Actor, Permission, ScriptId};
use serde_json::Value;

impl ScriptService {
    /// Runs script `id` as `input` describes it (the unsaved fields of the editor) with
    /// `run_input`: the fields are refused as a save would refuse them, then the run is
    /// recorded under the script with trigger `test`. It needs the rights to edit and to run.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id, script = %id))]
    pub async fn test_run(
        &self,
        actor: &Actor,
        id: ScriptId,
        input: &ScriptInput,
        run_input: Value,
    ) -> Result<TestReport, ScriptError> {
        actor.require(Permission::ScriptsUpdate)?;
        actor.require(Permission::ScriptsExecute)?;
        let mut script = self
            .scripts
            .get(actor.tenant_id, id)
            .await?
            .ok_or(ScriptError::NotFound)?;
        let spec = self.parse_input(actor, input).await?;
        self.executions.check_source(actor.tenant_id, &spec).await?;
        script.spec = spec;
        Ok(self.executions.test_run(actor, &script, run_input).await?)
    }

    /// Runs a script not saved yet, as `input` describes it, with `run_input`: refused as
    /// creating it would be refused, then run in the sandbox with trigger `test`, leaving no
    /// record (there is no script to file it under). It needs the rights to create and to run.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id))]
    pub async fn test_unsaved(
        &self,
        actor: &Actor,
        input: &ScriptInput,
        run_input: Value,
    ) -> Result<TestReport, ScriptError> {
        actor.require(Permission::ScriptsCreate)?;
        actor.require(Permission::ScriptsExecute)?;
        let spec = self.parse_input(actor, input).await?;
        self.executions.check_source(actor.tenant_id, &spec).await?;
        let script = Script::create(actor.tenant_id, spec, actor.user_id, self.clock.now());
        Ok(self
            .executions
            .test_unsaved(actor, &script, run_input)
            .await?)
    }
}
