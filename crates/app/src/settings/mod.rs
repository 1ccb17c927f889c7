//! One settings tree, from an optional TOML file overridden by `IOTA_SCRIPTS__SECTION__KEY`
//! environment variables (and `DATABASE_URL`). Unknown keys and bad values are refused with
//! the name of the setting.

mod alerts;
mod http_endpoints;
mod jobs;
#[cfg(test)]
mod reference;
mod retention;
mod scripts;
mod sdk_db;
mod sections;

pub use alerts::{AlertsConfig, AlertsSettings};
pub use http_endpoints::HttpEndpointsSettings;
pub use retention::RetentionSettings;

pub use scripts::{BoundsSettings, ScriptSettings};
pub use sections::{
    BootstrapSettings, CacheSettings, DatabaseSettings, EngineSettings, HttpClientSettings,
    JobsSettings, LogSettings, MetricsSettings, SandboxSettings, SchedulerSettings, SdkDbSettings,
    ServerSettings,
};

use domain::script::{LimitBounds, ScriptRules};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::Path;

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub http_endpoints: HttpEndpointsSettings,
    pub database: DatabaseSettings,
    pub scripts: ScriptSettings,
    pub bootstrap: BootstrapSettings,
    pub engine: EngineSettings,
    pub sandbox: SandboxSettings,
    pub http_client: HttpClientSettings,
    pub sdk_db: SdkDbSettings,
    pub cache: CacheSettings,
    pub scheduler: SchedulerSettings,
    pub jobs: JobsSettings,
    pub log: LogSettings,
    pub alerts: AlertsSettings,
    pub retention: RetentionSettings,
    pub metrics: MetricsSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {setting}: {message}")]
    Invalid { setting: String, message: String },
}

fn invalid(setting: &str, message: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        setting: setting.to_owned(),
        message: message.into(),
    }
}

impl Settings {
    /// Reads `file` (if any), then the environment, and checks every value.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let mut builder = config::Config::builder();
        if let Some(file) = file {
            builder = builder.add_source(
                config::File::from(file)
                    .format(config::FileFormat::Toml)
                    .required(true),
            );
        }
        builder = builder.add_source(
            config::Environment::with_prefix("IOTA_SCRIPTS")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        );
        if let Ok(url) = std::env::var("DATABASE_URL") {
            builder = builder.set_override("database.url", url)?;
        }
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn bind_address(&self) -> Result<SocketAddr, SettingsError> {
        self.server.bind.parse().map_err(|_| {
            invalid(
                "server.bind",
                format!("\"{}\" is not host:port", self.server.bind),
            )
        })
    }

    pub fn script_rules(&self) -> Result<ScriptRules, SettingsError> {
        let b = &self.scripts.limit_bounds;
        let mut ranges = Vec::new();
        for (name, [min, max]) in [
            ("max_execution_time_ms", b.max_execution_time_ms),
            ("max_memory_bytes", b.max_memory_bytes),
            ("max_concurrent_runs", b.max_concurrent_runs),
            ("max_api_calls_per_minute", b.max_api_calls_per_minute),
            ("max_output_size_bytes", b.max_output_size_bytes),
        ] {
            if min > max || max > i64::MAX as u64 {
                return Err(invalid(
                    &format!("scripts.limit_bounds.{name}"),
                    format!("[{min}, {max}] is not a range"),
                ));
            }
            ranges.push(min..=max);
        }
        let mut ranges = ranges.into_iter();
        let mut next = || ranges.next().unwrap_or(0..=0);
        let limit_bounds = LimitBounds {
            max_execution_time_ms: next(),
            max_memory_bytes: next(),
            max_concurrent_runs: next(),
            max_api_calls_per_minute: next(),
            max_output_size_bytes: next(),
        };
        if let Err(errors) = limit_bounds.check_defaults(&self.scripts.default_limits) {
            let (field, message) = errors
                .fields()
                .iter()
                .next()
                .map(|(f, m)| (f.clone(), m.clone()))
                .unwrap_or_default();
            return Err(invalid(
                &format!("scripts.default_limits ({field})"),
                message,
            ));
        }
        if self.scripts.max_source_bytes == 0 {
            return Err(invalid("scripts.max_source_bytes", "must be more than 0"));
        }
        Ok(ScriptRules {
            default_limits: self.scripts.default_limits,
            limit_bounds,
            max_source_bytes: self.scripts.max_source_bytes,
            cron_syntax: if self.scheduler.allow_seconds {
                domain::script::CronSyntax::WithSeconds
            } else {
                domain::script::CronSyntax::Standard
            },
        })
    }

    pub fn http_settings(&self) -> Result<services::sdk::http::HttpSettings, SettingsError> {
        use services::sdk::http_policy::{AddressPolicy, AllowRule};
        let rules = AllowRule::parse_list(&self.http_client.allow)
            .map_err(|e| invalid("http_client.allow", e.to_string()))?;
        Ok(services::sdk::http::HttpSettings {
            policy: AddressPolicy::new(rules),
            default_timeout: std::time::Duration::from_millis(self.http_client.default_timeout_ms),
            max_response_bytes: self.http_client.max_response_bytes,
            max_redirects: self.http_client.max_redirects,
            request: services::sdk::http_request::RequestLimits {
                max_body_bytes: self.http_client.max_request_body_bytes,
                max_headers: self.http_client.max_request_headers,
                max_header_bytes: self.http_client.max_request_header_bytes,
                max_url_bytes: self.http_client.max_url_bytes,
            },
        })
    }

    pub fn engine_config(&self) -> runtime::EngineConfig {
        use std::time::Duration;
        let engine = &self.engine;
        let sandbox = &self.sandbox;
        let mode = if sandbox.program.is_empty() {
            runtime::WorkerMode::current_exe()
        } else {
            runtime::WorkerMode::Process {
                program: sandbox.program.clone().into(),
                args: vec![runtime::WORKER_ARG.to_owned()],
            }
        };
        // Room for every run a worker may hold at the largest memory limit, with its thread.
        let largest_script = self
            .script_rules()
            .map(|rules| *rules.limit_bounds.max_memory_bytes.end())
            .unwrap_or(256 * 1024 * 1024);
        let per_run = largest_script.saturating_add(8 * 1024 * 1024);
        // A worker holds one tenant's runs: never more than the tenant may run at once.
        let runs = sandbox
            .runs_per_worker
            .min(engine.max_concurrent_per_tenant) as u64;
        let worker_memory_bytes = match sandbox.worker_memory_bytes {
            0 => runs
                .saturating_mul(per_run)
                .saturating_add(256 * 1024 * 1024),
            set => set,
        };
        runtime::EngineConfig {
            max_concurrent_executions: engine.max_concurrent_executions,
            max_concurrent_per_tenant: engine.max_concurrent_per_tenant,
            max_log_entries: engine.max_log_entries,
            max_log_bytes: engine.max_log_bytes,
            max_stack_bytes: engine.max_stack_bytes,
            allow_eval: engine.allow_eval,
            watchdog_grace: Duration::from_millis(sandbox.grace_ms),
            sandbox: runtime::SandboxConfig {
                mode,
                runs_per_worker: sandbox.runs_per_worker,
                recycle_after_runs: sandbox.recycle_after_runs,
                warm_workers: sandbox.warm_workers,
                idle_timeout: Duration::from_millis(sandbox.idle_timeout_ms),
                worker_memory_bytes,
                compile_time: Duration::from_millis(sandbox.compile_time_ms),
                worker_nice: sandbox.worker_nice,
            },
            ..runtime::EngineConfig::default()
        }
    }

    fn validate(&self) -> Result<(), SettingsError> {
        self.http_settings()?;
        self.endpoint_config()?;
        self.script_data_config()?;
        self.scheduler_config(String::new())?;
        self.jobs_config()?;
        self.alerts_config()?;
        self.retention_config()?;
        let engine = &self.engine;
        for (name, value) in [
            (
                "engine.max_concurrent_executions",
                engine.max_concurrent_executions,
            ),
            (
                "engine.max_concurrent_per_tenant",
                engine.max_concurrent_per_tenant,
            ),
            ("engine.max_log_entries", engine.max_log_entries),
            ("engine.max_log_bytes", engine.max_log_bytes),
            ("sandbox.runs_per_worker", self.sandbox.runs_per_worker),
            (
                "sandbox.recycle_after_runs",
                usize::try_from(self.sandbox.recycle_after_runs).unwrap_or(usize::MAX),
            ),
            (
                "sandbox.compile_time_ms",
                usize::try_from(self.sandbox.compile_time_ms).unwrap_or(usize::MAX),
            ),
            (
                "sandbox.grace_ms",
                usize::try_from(self.sandbox.grace_ms).unwrap_or(usize::MAX),
            ),
            (
                "server.shutdown_grace_ms",
                usize::try_from(self.server.shutdown_grace_ms).unwrap_or(usize::MAX),
            ),
        ] {
            if value == 0 {
                return Err(invalid(name, "must be more than 0"));
            }
        }
        if !(0..=19).contains(&self.sandbox.worker_nice) {
            return Err(invalid("sandbox.worker_nice", "must be between 0 and 19"));
        }
        if !(64 * 1024..=2 * 1024 * 1024).contains(&engine.max_stack_bytes) {
            return Err(invalid(
                "engine.max_stack_bytes",
                "must be between 65536 and 2097152",
            ));
        }
        self.bind_address()?;
        self.script_rules()?;
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(invalid(
                "log.format",
                format!("\"{}\" is not text or json", self.log.format),
            ));
        }
        if !(self.database.url.starts_with("sqlite:") || self.database.url.starts_with("postgres"))
        {
            return Err(invalid(
                "database.url",
                "must start with sqlite: or postgres://",
            ));
        }
        domain::user::Email::parse(&self.bootstrap.admin_email)
            .map_err(|e| invalid("bootstrap.admin_email", e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn load_toml(text: &str) -> Result<Settings, SettingsError> {
        let mut file = tempfile_path();
        file.1.write_all(text.as_bytes()).expect("write");
        let loaded = Settings::load(Some(&file.0));
        let _ = std::fs::remove_file(&file.0);
        loaded
    }

    fn tempfile_path() -> (std::path::PathBuf, std::fs::File) {
        let path =
            std::env::temp_dir().join(format!("iota-settings-{}.toml", uuid::Uuid::new_v4()));
        let file = std::fs::File::create(&path).expect("create");
        (path, file)
    }

    #[test]
    fn defaults_are_valid() {
        let settings = load_toml("").expect("defaults");
        assert_eq!(settings.server.bind, "127.0.0.1:8080");
        assert!(settings.script_rules().is_ok());
    }

    #[test]
    fn bad_files_are_refused_with_the_setting_named() {
        let cases = [
            ("[server]\nbind = \"nowhere\"", "server.bind"),
            ("[server]\nport = 1", "port"),
            ("[log]\nformat = \"xml\"", "log.format"),
            (
                "[scripts.limit_bounds]\nmax_concurrent_runs = [10, 1]",
                "max_concurrent_runs",
            ),
            (
                "[scripts.default_limits]\nmax_execution_time_ms = 1\nmax_memory_bytes = 67108864\nmax_concurrent_runs = 5\nmax_api_calls_per_minute = 60\nmax_output_size_bytes = 1048576",
                "maxExecutionTimeMs",
            ),
            ("[database]\nurl = \"mysql://x\"", "database.url"),
            (
                "[bootstrap]\nadmin_email = \"nope\"",
                "bootstrap.admin_email",
            ),
            (
                "[http_client]\nallow = \"10.0.0.0/99\"",
                "http_client.allow",
            ),
            ("[sdk_db]\ntables = \"orders; drop\"", "sdk_db.tables"),
            ("[sdk_db]\npool_size = 0", "sdk_db.pool_size"),
            (
                "[server]\nshutdown_grace_ms = 0",
                "server.shutdown_grace_ms",
            ),
            (
                "[sdk_db]\nmax_transaction_ms = 0",
                "sdk_db.max_transaction_ms",
            ),
            (
                "[sdk_db]\npool_size = 2\nper_tenant_connections = 3",
                "sdk_db.per_tenant_connections",
            ),
            ("[sandbox]\nworker_nice = 20", "sandbox.worker_nice"),
            (
                "[retention]\nexecution_days = 40000",
                "retention.execution_days",
            ),
            (
                "[retention]\ntenant_days = \"acme\"",
                "retention.tenant_days",
            ),
            (
                "[retention]\ntenant_days = \"acme=x\"",
                "retention.tenant_days",
            ),
            (
                "[retention]\ntenant_days = \"a=1,a=2\"",
                "retention.tenant_days",
            ),
            ("[retention]\nbatch = 0", "retention.batch"),
            ("[sandbox]\nworker_nice = -1", "sandbox.worker_nice"),
            ("not toml at all [", "configuration"),
        ];
        for (text, expected) in cases {
            let error = load_toml(text).expect_err(text).to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
