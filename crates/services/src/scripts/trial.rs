//! `ScriptService::test_run`: the editor's fields, checked as a save checks them, run in the
//! sandbox as a test run of the stored script; nothing of the script is written.

use super::{ScriptError, ScriptService};
use crate::executions::TestReport;
use domain::script::ScriptInput;
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
}
