//! Building the failure alerts of a node from its settings: the SMTP sender, the webhook
//! gateway with the `sdk.http` address policy, and the shared alert state.

use crate::application::StartError;
use crate::settings::Settings;
use persistence::{Database, SeaAlertStateRepository};
use services::Clock;
use services::alerts::{AlertDelivery, Alerts};
use services::sdk::http::HttpGateway;
use std::sync::Arc;

/// Failure alerts, sent by email through the configured SMTP server and by webhook through
/// the same address policy as `sdk.http`.
pub(crate) fn alerts(
    settings: &Settings,
    database: &Database,
    clock: Arc<dyn Clock>,
) -> Result<Arc<Alerts>, StartError> {
    let config = settings.alerts_config()?;
    let webhooks = Arc::new(HttpGateway::new(settings.http_settings()?));
    let delivery = AlertDelivery::new(config.smtp, webhooks, config.webhook_timeout, clock.clone())
        .map_err(StartError::Alerts)?;
    Ok(Arc::new(Alerts::new(
        Arc::new(SeaAlertStateRepository::new(database.clone())),
        Arc::new(delivery),
        clock,
    )))
}
