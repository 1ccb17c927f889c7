//! The `Script` aggregate: what a tenant's user writes, and every rule it must satisfy.

mod cron;
mod entry;
mod event_type;
mod fields;
mod http_route;
mod input;
mod limits;
mod options;
mod version;

pub use cron::{CronError, CronSchedule, CronSyntax, FireTime};
pub use entry::{EntryPoint, NoEntryPoint, find_entry_point};
pub use event_type::{EventType, EventTypeError};
pub use fields::{
    Description, DescriptionError, Metadata, MetadataError, NameError, ScriptName, ScriptStatus,
    ScriptType, Source, SourceError, UnknownScriptStatus, UnknownScriptType,
};
pub use http_route::{EndpointAuth, HttpEndpoint, HttpMethod, HttpPath, HttpRouteError};
pub use input::{ScriptInput, ScriptRules};
pub use limits::{LimitBounds, LimitOutOfBounds, LimitsInput, ResourceLimits};
pub use options::{
    AlertSettings, AlertsInput, OptionsInput, RetryInput, RetrySettings, ScriptOptions,
};
pub use version::{ScriptVersion, change_summary};

use crate::ids::{ScriptId, TenantId, UserId};
use chrono::{DateTime, Utc};

/// How a script is started, with the configuration its type requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TriggerConfig {
    Scheduled(CronSchedule),
    Http(HttpEndpoint),
    Event(Vec<EventType>),
    OneOff,
    Embedded,
}

impl TriggerConfig {
    pub fn script_type(&self) -> ScriptType {
        match self {
            TriggerConfig::Scheduled(_) => ScriptType::Scheduled,
            TriggerConfig::Http(_) => ScriptType::Http,
            TriggerConfig::Event(_) => ScriptType::Event,
            TriggerConfig::OneOff => ScriptType::OneOff,
            TriggerConfig::Embedded => ScriptType::Embedded,
        }
    }
}

/// Everything a user sets on a script, validated. Versions snapshot exactly this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptSpec {
    pub name: ScriptName,
    pub description: Description,
    pub source: Source,
    pub status: ScriptStatus,
    pub trigger: TriggerConfig,
    pub limits: ResourceLimits,
    pub metadata: Metadata,
    pub options: ScriptOptions,
}

impl ScriptSpec {
    pub fn script_type(&self) -> ScriptType {
        self.trigger.script_type()
    }

    pub fn cron(&self) -> Option<&CronSchedule> {
        match &self.trigger {
            TriggerConfig::Scheduled(schedule) => Some(schedule),
            _ => None,
        }
    }

    pub fn http(&self) -> Option<&HttpEndpoint> {
        match &self.trigger {
            TriggerConfig::Http(endpoint) => Some(endpoint),
            _ => None,
        }
    }

    pub fn event_types(&self) -> &[EventType] {
        match &self.trigger {
            TriggerConfig::Event(types) => types,
            _ => &[],
        }
    }
}

/// The aggregate as stored: a validated spec with its identity, version and timestamps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    pub id: ScriptId,
    pub tenant_id: TenantId,
    pub spec: ScriptSpec,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<UserId>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<UserId>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub next_run_at: Option<DateTime<Utc>>,
}

impl Script {
    /// A new script at version 1; a scheduled, active script gets its first `next_run_at`.
    pub fn create(
        tenant_id: TenantId,
        spec: ScriptSpec,
        author: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Self {
        let mut script = Self {
            id: ScriptId::new(),
            tenant_id,
            spec,
            version: 1,
            created_at: now,
            created_by: author,
            updated_at: now,
            updated_by: author,
            last_run_at: None,
            next_run_at: None,
        };
        script.next_run_at = script.compute_next_run(now);
        script
    }

    /// Replaces the spec. Returns `false` (and changes nothing) when the spec is the same;
    /// otherwise bumps the version, so the caller records a new `ScriptVersion`.
    pub fn revise(&mut self, spec: ScriptSpec, author: Option<UserId>, now: DateTime<Utc>) -> bool {
        if spec == self.spec {
            return false;
        }
        self.spec = spec;
        self.version += 1;
        self.updated_at = now;
        self.updated_by = author;
        self.next_run_at = self.compute_next_run(now);
        true
    }

    fn compute_next_run(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match (&self.spec.trigger, self.spec.status) {
            (TriggerConfig::Scheduled(schedule), ScriptStatus::Active) => schedule.next_after(now),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
