//! How an alert leaves the node: an email over SMTP (lettre) to each address, and a JSON
//! `POST` to the webhook through the same address policy as `sdk.http`, so an alert cannot
//! reach what a script may not.

use crate::clock::Clock;
use crate::sdk::http::HttpGateway;
use async_trait::async_trait;
use domain::alerts::{Alert, AlertCause};
use domain::script::AlertSettings;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Sends alerts; failures are logged, never raised to the run that caused them.
#[async_trait]
pub trait AlertSender: Send + Sync {
    async fn send(&self, alert: &Alert, to: &AlertSettings);
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (a relay on a trusted network, or a test server).
    None,
    /// Upgrade with STARTTLS, which must succeed.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// The SMTP server that alert emails go through.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// Both or neither.
    pub credentials: Option<(String, String)>,
    pub from: Mailbox,
    pub timeout: Duration,
}

/// Email through SMTP and the webhook through the address policy.
pub struct AlertDelivery {
    mailer: Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>,
    webhooks: Arc<HttpGateway>,
    webhook_timeout: Duration,
    clock: Arc<dyn Clock>,
}

impl AlertDelivery {
    /// Without SMTP settings, alert emails are not sent (and a warning says so each time).
    pub fn new(
        smtp: Option<SmtpSettings>,
        webhooks: Arc<HttpGateway>,
        webhook_timeout: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        let mailer = match smtp {
            None => None,
            Some(smtp) => {
                let mut builder = match smtp.tls {
                    SmtpTls::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                    }
                    SmtpTls::StartTls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                            .map_err(|e| format!("alerts.smtp_host: {e}"))?
                    }
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                        .map_err(|e| format!("alerts.smtp_host: {e}"))?,
                }
                .port(smtp.port)
                .timeout(Some(smtp.timeout));
                if let Some((user, password)) = smtp.credentials {
                    builder = builder.credentials(Credentials::new(user, password));
                }
                Some((builder.build(), smtp.from))
            }
        };
        Ok(Self {
            mailer,
            webhooks,
            webhook_timeout,
            clock,
        })
    }

    async fn email(&self, alert: &Alert, to: &[String]) {
        let Some((transport, from)) = &self.mailer else {
            tracing::warn!(script = %alert.script_id, "an alert email is due but no SMTP server is configured ([alerts] smtp_host)");
            return;
        };
        let (subject, body) = text(alert);
        for address in to {
            let Ok(recipient) = address.parse::<Mailbox>() else {
                tracing::warn!(script = %alert.script_id, address, "alert address cannot be used");
                continue;
            };
            let message = Message::builder()
                .from(from.clone())
                .to(recipient)
                .subject(subject.clone())
                .header(ContentType::TEXT_PLAIN)
                .body(body.clone());
            let sent = match message {
                Ok(message) => transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match sent {
                Ok(()) => {
                    tracing::info!(script = %alert.script_id, kind = alert.cause.kind(), "alert email sent")
                }
                Err(error) => {
                    tracing::warn!(script = %alert.script_id, %error, "alert email not sent")
                }
            }
        }
    }

    async fn webhook(&self, alert: &Alert, url: &str) {
        let options = json!({ "headers": { "User-Agent": "iota-scripts-alerts" } });
        let args = json!(["POST", url, alert, options]);
        let deadline = self.clock.instant() + self.webhook_timeout;
        match self.webhooks.request(&args, deadline).await {
            Ok(response) if response["status"].as_u64().is_some_and(|s| s < 400) => {
                tracing::info!(script = %alert.script_id, kind = alert.cause.kind(), "alert webhook sent")
            }
            Ok(response) => {
                tracing::warn!(script = %alert.script_id, status = %response["status"], "alert webhook refused")
            }
            Err(error) => {
                tracing::warn!(script = %alert.script_id, %error, "alert webhook not sent")
            }
        }
    }
}

#[async_trait]
impl AlertSender for AlertDelivery {
    async fn send(&self, alert: &Alert, to: &AlertSettings) {
        if !to.emails.is_empty() {
            self.email(alert, &to.emails).await;
        }
        if let Some(url) = &to.webhook_url {
            self.webhook(alert, url).await;
        }
    }
}

/// The subject and plain-text body of an alert email.
pub fn text(alert: &Alert) -> (String, String) {
    let name = &alert.script_name;
    let (subject, what) = match &alert.cause {
        AlertCause::Failure {
            execution_id,
            status,
            code,
            message,
        } => (
            format!("Script \"{name}\" failed"),
            format!("The run {execution_id} ended {status}: {code}: {message}"),
        ),
        AlertCause::DeadLetter {
            dead_letter_id,
            event_type,
            attempts,
            message,
        } => (
            format!("Script \"{name}\": an event went to the dead letters"),
            format!(
                "The {event_type} event failed all {attempts} attempts and is kept as dead letter {dead_letter_id}: {message}"
            ),
        ),
        AlertCause::MissedRun { scheduled_for } => (
            format!("Script \"{name}\" missed a scheduled run"),
            format!("The run due at {scheduled_for} did not start on time."),
        ),
        AlertCause::Recovered { execution_id } => (
            format!("Script \"{name}\" recovered"),
            format!("The run {execution_id} completed after the failures alerted before."),
        ),
    };
    let mut body = format!(
        "{what}\n\nScript: {name} ({})\nTenant: {}\nAt: {}\n",
        alert.script_id, alert.tenant_id, alert.at
    );
    if alert.consecutive_failures > 1 {
        body.push_str(&format!(
            "Failed runs in a row: {}\n",
            alert.consecutive_failures
        ));
    }
    if alert.held_back > 0 {
        body.push_str(&format!(
            "{} more alert(s) were held back since the last one.\n",
            alert.held_back
        ));
    }
    (format!("[IOTA Scripts] {subject}"), body)
}
