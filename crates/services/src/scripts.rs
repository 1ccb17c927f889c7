//! `ScriptService`: create, read, list, update, delete scripts; list and restore versions.
//!
//! Each change of a script writes a new immutable version in the same transaction as the
//! script itself. A script of another tenant is "not found", never "forbidden".

use crate::clock::Clock;
use crate::executions::{ExecutionService, RunRequest};
use crate::script_changes::ScriptChanges;
use domain::ExecutionId;
use domain::actor::Forbidden;
use domain::execution::{
    ExecutionError, ExecutionStatus, LogEntry, Trigger, TriggerDetails, TriggerKind,
};
use domain::paging::{Page, PageRequest, ScriptFilter};
use domain::repository::ScriptRepository;
use domain::script::{
    Script, ScriptInput, ScriptRules, ScriptSpec, ScriptType, ScriptVersion, Source,
    change_summary, find_entry_point,
};
use domain::{Actor, Permission, ScriptId, ValidationErrors};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

mod bulk;
mod trial;

pub use crate::script_errors::ScriptError;
pub use bulk::{BulkAction, MAX_BULK};

/// A whole-script replacement, with an optional note for the version it writes.
#[derive(Clone, Debug, Default)]
pub struct UpdateScript {
    pub input: ScriptInput,
    pub change_summary: Option<String>,
}

pub struct ScriptService {
    scripts: Arc<dyn ScriptRepository>,
    rules: ScriptRules,
    pub(crate) clock: Arc<dyn Clock>,
    executions: Arc<ExecutionService>,
    changes: Arc<ScriptChanges>,
}

/// What host code gets back from `ScriptService::execute`: the typed result or the script's
/// error, with the execution's id, status and logs.
#[derive(Debug)]
pub struct ExecutionOutcome<O> {
    pub execution_id: ExecutionId,
    pub status: ExecutionStatus,
    pub result: Result<O, ExecutionError>,
    pub logs: Vec<LogEntry>,
    pub duration_ms: Option<i64>,
}

const MAX_SUMMARY_CHARS: usize = 500;

impl ScriptService {
    pub fn new(
        scripts: Arc<dyn ScriptRepository>,
        rules: ScriptRules,
        clock: Arc<dyn Clock>,
        executions: Arc<ExecutionService>,
    ) -> Self {
        Self {
            scripts,
            rules,
            clock,
            executions,
            changes: Arc::default(),
        }
    }

    /// The tenants whose scripts this service changed, for what keeps them in memory.
    pub fn changes(&self) -> Arc<ScriptChanges> {
        self.changes.clone()
    }

    /// Runs a script for host Rust code with typed input and output, under the script's
    /// limits, recorded in its history like every other run (trigger `embedded`).
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id, script = %id))]
    pub async fn execute<I: Serialize, O: DeserializeOwned>(
        &self,
        actor: &Actor,
        id: ScriptId,
        input: &I,
    ) -> Result<ExecutionOutcome<O>, ScriptError> {
        let input = serde_json::to_value(input).map_err(|e| {
            ValidationErrors::single("input", format!("cannot be represented as JSON: {e}"))
        })?;
        let trigger = Trigger {
            kind: TriggerKind::Embedded,
            details: TriggerDetails {
                user_id: actor.user_id,
                ..TriggerDetails::default()
            },
        };
        let request = RunRequest {
            trigger,
            input,
            argument: None,
            attempt: 1,
            event_depth: 0,
        };
        let execution = self
            .executions
            .run(actor, id, request)
            .await
            .map_err(ScriptError::from)?;
        let failure = |code: String, message: String| ExecutionError {
            code,
            message,
            line: None,
            column: None,
            stack: None,
        };
        let result = match (&execution.output, &execution.error) {
            (_, Some(error)) => Err(error.clone()),
            (Some(output), None) => serde_json::from_value(output.clone()).map_err(|e| {
                failure(
                    "OUTPUT_TYPE".into(),
                    format!("the script's output does not have the expected shape: {e}"),
                )
            }),
            (None, None) => Err(failure(
                execution.status.as_str().to_uppercase(),
                format!("the execution ended {}", execution.status),
            )),
        };
        Ok(ExecutionOutcome {
            execution_id: execution.id,
            status: execution.status,
            result,
            logs: execution.logs,
            duration_ms: execution.duration_ms,
        })
    }

    /// The history and control of runs, for callers that hold a `ScriptService`.
    pub fn executions(&self) -> &ExecutionService {
        &self.executions
    }

    pub fn rules(&self) -> &ScriptRules {
        &self.rules
    }

    /// HTTP endpoints are published routes: touching one needs `scripts.manage_endpoints` too.
    fn check_endpoint_permission(actor: &Actor, specs: &[&ScriptSpec]) -> Result<(), Forbidden> {
        if specs
            .iter()
            .any(|spec| spec.script_type() == ScriptType::Http)
        {
            actor.require(Permission::ScriptsManageEndpoints)?;
        }
        Ok(())
    }

    fn version_of(script: &Script, summary: String) -> ScriptVersion {
        ScriptVersion {
            script_id: script.id,
            tenant_id: script.tenant_id,
            version: script.version,
            spec: script.spec.clone(),
            created_at: script.updated_at,
            created_by: script.updated_by,
            change_summary: summary,
        }
    }

    /// Parses a script's input. When the source's only fault is a missing entry point, a syntax
    /// error in it is the author's real problem, so it is reported instead.
    async fn parse_input(
        &self,
        actor: &Actor,
        input: &ScriptInput,
    ) -> Result<ScriptSpec, ValidationErrors> {
        let mut errors = match self.rules.parse(input) {
            Ok(spec) => return Ok(spec),
            Err(errors) => errors,
        };
        let script_type = input
            .script_type
            .trim()
            .parse()
            .unwrap_or(ScriptType::OneOff);
        let only_the_entry = find_entry_point(&input.source, script_type).is_err()
            && Source::parse(&input.source, self.rules.max_source_bytes).is_ok();
        if only_the_entry
            && let Err(syntax) = self
                .executions
                .check_text(actor.tenant_id, &input.source, script_type)
                .await
        {
            errors.replace("source", syntax);
        }
        Err(errors)
    }

    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id))]
    pub async fn create(&self, actor: &Actor, input: &ScriptInput) -> Result<Script, ScriptError> {
        actor.require(Permission::ScriptsCreate)?;
        let spec = self.parse_input(actor, input).await?;
        self.executions.check_source(actor.tenant_id, &spec).await?;
        Self::check_endpoint_permission(actor, &[&spec])?;
        let script = Script::create(actor.tenant_id, spec, actor.user_id, self.clock.now());
        let version = Self::version_of(&script, change_summary(None, &script.spec));
        self.scripts.create(&script, &version).await?;
        self.changes.changed(script.tenant_id);
        tracing::info!(script = %script.id, "script created");
        Ok(script)
    }

    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id, script = %id))]
    pub async fn get(&self, actor: &Actor, id: ScriptId) -> Result<Script, ScriptError> {
        actor.require(Permission::ScriptsRead)?;
        self.scripts
            .get(actor.tenant_id, id)
            .await?
            .ok_or(ScriptError::NotFound)
    }

    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id))]
    pub async fn list(
        &self,
        actor: &Actor,
        filter: &ScriptFilter,
        page: PageRequest,
    ) -> Result<Page<Script>, ScriptError> {
        actor.require(Permission::ScriptsRead)?;
        if filter
            .search
            .as_ref()
            .is_some_and(|s| s.chars().count() > ScriptFilter::MAX_SEARCH_CHARS)
        {
            let message = format!(
                "must be at most {} characters",
                ScriptFilter::MAX_SEARCH_CHARS
            );
            return Err(ValidationErrors::single("search", message).into());
        }
        Ok(self.scripts.list(actor.tenant_id, filter, page).await?)
    }

    /// Replaces the whole script; writes a new version when anything changed.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id, script = %id))]
    pub async fn update(
        &self,
        actor: &Actor,
        id: ScriptId,
        command: &UpdateScript,
    ) -> Result<Script, ScriptError> {
        actor.require(Permission::ScriptsUpdate)?;
        let parsed = self.parse_input(actor, &command.input).await;
        let mut errors = parsed.as_ref().err().cloned().unwrap_or_default();
        if command
            .change_summary
            .as_ref()
            .is_some_and(|s| s.chars().count() > MAX_SUMMARY_CHARS)
        {
            errors.add(
                "changeSummary",
                format!("must be at most {MAX_SUMMARY_CHARS} characters"),
            );
        }
        errors.into_result()?;
        let spec = parsed?;
        self.executions.check_source(actor.tenant_id, &spec).await?;
        let summary = command
            .change_summary
            .clone()
            .filter(|s| !s.trim().is_empty());
        self.revise(actor, id, spec, summary).await
    }

    async fn revise(
        &self,
        actor: &Actor,
        id: ScriptId,
        spec: ScriptSpec,
        summary: Option<String>,
    ) -> Result<Script, ScriptError> {
        let mut script = self
            .scripts
            .get(actor.tenant_id, id)
            .await?
            .ok_or(ScriptError::NotFound)?;
        Self::check_endpoint_permission(actor, &[&script.spec, &spec])?;
        let before = script.spec.clone();
        let expected_version = script.version;
        if !script.revise(spec, actor.user_id, self.clock.now()) {
            return Ok(script);
        }
        let summary = summary.unwrap_or_else(|| change_summary(Some(&before), &script.spec));
        let version = Self::version_of(&script, summary);
        self.scripts
            .update(&script, expected_version, &version)
            .await?;
        self.changes.changed(script.tenant_id);
        tracing::info!(version = script.version, "script updated");
        Ok(script)
    }

    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id, script = %id))]
    pub async fn delete(&self, actor: &Actor, id: ScriptId) -> Result<(), ScriptError> {
        actor.require(Permission::ScriptsDelete)?;
        let script = self
            .scripts
            .get(actor.tenant_id, id)
            .await?
            .ok_or(ScriptError::NotFound)?;
        Self::check_endpoint_permission(actor, &[&script.spec])?;
        if !self.scripts.delete(actor.tenant_id, id).await? {
            return Err(ScriptError::NotFound);
        }
        self.changes.changed(actor.tenant_id);
        tracing::info!("script deleted");
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id, script = %id))]
    pub async fn versions(
        &self,
        actor: &Actor,
        id: ScriptId,
        page: PageRequest,
    ) -> Result<Page<ScriptVersion>, ScriptError> {
        actor.require(Permission::ScriptsRead)?;
        self.scripts
            .get(actor.tenant_id, id)
            .await?
            .ok_or(ScriptError::NotFound)?;
        Ok(self
            .scripts
            .list_versions(actor.tenant_id, id, page)
            .await?)
    }

    /// Makes an old version current again, as a new version; the old one is untouched.
    /// It is checked against today's rules, which may have tightened since it was written.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id, script = %id, version))]
    pub async fn restore(
        &self,
        actor: &Actor,
        id: ScriptId,
        version: i32,
    ) -> Result<Script, ScriptError> {
        actor.require(Permission::ScriptsUpdate)?;
        self.scripts
            .get(actor.tenant_id, id)
            .await?
            .ok_or(ScriptError::NotFound)?;
        let old = self
            .scripts
            .get_version(actor.tenant_id, id, version)
            .await?
            .ok_or(ScriptError::VersionNotFound(version))?;
        let spec = self.rules.parse(&old.spec.to_input())?;
        self.revise(actor, id, spec, Some(format!("Restored version {version}")))
            .await
    }
}
