//! `[alerts]`: the SMTP server that failure alert emails go through (none by default: alert
//! emails are then logged as not sent) and how long an alert webhook may take.

use super::{Settings, SettingsError, invalid};
use serde::{Deserialize, Serialize};
use services::alerts::{SmtpSettings, SmtpTls};
use std::time::Duration;

/// Failure alerts of scripts: the SMTP server alert emails go through (the addresses and the
/// webhook are each script's own).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsSettings {
    /// The SMTP server's host name; empty: no alert emails.
    pub smtp_host: String,
    /// The SMTP server's port (587 for STARTTLS, 465 for TLS).
    pub smtp_port: u16,
    /// `starttls` (required upgrade), `tls` (from the first byte, port 465) or `none`.
    pub smtp_tls: String,
    /// The SMTP user name; set with `smtp_password`, or neither.
    pub smtp_user: String,
    /// The SMTP password; set with `smtp_user`.
    pub smtp_password: String,
    /// The sender, as `Name <address>` or an address.
    pub from: String,
    /// How long one SMTP exchange may take, in milliseconds.
    pub smtp_timeout_ms: u64,
    /// How long an alert webhook request may take, in milliseconds.
    pub webhook_timeout_ms: u64,
}

impl Default for AlertsSettings {
    fn default() -> Self {
        Self {
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_tls: "starttls".into(),
            smtp_user: String::new(),
            smtp_password: String::new(),
            from: "IOTA Scripts <alerts@localhost>".into(),
            smtp_timeout_ms: 10_000,
            webhook_timeout_ms: 10_000,
        }
    }
}

/// The alert senders' settings, checked.
pub struct AlertsConfig {
    pub smtp: Option<SmtpSettings>,
    pub webhook_timeout: Duration,
}

impl Settings {
    pub fn alerts_config(&self) -> Result<AlertsConfig, SettingsError> {
        let alerts = &self.alerts;
        for (name, value) in [
            ("alerts.smtp_timeout_ms", alerts.smtp_timeout_ms),
            ("alerts.webhook_timeout_ms", alerts.webhook_timeout_ms),
        ] {
            if value == 0 {
                return Err(invalid(name, "must be more than 0"));
            }
        }
        let tls = match alerts.smtp_tls.as_str() {
            "none" => SmtpTls::None,
            "starttls" => SmtpTls::StartTls,
            "tls" => SmtpTls::Tls,
            other => {
                return Err(invalid(
                    "alerts.smtp_tls",
                    format!("\"{other}\" is not one of starttls, tls, none"),
                ));
            }
        };
        let from = alerts.from.parse().map_err(|e| {
            invalid(
                "alerts.from",
                format!("\"{}\" is not a mailbox: {e}", alerts.from),
            )
        })?;
        let credentials = match (alerts.smtp_user.is_empty(), alerts.smtp_password.is_empty()) {
            (true, true) => None,
            (false, false) => Some((alerts.smtp_user.clone(), alerts.smtp_password.clone())),
            _ => {
                return Err(invalid(
                    "alerts.smtp_user",
                    "set both smtp_user and smtp_password, or neither",
                ));
            }
        };
        if alerts.smtp_port == 0 {
            return Err(invalid("alerts.smtp_port", "must be more than 0"));
        }
        let host = alerts.smtp_host.trim();
        let smtp = (!host.is_empty()).then(|| SmtpSettings {
            host: host.to_owned(),
            port: alerts.smtp_port,
            tls,
            credentials,
            from,
            timeout: Duration::from_millis(alerts.smtp_timeout_ms),
        });
        Ok(AlertsConfig {
            smtp,
            webhook_timeout: Duration::from_millis(alerts.webhook_timeout_ms),
        })
    }
}
