//! `ScriptVersion`: an immutable snapshot of a script's spec, written on every change.

use super::ScriptSpec;
use crate::ids::{ScriptId, TenantId, UserId};
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptVersion {
    pub script_id: ScriptId,
    pub tenant_id: TenantId,
    pub version: i32,
    pub spec: ScriptSpec,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<UserId>,
    pub change_summary: String,
}

/// A one-line account of what changed between two specs, for a version written without one.
pub fn change_summary(before: Option<&ScriptSpec>, after: &ScriptSpec) -> String {
    let Some(before) = before else {
        return "Created".to_owned();
    };
    let mut changes = Vec::new();
    if before.name != after.name {
        changes.push(format!("renamed to \"{}\"", after.name));
    }
    if before.description != after.description {
        changes.push("description".to_owned());
    }
    if before.source != after.source {
        changes.push("source".to_owned());
    }
    if before.status != after.status {
        changes.push(format!("status {} → {}", before.status, after.status));
    }
    if before.trigger != after.trigger {
        changes.push("trigger".to_owned());
    }
    if before.options != after.options {
        changes.push("options".to_owned());
    }
    if before.limits != after.limits {
        changes.push("limits".to_owned());
    }
    if before.metadata != after.metadata {
        changes.push("metadata".to_owned());
    }
    if changes.is_empty() {
        return "No change".to_owned();
    }
    let mut summary = changes.join(", ");
    if let Some(first) = summary.get(0..1) {
        summary = first.to_uppercase() + &summary[1..];
    }
    format!("Changed {summary}")
        .replace("Changed Renamed", "Renamed")
        .replace("Changed Status", "Status")
}
