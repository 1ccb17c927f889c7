//! Bulk changes of the script list: enable, disable or delete many scripts at once, each
//! one checked on its own (tenant, rights) exactly as a change of that one script would be.

use super::{ScriptError, ScriptService};
use domain::script::ScriptStatus;
use domain::{Actor, ScriptId, ValidationErrors};

/// What a bulk change does to each script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkAction {
    /// Status `active`.
    Enable,
    /// Status `disabled`.
    Disable,
    Delete,
}

impl BulkAction {
    pub const ALL: [BulkAction; 3] = [BulkAction::Enable, BulkAction::Disable, BulkAction::Delete];

    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Enable => "enable",
            BulkAction::Disable => "disable",
            BulkAction::Delete => "delete",
        }
    }

    pub fn parse(raw: &str) -> Option<BulkAction> {
        Self::ALL.into_iter().find(|action| action.as_str() == raw)
    }
}

/// What a bulk change did to each script: the answer its own change would have had.
pub type BulkResults = Vec<(ScriptId, Result<(), ScriptError>)>;

/// At most this many scripts in one bulk change.
pub const MAX_BULK: usize = 500;

impl ScriptService {
    /// Applies `action` to each script of `ids` in turn; each answer is that of the single
    /// change (a script of another tenant is not found and left alone). No script, or more
    /// than `MAX_BULK`, is refused before any change.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id, action = action.as_str(), count = ids.len()))]
    pub async fn bulk(
        &self,
        actor: &Actor,
        action: BulkAction,
        ids: &[ScriptId],
    ) -> Result<BulkResults, ScriptError> {
        if ids.is_empty() || ids.len() > MAX_BULK {
            let message = format!("choose between 1 and {MAX_BULK} scripts");
            return Err(ValidationErrors::single("ids", message).into());
        }
        let mut results = Vec::with_capacity(ids.len());
        for &id in ids {
            let result = match action {
                BulkAction::Delete => self.delete(actor, id).await,
                BulkAction::Enable => self.set_status(actor, id, ScriptStatus::Active).await,
                BulkAction::Disable => self.set_status(actor, id, ScriptStatus::Disabled).await,
            };
            results.push((id, result));
        }
        Ok(results)
    }

    /// Sets one script's status, as a new version when it changes.
    pub async fn set_status(
        &self,
        actor: &Actor,
        id: ScriptId,
        status: ScriptStatus,
    ) -> Result<(), ScriptError> {
        actor.require(domain::Permission::ScriptsUpdate)?;
        let script = self
            .scripts
            .get(actor.tenant_id, id)
            .await?
            .ok_or(ScriptError::NotFound)?;
        let mut spec = script.spec.clone();
        spec.status = status;
        let summary = format!("Status set to {}", status.as_str());
        self.revise(actor, id, spec, Some(summary)).await?;
        Ok(())
    }
}
