//! A script's operational options, checked: what becomes of cron ticks missed while every
//! node was down, how its event deliveries are retried, and who hears of its failures.

use super::ScriptType;
use crate::jobs::RetryPolicy;
use crate::schedule::MissedRuns;
use crate::validation::ValidationErrors;
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;
use std::time::Duration;
use validator::{ValidateEmail, ValidateUrl};

/// Retry settings as they arrive: each may be missing (the operator's default applies).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RetryInput {
    pub max_attempts: Option<i64>,
    pub base_delay_ms: Option<i64>,
    pub max_delay_ms: Option<i64>,
}

impl RetryInput {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Alert settings as they arrive.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AlertsInput {
    pub emails: Vec<String>,
    pub webhook_url: Option<String>,
    pub after_failures: Option<i64>,
    pub throttle_minutes: Option<i64>,
}

/// A script's own retry settings; each one it leaves unset is the operator's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetrySettings {
    pub max_attempts: Option<u32>,
    pub base_delay: Option<Duration>,
    pub max_delay: Option<Duration>,
}

impl RetrySettings {
    /// The policy its deliveries follow, with the operator's `default` where it is silent.
    pub fn resolve(&self, default: RetryPolicy) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts.unwrap_or(default.max_attempts),
            base_delay: self.base_delay.unwrap_or(default.base_delay),
            max_delay: self.max_delay.unwrap_or(default.max_delay),
        }
    }

    fn to_input(self) -> RetryInput {
        let ms = |d: Duration| d.as_millis() as i64;
        RetryInput {
            max_attempts: self.max_attempts.map(i64::from),
            base_delay_ms: self.base_delay.map(ms),
            max_delay_ms: self.max_delay.map(ms),
        }
    }
}

/// Who hears of a script's failures, and how often.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertSettings {
    /// Addresses, lower-cased and without repeats.
    pub emails: Vec<String>,
    pub webhook_url: Option<String>,
    /// Alert only once this many runs in a row have failed.
    pub after_failures: u32,
    /// At most one alert per window; the next one says how many were held back.
    pub throttle: Duration,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            emails: Vec::new(),
            webhook_url: None,
            after_failures: 1,
            throttle: Duration::from_secs(Self::DEFAULT_THROTTLE_MINUTES * 60),
        }
    }
}

impl AlertSettings {
    pub const DEFAULT_THROTTLE_MINUTES: u64 = 15;
    pub const MAX_EMAILS: usize = 20;

    /// Whether anyone is to be told anything.
    pub fn enabled(&self) -> bool {
        !self.emails.is_empty() || self.webhook_url.is_some()
    }

    fn to_input(&self) -> AlertsInput {
        AlertsInput {
            emails: self.emails.clone(),
            webhook_url: self.webhook_url.clone(),
            after_failures: Some(i64::from(self.after_failures)),
            throttle_minutes: Some((self.throttle.as_secs() / 60) as i64),
        }
    }
}

/// The options of a script, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptOptions {
    /// Scheduled scripts only.
    pub missed_runs: MissedRuns,
    /// Event scripts only.
    pub retry: RetrySettings,
    pub alerts: AlertSettings,
}

/// The options' fields of a [`super::ScriptInput`], as stored and as written back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OptionsInput {
    pub missed_runs: Option<String>,
    pub retry: RetryInput,
    pub alerts: AlertsInput,
}

const MAX_ATTEMPTS: RangeInclusive<i64> = 1..=25;
const DELAY_MS: RangeInclusive<i64> = 10..=86_400_000;
const AFTER_FAILURES: RangeInclusive<i64> = 1..=1000;
const THROTTLE_MINUTES: RangeInclusive<i64> = 1..=10_080;
const MAX_URL_BYTES: usize = 2048;

fn in_range(
    errors: &mut ValidationErrors,
    field: &str,
    value: Option<i64>,
    range: RangeInclusive<i64>,
) -> Option<Option<i64>> {
    match value {
        Some(v) if !range.contains(&v) => {
            errors.add(
                field,
                format!("must be between {} and {}", range.start(), range.end()),
            );
            None
        }
        other => Some(other),
    }
}

impl ScriptOptions {
    /// The plain form of the options, for a script of type `script_type`.
    pub fn to_input(&self, script_type: ScriptType) -> OptionsInput {
        OptionsInput {
            missed_runs: (script_type == ScriptType::Scheduled)
                .then(|| self.missed_runs.as_str().to_owned()),
            retry: self.retry.to_input(),
            alerts: self.alerts.to_input(),
        }
    }

    /// Checks the options of a script of type `script_type`, adding a message per wrong field.
    pub fn parse(
        script_type: Option<ScriptType>,
        input: &OptionsInput,
        errors: &mut ValidationErrors,
    ) -> Option<Self> {
        let before = errors.fields().len();
        let missed_runs = match input.missed_runs.as_deref().map(str::trim) {
            None | Some("") => MissedRuns::default(),
            Some(raw) => {
                if script_type.is_some_and(|t| t != ScriptType::Scheduled) {
                    errors.add("missedRuns", "is only allowed for scheduled scripts");
                }
                match MissedRuns::parse(raw) {
                    Some(policy) => policy,
                    None => {
                        errors.add(
                            "missedRuns",
                            format!("\"{raw}\" is not one of runOnce, skip"),
                        );
                        MissedRuns::default()
                    }
                }
            }
        };
        let retry = Self::parse_retry(script_type, &input.retry, errors);
        let alerts = Self::parse_alerts(&input.alerts, errors);
        (errors.fields().len() == before).then(|| Self {
            missed_runs,
            retry: retry.unwrap_or_default(),
            alerts: alerts.unwrap_or_default(),
        })
    }

    fn parse_retry(
        script_type: Option<ScriptType>,
        input: &RetryInput,
        errors: &mut ValidationErrors,
    ) -> Option<RetrySettings> {
        if !input.is_empty() && script_type.is_some_and(|t| t != ScriptType::Event) {
            errors.add("retry", "is only allowed for event scripts");
            return None;
        }
        let attempts = in_range(
            errors,
            "retry.maxAttempts",
            input.max_attempts,
            MAX_ATTEMPTS,
        );
        let base = in_range(errors, "retry.baseDelayMs", input.base_delay_ms, DELAY_MS);
        let max = in_range(errors, "retry.maxDelayMs", input.max_delay_ms, DELAY_MS);
        let (attempts, base, max) = (attempts?, base?, max?);
        if let (Some(base), Some(max)) = (base, max)
            && base > max
        {
            errors.add(
                "retry.baseDelayMs",
                format!("{base} is more than retry.maxDelayMs ({max})"),
            );
            return None;
        }
        let millis = |ms: i64| Duration::from_millis(ms as u64);
        Some(RetrySettings {
            max_attempts: attempts.map(|a| a as u32),
            base_delay: base.map(millis),
            max_delay: max.map(millis),
        })
    }

    fn parse_alerts(input: &AlertsInput, errors: &mut ValidationErrors) -> Option<AlertSettings> {
        let mut ok = true;
        let mut emails: Vec<String> = Vec::new();
        if input.emails.len() > AlertSettings::MAX_EMAILS {
            errors.add(
                "alerts.emails",
                format!("at most {} addresses", AlertSettings::MAX_EMAILS),
            );
            ok = false;
        }
        for raw in &input.emails {
            let address = raw.trim().to_lowercase();
            if address.len() > 254 || !address.validate_email() {
                errors.add(
                    "alerts.emails",
                    format!("\"{raw}\" is not an email address"),
                );
                ok = false;
            } else if !emails.contains(&address) {
                emails.push(address);
            }
        }
        let webhook_url = match input.webhook_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) => {
                let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
                if url.len() > MAX_URL_BYTES || !scheme_ok || !url.validate_url() {
                    errors.add(
                        "alerts.webhookUrl",
                        "must be an http:// or https:// URL of at most 2048 characters",
                    );
                    ok = false;
                }
                Some(url.to_owned())
            }
        };
        let after = in_range(
            errors,
            "alerts.afterFailures",
            input.after_failures,
            AFTER_FAILURES,
        );
        let throttle = in_range(
            errors,
            "alerts.throttleMinutes",
            input.throttle_minutes,
            THROTTLE_MINUTES,
        );
        let (after, throttle) = (after?, throttle?);
        ok.then(|| AlertSettings {
            emails,
            webhook_url,
            after_failures: after.unwrap_or(1) as u32,
            throttle: Duration::from_secs(
                throttle.unwrap_or(AlertSettings::DEFAULT_THROTTLE_MINUTES as i64) as u64 * 60,
            ),
        })
    }
}
