//! The `iota-scripts` command: serve, migrate, and the account commands of the operator.

use anyhow::Context;
use clap::{Parser, Subcommand};
use domain::Role;
use iota_scripts::application::StartError;
use iota_scripts::{Application, Components, Settings, drain, telemetry};
use services::NewUser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "iota-scripts",
    version,
    about = "Multi-tenant JavaScript scripting platform"
)]
struct Cli {
    /// A TOML settings file; IOTA_SCRIPTS__SECTION__KEY variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrating the database first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Run a local JavaScript file once in the sandbox, printing its logs and output.
    Run {
        file: PathBuf,
        /// The input, as JSON (`context.input` and the entry point's argument).
        #[arg(long, default_value = "null")]
        input: String,
        /// The script type, which decides the entry point (`handleRequest` for http…).
        #[arg(long = "type", default_value = "oneoff")]
        script_type: String,
        /// The time limit in milliseconds.
        #[arg(long, default_value_t = 30_000)]
        timeout_ms: u64,
    },
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant; prints its id and slug.
    Create {
        name: String,
        #[arg(long)]
        slug: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user in a tenant.
    Create {
        #[arg(long, value_name = "SLUG")]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long, env = "IOTA_SCRIPTS_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "developer", value_parser = parse_role)]
        role: Role,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for a user; prints the token as the last line.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

fn parse_role(raw: &str) -> Result<Role, String> {
    raw.parse()
        .map_err(|e: domain::actor::UnknownRole| e.to_string())
}

fn main() -> anyhow::Result<()> {
    // Started as a sandbox worker: serve the supervisor and exit, before anything else runs
    // (no runtime, no settings, no environment).
    runtime::run_worker_if_requested();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(run());
    // What is left (a blocking task stuck on a dead connection) does not hold the exit up.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    result
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    telemetry::init(&settings.log);
    match cli.command {
        Command::Serve => serve(settings).await,
        Command::Run {
            file,
            input,
            script_type,
            timeout_ms,
        } => run_file(&settings, &file, &input, &script_type, timeout_ms).await,
        Command::Migrate => {
            Components::build(&settings).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Tenant {
            command: TenantCommand::Create { name, slug },
        } => {
            let components = Components::build(&settings).await?;
            let tenant = components
                .accounts
                .create_tenant(&name, slug.as_deref())
                .await?;
            println!(
                "tenant created\nid:   {}\nslug: {}",
                tenant.id,
                tenant.slug.as_str()
            );
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Create {
                    tenant,
                    email,
                    password,
                    role,
                },
        } => {
            let components = Components::build(&settings).await?;
            let new = NewUser {
                tenant_slug: tenant,
                email,
                password,
                role,
            };
            let user = components.accounts.create_user(&new).await?;
            println!(
                "user created\nid:    {}\nemail: {}\nrole:  {role}",
                user.id,
                user.email.as_str()
            );
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Create { email, name },
        } => {
            let components = Components::build(&settings).await?;
            let (token, secret) = components.accounts.create_token(&email, &name).await?;
            println!(
                "token {} created for {email}; it is shown only once:",
                token.id
            );
            println!("{}", secret.expose());
            Ok(())
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let components = Components::build(&settings).await?;
    if let Some(admin) = components
        .accounts
        .ensure_first_admin(&settings.bootstrap.admin_email)
        .await?
    {
        println!(
            "First start: created tenant \"{}\" and its admin.",
            admin.tenant.slug.as_str()
        );
        println!("  email:    {}", admin.email);
        println!("  password: {}", admin.password);
        println!(
            "Create an API token with: iota-scripts token create --email {}",
            admin.email
        );
    }
    let application = Application::build(&settings, components)
        .await
        .map_err(|e: StartError| anyhow::anyhow!(e))?;
    tracing::info!(address = %settings.server.bind, port = application.port(), "serving");
    println!(
        "IOTA Scripts listening on http://{}",
        settings
            .server
            .bind
            .replace(":0", &format!(":{}", application.port()))
    );
    // SIGTERM or Ctrl-C drains the node: see `Application::run_until_stopped`.
    drain::on_signal(application.components.drain.clone());
    application
        .run_until_stopped()
        .await
        .context("server stopped with an error")
}

async fn run_file(
    settings: &Settings,
    file: &std::path::Path,
    input: &str,
    script_type: &str,
    timeout_ms: u64,
) -> anyhow::Result<()> {
    use domain::execution::Outcome;
    let source =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let input: serde_json::Value =
        serde_json::from_str(input).context("--input is not valid JSON")?;
    let script_type: domain::script::ScriptType = script_type.parse()?;
    let mut limits = settings.script_rules()?.default_limits;
    limits.max_execution_time_ms = timeout_ms;
    let engine = runtime::Engine::new(
        settings.engine_config(),
        std::sync::Arc::new(runtime::NoHost),
        tokio::runtime::Handle::current(),
    );
    let job = runtime::Job {
        execution_id: domain::ExecutionId::new(),
        tenant_id: domain::TenantId::new(),
        script_id: domain::ScriptId::new(),
        script_version: 1,
        user_id: None,
        script_type,
        source: source.into(),
        limits,
        input: input.clone(),
        argument: input,
        trigger: serde_json::json!({ "type": "manual" }),
        event_depth: 0,
        live: None,
    };
    let report = engine.run(job).await?;
    for entry in &report.logs {
        let metadata = if entry.metadata.is_null() {
            String::new()
        } else {
            format!(" {}", entry.metadata)
        };
        eprintln!(
            "[{}] {}{metadata}",
            serde_json::to_value(entry.level)?
                .as_str()
                .unwrap_or("info"),
            entry.message
        );
    }
    let duration = (report.finished_at - report.started_at).num_milliseconds();
    match report.outcome {
        Outcome::Completed(output) => {
            println!("{}", serde_json::to_string_pretty(&output)?);
            eprintln!(
                "completed in {duration} ms, {} bytes of memory",
                report.memory_bytes
            );
            Ok(())
        }
        Outcome::Failed(error) | Outcome::TimedOut(error) => {
            let at = match (error.line, error.column) {
                (Some(line), Some(column)) => format!(" at {}:{line}:{column}", file.display()),
                _ => String::new(),
            };
            eprintln!("{}: {}{at}", error.code, error.message);
            if let Some(stack) = error.stack {
                eprintln!("{stack}");
            }
            std::process::exit(1);
        }
        Outcome::Cancelled => anyhow::bail!("the execution was cancelled"),
    }
}
