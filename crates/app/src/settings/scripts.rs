//! `[scripts]`: the size of a script's source, the limits a script gets when it does not ask,
//! and the bounds of what it may ask for.

use domain::script::{LimitBounds, ResourceLimits, Source};
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;

/// Scripts: the size of their source, the limits they get by default, and the bounds of what
/// they may ask for.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScriptSettings {
    /// The largest source, in bytes.
    pub max_source_bytes: usize,
    /// What a script gets when it does not ask; each must lie within `limit_bounds`.
    pub default_limits: ResourceLimits,
    pub limit_bounds: BoundsSettings,
}

/// `[min, max]` pairs for each limit a script may ask for.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BoundsSettings {
    /// `[min, max]` of a script's time limit, in milliseconds.
    pub max_execution_time_ms: [u64; 2],
    /// `[min, max]` of a script's memory limit, in bytes.
    pub max_memory_bytes: [u64; 2],
    /// `[min, max]` of a script's runs at once.
    pub max_concurrent_runs: [u64; 2],
    /// `[min, max]` of a script's SDK calls per minute.
    pub max_api_calls_per_minute: [u64; 2],
    /// `[min, max]` of a script's output size, in bytes.
    pub max_output_size_bytes: [u64; 2],
}

impl Default for ScriptSettings {
    fn default() -> Self {
        Self {
            max_source_bytes: Source::DEFAULT_MAX_BYTES,
            default_limits: ResourceLimits::default(),
            limit_bounds: BoundsSettings::default(),
        }
    }
}

fn pair(range: &RangeInclusive<u64>) -> [u64; 2] {
    [*range.start(), *range.end()]
}

impl Default for BoundsSettings {
    fn default() -> Self {
        let bounds = LimitBounds::default();
        Self {
            max_execution_time_ms: pair(&bounds.max_execution_time_ms),
            max_memory_bytes: pair(&bounds.max_memory_bytes),
            max_concurrent_runs: pair(&bounds.max_concurrent_runs),
            max_api_calls_per_minute: pair(&bounds.max_api_calls_per_minute),
            max_output_size_bytes: pair(&bounds.max_output_size_bytes),
        }
    }
}
