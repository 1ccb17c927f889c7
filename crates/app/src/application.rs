//! Building the object graph from settings, and running the HTTP server on it.

use crate::settings::{Settings, SettingsError};
use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware};
use async_trait::async_trait;
use persistence::{
    Database, DatabaseError, SeaScriptRepository, SeaTenantRepository, SeaTokenRepository,
    SeaUserRepository,
};
use services::{AccountService, Clock, ScriptService, SystemClock};
use std::net::TcpListener;
use std::sync::Arc;
use web::{AppState, HealthCheck, HealthChecks};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Database(#[from] DatabaseError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
}

/// The services over one database: what the server and the CLI commands use.
#[derive(Clone)]
pub struct Components {
    pub database: Database,
    pub scripts: Arc<ScriptService>,
    pub accounts: Arc<AccountService>,
}

impl Components {
    /// Connects to the configured database, migrates it and builds the services.
    pub async fn build(settings: &Settings) -> Result<Self, StartError> {
        let rules = settings.script_rules()?;
        let database = Database::connect(&settings.database.url).await?;
        database.migrate().await?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let scripts = Arc::new(ScriptService::new(
            Arc::new(SeaScriptRepository::new(database.clone())),
            rules,
            clock.clone(),
        ));
        let accounts = Arc::new(AccountService::new(
            Arc::new(SeaTenantRepository::new(database.clone())),
            Arc::new(SeaUserRepository::new(database.clone())),
            Arc::new(SeaTokenRepository::new(database.clone())),
            clock,
        ));
        Ok(Self {
            database,
            scripts,
            accounts,
        })
    }
}

struct DatabaseCheck(Database);

#[async_trait]
impl HealthCheck for DatabaseCheck {
    fn name(&self) -> &'static str {
        "database"
    }

    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| e.to_string())
    }
}

/// A bound, not yet running HTTP server.
pub struct Application {
    port: u16,
    server: Server,
    pub components: Components,
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and prepares the server.
    pub async fn build(settings: &Settings, components: Components) -> Result<Self, StartError> {
        let address = settings.bind_address()?;
        let listener = TcpListener::bind(address).map_err(|source| StartError::Bind {
            address: address.to_string(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                address: address.to_string(),
                source,
            })?
            .port();
        let state = AppState {
            scripts: components.scripts.clone(),
            accounts: components.accounts.clone(),
            health: HealthChecks(vec![Arc::new(DatabaseCheck(components.database.clone()))]),
            max_body_bytes: settings
                .scripts
                .max_source_bytes
                .saturating_mul(4)
                .saturating_add(64 * 1024),
        };
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(middleware::NormalizePath::trim())
                .wrap(middleware::Logger::new("%r %s %Dms").log_target("iota_scripts::http"))
                .configure(web::configure(state.clone()))
        })
        .listen(listener)
        .map_err(|source| StartError::Bind {
            address: address.to_string(),
            source,
        })?
        .shutdown_timeout(30);
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        Ok(Self {
            port,
            server: server.run(),
            components,
        })
    }

    /// A handle that stops the server (gracefully or not) from elsewhere.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the server is stopped (Ctrl-C or SIGTERM stop it gracefully).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
