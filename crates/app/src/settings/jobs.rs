//! The `[jobs]` settings checked and turned into the job queue's configuration and the
//! retry policy of event deliveries.

use super::{Settings, SettingsError, invalid};
use std::num::NonZeroU32;
use std::time::Duration;

/// What the job machinery of a node is built from.
pub struct JobsConfig {
    pub queue: persistence::QueueConfig,
    pub retry: domain::jobs::RetryPolicy,
    pub dispatch_interval: Duration,
    pub publish_rate: services::endpoints::Rate,
}

impl Settings {
    /// How often this node renews its lease (three missed beats end it): the jobs' heartbeat.
    pub fn node_heartbeat(&self) -> Result<Duration, SettingsError> {
        Ok(self.jobs_config()?.queue.heartbeat)
    }

    pub fn jobs_config(&self) -> Result<JobsConfig, SettingsError> {
        let jobs = &self.jobs;
        for (name, value) in [
            ("jobs.concurrency", jobs.concurrency as u64),
            ("jobs.heartbeat_ms", jobs.heartbeat_ms),
            ("jobs.dispatch_interval_ms", jobs.dispatch_interval_ms),
            ("jobs.max_attempts", u64::from(jobs.max_attempts)),
            ("jobs.base_delay_ms", jobs.base_delay_ms),
            ("jobs.max_delay_ms", jobs.max_delay_ms),
            (
                "jobs.publish_per_second",
                u64::from(jobs.publish_per_second),
            ),
            ("jobs.publish_burst", u64::from(jobs.publish_burst)),
        ] {
            if value == 0 {
                return Err(invalid(name, "must be more than 0"));
            }
        }
        if jobs.base_delay_ms > jobs.max_delay_ms {
            return Err(invalid(
                "jobs.base_delay_ms",
                format!(
                    "{} is more than jobs.max_delay_ms ({})",
                    jobs.base_delay_ms, jobs.max_delay_ms
                ),
            ));
        }
        Ok(JobsConfig {
            queue: persistence::QueueConfig {
                concurrency: jobs.concurrency,
                heartbeat: Duration::from_millis(jobs.heartbeat_ms),
            },
            retry: domain::jobs::RetryPolicy {
                max_attempts: jobs.max_attempts,
                base_delay: Duration::from_millis(jobs.base_delay_ms),
                max_delay: Duration::from_millis(jobs.max_delay_ms),
            },
            dispatch_interval: Duration::from_millis(jobs.dispatch_interval_ms),
            publish_rate: services::endpoints::Rate {
                per_second: NonZeroU32::new(jobs.publish_per_second).unwrap_or(NonZeroU32::MIN),
                burst: NonZeroU32::new(jobs.publish_burst).unwrap_or(NonZeroU32::MIN),
            },
        })
    }
}
