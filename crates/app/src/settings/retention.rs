//! The `[retention]` settings: how long the run history is kept, per tenant where it is
//! overridden, and how it is pruned.

use super::{Settings, SettingsError, invalid};
use serde::{Deserialize, Serialize};
use services::retention::RetentionConfig;
use std::time::Duration;

/// The longest retention accepted, in days (a hundred years).
const MAX_DAYS: u32 = 36_500;

/// The run history: finished executions with their logs, and settled cron ticks, are pruned
/// past their age in small batches (pending and running executions and dead letters never).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSettings {
    /// Days finished executions (with their logs) and cron ticks are kept; 0: forever.
    pub execution_days: u32,
    /// Tenants that keep theirs another number of days: `slug=days`, comma-separated.
    pub tenant_days: String,
    /// How often the history is pruned, in minutes.
    pub interval_minutes: u64,
    /// Rows per delete statement.
    pub batch: u64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            execution_days: 30,
            tenant_days: String::new(),
            interval_minutes: 60,
            batch: 1_000,
        }
    }
}

fn days(setting: &str, raw: &str) -> Result<u32, SettingsError> {
    let days: u32 = raw
        .trim()
        .parse()
        .map_err(|_| invalid(setting, format!("\"{raw}\" is not a number of days")))?;
    if days > MAX_DAYS {
        return Err(invalid(
            setting,
            format!("{days} is more than {MAX_DAYS} days"),
        ));
    }
    Ok(days)
}

impl Settings {
    pub fn retention_config(&self) -> Result<RetentionConfig, SettingsError> {
        let retention = &self.retention;
        days(
            "retention.execution_days",
            &retention.execution_days.to_string(),
        )?;
        for (name, value) in [
            ("retention.interval_minutes", retention.interval_minutes),
            ("retention.batch", retention.batch),
        ] {
            if value == 0 {
                return Err(invalid(name, "must be more than 0"));
            }
        }
        let mut tenant_days = Vec::new();
        for entry in retention.tenant_days.split(',').map(str::trim) {
            if entry.is_empty() {
                continue;
            }
            let Some((slug, count)) = entry.split_once('=') else {
                return Err(invalid(
                    "retention.tenant_days",
                    format!("\"{entry}\" is not slug=days"),
                ));
            };
            let slug = slug.trim();
            if slug.is_empty() || tenant_days.iter().any(|(s, _)| s == slug) {
                return Err(invalid(
                    "retention.tenant_days",
                    format!("\"{entry}\" names no tenant or one named before"),
                ));
            }
            tenant_days.push((slug.to_owned(), days("retention.tenant_days", count)?));
        }
        Ok(RetentionConfig {
            default_days: retention.execution_days,
            tenant_days,
            interval: Duration::from_secs(retention.interval_minutes.saturating_mul(60)),
            batch: retention.batch,
            pause: Duration::from_millis(20),
        })
    }
}
