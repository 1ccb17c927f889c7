//! `ScriptInput` and `ScriptRules`: a script as it arrives (plain values) and the rules that
//! turn it into a checked `ScriptSpec`, reporting every wrong field at once.

use super::*;
use crate::validation::ValidationErrors;
use chrono_tz::Tz;
use std::collections::BTreeMap;

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
    /// Scheduled scripts: `runOnce` (the default) or `skip`.
    pub missed_runs: Option<String>,
    /// Event scripts: how deliveries are retried.
    pub retry: RetryInput,
    pub alerts: AlertsInput,
}

impl ScriptInput {
    /// The options' fields.
    pub fn options(&self) -> OptionsInput {
        OptionsInput {
            missed_runs: self.missed_runs.clone(),
            retry: self.retry,
            alerts: self.alerts.clone(),
        }
    }

    /// Sets the options' fields.
    pub fn set_options(&mut self, options: OptionsInput) {
        self.missed_runs = options.missed_runs;
        self.retry = options.retry;
        self.alerts = options.alerts;
    }
}

/// The operator's rules for scripts: limit defaults and bounds, and the source size limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptRules {
    pub default_limits: ResourceLimits,
    pub limit_bounds: LimitBounds,
    pub max_source_bytes: usize,
    /// Which cron expressions scheduled scripts may have (a seconds field only where the
    /// operator allows it, for tests).
    pub cron_syntax: CronSyntax,
}

impl Default for ScriptRules {
    fn default() -> Self {
        Self {
            default_limits: ResourceLimits::default(),
            limit_bounds: LimitBounds::default(),
            max_source_bytes: Source::DEFAULT_MAX_BYTES,
            cron_syntax: CronSyntax::Standard,
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
        input.set_options(self.options.to_input(self.script_type()));
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
            cron_syntax: CronSyntax::WithSeconds,
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
        let options = ScriptOptions::parse(script_type, &input.options(), &mut errors);
        if let (Some(source), Some(script_type)) = (&source, script_type) {
            errors.check("source", find_entry_point(source.as_str(), script_type));
        }
        match (
            name,
            description,
            source,
            status,
            trigger,
            limits,
            metadata,
            options,
        ) {
            (
                Some(name),
                Some(description),
                Some(source),
                Some(status),
                Some(trigger),
                Some(limits),
                Some(metadata),
                Some(options),
            ) if errors.is_empty() => Ok(ScriptSpec {
                name,
                description,
                source,
                status,
                trigger,
                limits,
                metadata,
                options,
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
                    CronSchedule::parse_with(
                        expression,
                        timezone.unwrap_or(Tz::UTC),
                        self.cron_syntax,
                    ),
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
