//! The `Script` aggregate: what a tenant's user writes, and every rule it must satisfy.

mod cron;
mod entry;
mod event_type;
mod fields;
mod http_route;
mod limits;
mod version;

pub use cron::{CronError, CronSchedule, FireTime};
pub use entry::{EntryPoint, NoEntryPoint, find_entry_point};
pub use event_type::{EventType, EventTypeError};
pub use fields::{
    Description, DescriptionError, Metadata, MetadataError, NameError, ScriptName, ScriptStatus,
    ScriptType, Source, SourceError, UnknownScriptStatus, UnknownScriptType,
};
pub use http_route::{EndpointAuth, HttpEndpoint, HttpMethod, HttpPath, HttpRouteError};
pub use limits::{LimitBounds, LimitOutOfBounds, LimitsInput, ResourceLimits};
pub use version::{ScriptVersion, change_summary};

use crate::ids::{ScriptId, TenantId, UserId};
use crate::validation::ValidationErrors;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;

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

/// A script as it arrives from a form, the JSON API or the CLI: plain values, not yet checked.
/// It is also the stored form of a version's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScriptInput {
    pub name: String,
    pub description: String,
    pub source: String,
    pub script_type: String,
    pub status: Option<String>,
    pub cron_expression: Option<String>,
    pub timezone: Option<String>,
    pub http_path: Option<String>,
    pub http_methods: Vec<String>,
    pub endpoint_auth: Option<String>,
    pub event_types: Vec<String>,
    pub limits: LimitsInput,
    pub metadata: BTreeMap<String, String>,
}

/// The operator's rules for scripts: limit defaults and bounds, and the source size limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptRules {
    pub default_limits: ResourceLimits,
    pub limit_bounds: LimitBounds,
    pub max_source_bytes: usize,
}

impl Default for ScriptRules {
    fn default() -> Self {
        Self {
            default_limits: ResourceLimits::default(),
            limit_bounds: LimitBounds::default(),
            max_source_bytes: Source::DEFAULT_MAX_BYTES,
        }
    }
}

impl ScriptSpec {
    /// The plain form of the spec; `ScriptRules::stored().parse` turns it back into the spec.
    pub fn to_input(&self) -> ScriptInput {
        let mut input = ScriptInput {
            name: self.name.as_str().to_owned(),
            description: self.description.as_str().to_owned(),
            source: self.source.as_str().to_owned(),
            script_type: self.script_type().as_str().to_owned(),
            status: Some(self.status.as_str().to_owned()),
            limits: LimitsInput {
                max_execution_time_ms: Some(self.limits.max_execution_time_ms as i64),
                max_memory_bytes: Some(self.limits.max_memory_bytes as i64),
                max_concurrent_runs: Some(self.limits.max_concurrent_runs as i64),
                max_api_calls_per_minute: Some(self.limits.max_api_calls_per_minute as i64),
                max_output_size_bytes: Some(self.limits.max_output_size_bytes as i64),
            },
            metadata: self.metadata.entries().clone(),
            ..ScriptInput::default()
        };
        match &self.trigger {
            TriggerConfig::Scheduled(schedule) => {
                input.cron_expression = Some(schedule.expression().to_owned());
                input.timezone = Some(schedule.timezone().name().to_owned());
            }
            TriggerConfig::Http(endpoint) => {
                input.http_path = Some(endpoint.path.as_str().to_owned());
                input.http_methods = endpoint
                    .methods
                    .iter()
                    .map(|m| m.as_str().to_owned())
                    .collect();
                input.endpoint_auth = Some(endpoint.auth.as_str().to_owned());
            }
            TriggerConfig::Event(types) => {
                input.event_types = types.iter().map(|t| t.as_str().to_owned()).collect();
            }
            TriggerConfig::OneOff | TriggerConfig::Embedded => {}
        }
        input
    }
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl ScriptRules {
    /// Rules for reading back what was stored: the operator may have tightened limits or the
    /// source size since, and a stored script must still load.
    pub fn stored() -> Self {
        let any = 0..=i64::MAX as u64;
        Self {
            default_limits: ResourceLimits::default(),
            limit_bounds: LimitBounds {
                max_execution_time_ms: any.clone(),
                max_memory_bytes: any.clone(),
                max_concurrent_runs: any.clone(),
                max_api_calls_per_minute: any.clone(),
                max_output_size_bytes: any,
            },
            max_source_bytes: usize::MAX,
        }
    }

    /// Checks every field of `input`, reporting all problems at once, keyed by API field name.
    pub fn parse(&self, input: &ScriptInput) -> Result<ScriptSpec, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let name = errors.check("name", ScriptName::parse(&input.name));
        let description = errors.check("description", Description::parse(&input.description));
        let source = errors.check(
            "source",
            Source::parse(&input.source, self.max_source_bytes),
        );
        let script_type = match input.script_type.trim() {
            "" => {
                errors.add("type", "is required");
                None
            }
            raw => errors.check("type", raw.parse::<ScriptType>()),
        };
        let status = match present(&input.status) {
            None => Some(ScriptStatus::Draft),
            Some(raw) => errors.check("status", raw.parse::<ScriptStatus>()),
        };
        let limits = match self.limit_bounds.parse(&input.limits, &self.default_limits) {
            Ok(limits) => Some(limits),
            Err(limit_errors) => {
                for (field, message) in limit_errors.fields() {
                    errors.add(field.clone(), message);
                }
                None
            }
        };
        let metadata = errors.check("metadata", Metadata::parse(input.metadata.clone()));
        let trigger = script_type.and_then(|t| self.parse_trigger(t, input, &mut errors));
        if let (Some(source), Some(script_type)) = (&source, script_type) {
            errors.check("source", find_entry_point(source.as_str(), script_type));
        }
        match (name, description, source, status, trigger, limits, metadata) {
            (
                Some(name),
                Some(description),
                Some(source),
                Some(status),
                Some(trigger),
                Some(limits),
                Some(metadata),
            ) if errors.is_empty() => Ok(ScriptSpec {
                name,
                description,
                source,
                status,
                trigger,
                limits,
                metadata,
            }),
            _ => Err(errors),
        }
    }

    fn parse_trigger(
        &self,
        script_type: ScriptType,
        input: &ScriptInput,
        errors: &mut ValidationErrors,
    ) -> Option<TriggerConfig> {
        let only_for =
            |errors: &mut ValidationErrors, field: &str, set: bool, wanted: ScriptType| {
                if set && script_type != wanted {
                    errors.add(field, format!("is only allowed for {wanted} scripts"));
                }
            };
        only_for(
            errors,
            "cronExpression",
            present(&input.cron_expression).is_some(),
            ScriptType::Scheduled,
        );
        only_for(
            errors,
            "timezone",
            present(&input.timezone).is_some(),
            ScriptType::Scheduled,
        );
        only_for(
            errors,
            "httpPath",
            present(&input.http_path).is_some(),
            ScriptType::Http,
        );
        only_for(
            errors,
            "httpMethods",
            !input.http_methods.is_empty(),
            ScriptType::Http,
        );
        only_for(
            errors,
            "endpointAuth",
            present(&input.endpoint_auth).is_some(),
            ScriptType::Http,
        );
        only_for(
            errors,
            "eventTypes",
            !input.event_types.is_empty(),
            ScriptType::Event,
        );
        match script_type {
            ScriptType::Scheduled => {
                let timezone: Option<Tz> = errors.check(
                    "timezone",
                    CronSchedule::parse_timezone(input.timezone.as_deref().unwrap_or("")),
                );
                let expression = input.cron_expression.as_deref().unwrap_or("");
                let schedule = errors.check(
                    "cronExpression",
                    CronSchedule::parse(expression, timezone.unwrap_or(Tz::UTC)),
                );
                Some(TriggerConfig::Scheduled(schedule?)).filter(|_| timezone.is_some())
            }
            ScriptType::Http => {
                let path = errors.check(
                    "httpPath",
                    HttpPath::parse(input.http_path.as_deref().unwrap_or("")),
                );
                let methods = errors.check(
                    "httpMethods",
                    HttpEndpoint::parse_methods(&input.http_methods),
                );
                let auth = match present(&input.endpoint_auth) {
                    None => Some(EndpointAuth::default()),
                    Some(raw) => errors.check("endpointAuth", raw.parse::<EndpointAuth>()),
                };
                Some(TriggerConfig::Http(HttpEndpoint {
                    path: path?,
                    methods: methods?,
                    auth: auth?,
                }))
            }
            ScriptType::Event => {
                let types = errors.check("eventTypes", EventType::parse_list(&input.event_types));
                Some(TriggerConfig::Event(types?))
            }
            ScriptType::OneOff => Some(TriggerConfig::OneOff),
            ScriptType::Embedded => Some(TriggerConfig::Embedded),
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
