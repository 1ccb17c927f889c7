//! `[http_endpoints]`: the limits of script HTTP endpoints (`/api/scripts/…`, `/hooks/…`):
//! body size, request rates, the wait for a concurrency slot, and how often other nodes'
//! route changes are looked for.

use super::{Settings, SettingsError, invalid};
use serde::{Deserialize, Serialize};
use services::endpoints::{EndpointConfig, Rate};
use std::num::NonZeroU32;
use std::time::Duration;

/// Script HTTP endpoints (`/api/scripts/…` and public webhooks at `/hooks/{tenantSlug}/…`):
/// body size, request rates (counted on each node), and the wait for an execution slot.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpEndpointsSettings {
    /// The largest request body, in bytes; larger requests get 413.
    pub max_body_bytes: usize,
    /// Requests per second one tenant's endpoints take together.
    pub tenant_requests_per_second: u32,
    /// Requests a tenant may send at once after a quiet time.
    pub tenant_burst: u32,
    /// Requests per second one endpoint (route) takes.
    pub endpoint_requests_per_second: u32,
    /// Requests one endpoint may take at once after a quiet time.
    pub endpoint_burst: u32,
    /// Requests of one tenant that may wait for a free execution slot at once.
    pub queue_depth: usize,
    /// How long a request waits for a free execution slot before 429, in milliseconds.
    pub queue_wait_ms: u64,
    /// How often this node looks for route changes made on other nodes, in milliseconds.
    pub route_refresh_ms: u64,
}

impl Default for HttpEndpointsSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            tenant_requests_per_second: 100,
            tenant_burst: 100,
            endpoint_requests_per_second: 50,
            endpoint_burst: 50,
            queue_depth: 64,
            queue_wait_ms: 2000,
            route_refresh_ms: 1000,
        }
    }
}

fn positive(name: &str, value: u64) -> Result<u64, SettingsError> {
    match value {
        0 => Err(invalid(
            &format!("http_endpoints.{name}"),
            "must be more than 0",
        )),
        value => Ok(value),
    }
}

fn rate(name: &str, per_second: u32, burst_name: &str, burst: u32) -> Result<Rate, SettingsError> {
    let nonzero = |name: &str, value: u32| {
        NonZeroU32::new(value)
            .ok_or_else(|| invalid(&format!("http_endpoints.{name}"), "must be more than 0"))
    };
    Ok(Rate {
        per_second: nonzero(name, per_second)?,
        burst: nonzero(burst_name, burst)?,
    })
}

impl Settings {
    /// The endpoints' configuration; a 0 anywhere is refused with the setting named.
    pub fn endpoint_config(&self) -> Result<EndpointConfig, SettingsError> {
        let s = &self.http_endpoints;
        let size = |value: usize| u64::try_from(value).unwrap_or(u64::MAX);
        positive("max_body_bytes", size(s.max_body_bytes))?;
        positive("queue_depth", size(s.queue_depth))?;
        Ok(EndpointConfig {
            max_body_bytes: s.max_body_bytes,
            tenant_rate: rate(
                "tenant_requests_per_second",
                s.tenant_requests_per_second,
                "tenant_burst",
                s.tenant_burst,
            )?,
            route_rate: rate(
                "endpoint_requests_per_second",
                s.endpoint_requests_per_second,
                "endpoint_burst",
                s.endpoint_burst,
            )?,
            queue_depth: s.queue_depth,
            queue_wait: Duration::from_millis(positive("queue_wait_ms", s.queue_wait_ms)?),
            refresh_every: Duration::from_millis(positive("route_refresh_ms", s.route_refresh_ms)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_are_refused_with_the_setting_named() {
        for (name, set) in [
            (
                "max_body_bytes",
                (|s| s.max_body_bytes = 0) as fn(&mut HttpEndpointsSettings),
            ),
            ("tenant_requests_per_second", |s| {
                s.tenant_requests_per_second = 0
            }),
            ("tenant_burst", |s| s.tenant_burst = 0),
            ("endpoint_requests_per_second", |s| {
                s.endpoint_requests_per_second = 0
            }),
            ("endpoint_burst", |s| s.endpoint_burst = 0),
            ("queue_depth", |s| s.queue_depth = 0),
            ("queue_wait_ms", |s| s.queue_wait_ms = 0),
            ("route_refresh_ms", |s| s.route_refresh_ms = 0),
        ] {
            let mut settings = Settings::default();
            set(&mut settings.http_endpoints);
            let error = settings.endpoint_config().err().map(|e| e.to_string());
            assert!(
                error
                    .as_deref()
                    .is_some_and(|e| e.contains(&format!("http_endpoints.{name}"))),
                "{name}: {error:?}"
            );
        }
        assert!(Settings::default().endpoint_config().is_ok());
    }
}
