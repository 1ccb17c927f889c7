//! `ResourceLimits`: the bounds of every execution of a script, within the operator's bounds.

use crate::validation::ValidationErrors;
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;

/// The limits of a script's runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceLimits {
    /// How long a run may take, in milliseconds (longer ends it as `timeout`).
    pub max_execution_time_ms: u64,
    /// The JavaScript heap a run may use, in bytes (more ends it with `MEMORY_LIMIT`).
    pub max_memory_bytes: u64,
    /// Runs of the script at once (more wait or are refused).
    pub max_concurrent_runs: u64,
    /// SDK calls a run may make per minute (more fail with `RATE_LIMIT`).
    pub max_api_calls_per_minute: u64,
    /// The largest output of a run, in bytes, as JSON (more fails with `OUTPUT_LIMIT`).
    pub max_output_size_bytes: u64,
}

impl Default for ResourceLimits {
    fn default() -> Self {
        Self {
            max_execution_time_ms: 30_000,
            max_memory_bytes: 64 * 1024 * 1024,
            max_concurrent_runs: 5,
            max_api_calls_per_minute: 60,
            max_output_size_bytes: 1024 * 1024,
        }
    }
}

/// What the operator allows a script to ask for; a limit outside its range is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitBounds {
    pub max_execution_time_ms: RangeInclusive<u64>,
    pub max_memory_bytes: RangeInclusive<u64>,
    pub max_concurrent_runs: RangeInclusive<u64>,
    pub max_api_calls_per_minute: RangeInclusive<u64>,
    pub max_output_size_bytes: RangeInclusive<u64>,
}

impl Default for LimitBounds {
    fn default() -> Self {
        Self {
            max_execution_time_ms: 10..=300_000,
            max_memory_bytes: 1024 * 1024..=512 * 1024 * 1024,
            max_concurrent_runs: 1..=100,
            max_api_calls_per_minute: 1..=10_000,
            max_output_size_bytes: 1024..=16 * 1024 * 1024,
        }
    }
}

/// Limits as they arrive: each may be missing (the default applies) or any integer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitsInput {
    pub max_execution_time_ms: Option<i64>,
    pub max_memory_bytes: Option<i64>,
    pub max_concurrent_runs: Option<i64>,
    pub max_api_calls_per_minute: Option<i64>,
    pub max_output_size_bytes: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("must be between {min} and {max}")]
pub struct LimitOutOfBounds {
    pub min: u64,
    pub max: u64,
}

impl LimitBounds {
    /// Checks that the defaults fit the bounds: an operator's configuration must pass this.
    pub fn check_defaults(&self, defaults: &ResourceLimits) -> Result<(), ValidationErrors> {
        let input = LimitsInput {
            max_execution_time_ms: Some(defaults.max_execution_time_ms as i64),
            max_memory_bytes: Some(defaults.max_memory_bytes as i64),
            max_concurrent_runs: Some(defaults.max_concurrent_runs as i64),
            max_api_calls_per_minute: Some(defaults.max_api_calls_per_minute as i64),
            max_output_size_bytes: Some(defaults.max_output_size_bytes as i64),
        };
        self.parse(&input, defaults).map(|_| ())
    }

    /// Resolves input against defaults and bounds; errors are keyed `limits.<field>`.
    pub fn parse(
        &self,
        input: &LimitsInput,
        defaults: &ResourceLimits,
    ) -> Result<ResourceLimits, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut pick =
            |field: &str, value: Option<i64>, default: u64, range: &RangeInclusive<u64>| {
                let value = match value {
                    None => return default,
                    Some(v) => v,
                };
                match u64::try_from(value) {
                    Ok(v) if range.contains(&v) => v,
                    _ => {
                        let error = LimitOutOfBounds {
                            min: *range.start(),
                            max: *range.end(),
                        };
                        errors.add(format!("limits.{field}"), error);
                        default
                    }
                }
            };
        let limits = ResourceLimits {
            max_execution_time_ms: pick(
                "maxExecutionTimeMs",
                input.max_execution_time_ms,
                defaults.max_execution_time_ms,
                &self.max_execution_time_ms,
            ),
            max_memory_bytes: pick(
                "maxMemoryBytes",
                input.max_memory_bytes,
                defaults.max_memory_bytes,
                &self.max_memory_bytes,
            ),
            max_concurrent_runs: pick(
                "maxConcurrentRuns",
                input.max_concurrent_runs,
                defaults.max_concurrent_runs,
                &self.max_concurrent_runs,
            ),
            max_api_calls_per_minute: pick(
                "maxApiCallsPerMinute",
                input.max_api_calls_per_minute,
                defaults.max_api_calls_per_minute,
                &self.max_api_calls_per_minute,
            ),
            max_output_size_bytes: pick(
                "maxOutputSizeBytes",
                input.max_output_size_bytes,
                defaults.max_output_size_bytes,
                &self.max_output_size_bytes,
            ),
        };
        errors.into_result().map(|()| limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_and_fit_the_default_bounds() {
        let bounds = LimitBounds::default();
        let defaults = ResourceLimits::default();
        assert_eq!(
            bounds.parse(&LimitsInput::default(), &defaults),
            Ok(defaults)
        );
        assert!(bounds.check_defaults(&defaults).is_ok());
        assert_eq!(defaults.max_memory_bytes, 67_108_864);
    }

    #[test]
    fn out_of_bounds_values_are_refused_per_field() {
        let bounds = LimitBounds::default();
        let defaults = ResourceLimits::default();
        let cases: &[(LimitsInput, &str)] = &[
            (
                LimitsInput {
                    max_execution_time_ms: Some(0),
                    ..Default::default()
                },
                "limits.maxExecutionTimeMs",
            ),
            (
                LimitsInput {
                    max_execution_time_ms: Some(300_001),
                    ..Default::default()
                },
                "limits.maxExecutionTimeMs",
            ),
            (
                LimitsInput {
                    max_memory_bytes: Some(-1),
                    ..Default::default()
                },
                "limits.maxMemoryBytes",
            ),
            (
                LimitsInput {
                    max_memory_bytes: Some(i64::MAX),
                    ..Default::default()
                },
                "limits.maxMemoryBytes",
            ),
            (
                LimitsInput {
                    max_concurrent_runs: Some(0),
                    ..Default::default()
                },
                "limits.maxConcurrentRuns",
            ),
            (
                LimitsInput {
                    max_api_calls_per_minute: Some(10_001),
                    ..Default::default()
                },
                "limits.maxApiCallsPerMinute",
            ),
            (
                LimitsInput {
                    max_output_size_bytes: Some(10),
                    ..Default::default()
                },
                "limits.maxOutputSizeBytes",
            ),
        ];
        for (input, field) in cases {
            let errors = bounds.parse(input, &defaults).expect_err(field);
            assert!(
                errors.get(field).is_some_and(|m| m.contains("between")),
                "{field}: {errors}"
            );
            assert_eq!(errors.fields().len(), 1);
        }
        let ok = LimitsInput {
            max_concurrent_runs: Some(100),
            ..Default::default()
        };
        assert_eq!(
            bounds.parse(&ok, &defaults).map(|l| l.max_concurrent_runs),
            Ok(100)
        );
    }

    #[test]
    fn operator_bounds_must_hold_the_defaults() {
        let bounds = LimitBounds {
            max_concurrent_runs: 10..=20,
            ..Default::default()
        };
        let errors = bounds
            .check_defaults(&ResourceLimits::default())
            .expect_err("5 < 10");
        assert!(errors.get("limits.maxConcurrentRuns").is_some());
    }
}
