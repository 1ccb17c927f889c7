//! The Prometheus recorder of this process (installed once, whatever the number of servers
//! a process builds, as tests do) and the sampler of the backlog gauges, which need a query.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use persistence::Database;
use services::health::Heartbeat;
use services::metrics::{CRON_LATENESS, DURATION_BUCKETS, EXECUTION_DURATION, LATENESS_BUCKETS};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::task::JoinHandle;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// This process's recorder, installed on first use; `None` if another recorder was installed
/// first (by a host application that embeds the product).
pub fn exporter() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let installed = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(EXECUTION_DURATION.into()), DURATION_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(CRON_LATENESS.into()), LATENESS_BUCKETS)
                })
                .and_then(|b| b.install_recorder());
            match installed {
                Ok(handle) => {
                    keep_up(handle.clone());
                    Some(handle)
                }
                Err(error) => {
                    tracing::warn!(%error, "metrics are not exported: another recorder is installed");
                    None
                }
            }
        })
        .clone()
}

/// How often the recorder folds recorded histogram samples into its buckets.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Folds the recorder's histogram samples into their buckets every [`UPKEEP_EVERY`], for the
/// life of the process (the recorder's). The recorder keeps each sample until a scrape or an
/// upkeep folds it in: with nothing scraping `/metrics`, a busy node held about 20 bytes per
/// execution for good.
fn keep_up(handle: PrometheusHandle) {
    let started = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                handle.run_upkeep();
            }
        });
    if let Err(error) = started {
        tracing::warn!(%error, "the metrics upkeep thread could not start: histogram samples wait for a scrape");
    }
}

/// What `/metrics` serves under `[metrics]`; `None` when it is turned off.
pub fn export(settings: &crate::Settings) -> Option<web::metrics::MetricsExport> {
    let metrics = &settings.metrics;
    if !metrics.enabled {
        return None;
    }
    let handle = exporter()?;
    Some(web::metrics::MetricsExport {
        render: std::sync::Arc::new(move || handle.render()),
        token: (!metrics.token.is_empty()).then(|| metrics.token.clone()),
    })
}

/// Samples the job-queue depth and the pending dead letters every `every`, until aborted; each
/// sample beats `queue` (the job queue's storage answered, or not).
pub fn sample_backlog(database: Database, every: Duration, queue: Heartbeat) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match persistence::backlog(&database).await {
                Ok((jobs, dead_letters)) => {
                    queue.succeeded();
                    services::metrics::backlog(jobs, dead_letters);
                }
                Err(error) => {
                    queue.failed(error.to_string());
                    tracing::warn!(%error, "the backlog gauges could not be sampled");
                }
            }
            tokio::time::sleep(every).await;
        }
    })
}
