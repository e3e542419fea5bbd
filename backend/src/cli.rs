//! The `coordinator` command line: serve (the default), migrate, openapi, user management
//! and audit verification/export. Commands that change data are audited as actor `cli`.

use crate::audit::{Origin, chain, retention, service as audit_service};
use crate::config::{Config, Source};
use crate::state::AppState;
use crate::{Application, api_doc, db, telemetry, users};
use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use coordinator_api::Role;
use coordinator_api::audit::{AuditQuery, ExportFormat};
use coordinator_api::users::{CreateUserRequest, UpdateUserRequest};
use futures_util::StreamExt;
use std::io::{BufRead, Write};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "coordinator", version, about = "MCP Integration Coordinator")]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Check or export the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Approver,
    User,
    Viewer,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Admin => Role::Admin,
            RoleArg::Approver => Role::Approver,
            RoleArg::User => Role::User,
            RoleArg::Viewer => Role::Viewer,
        }
    }
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. The password is read from the first line of standard input, or
    /// generated and printed once when standard input is empty.
    Add {
        username: String,
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// List users.
    List,
    /// Change a user's role (revokes their tokens).
    SetRole {
        username: String,
        #[arg(value_enum)]
        role: RoleArg,
    },
    /// Disable a user (revokes their tokens).
    Disable { username: String },
    /// Enable a disabled user.
    Enable { username: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Csv,
    Json,
    Ndjson,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain; exits 1 and names the first broken row when it is broken.
    Verify,
    /// Write the whole log to standard output.
    Export {
        #[arg(long, value_enum, default_value = "json")]
        format: FormatArg,
    },
    /// Prune rows older than AUDIT_RETENTION_DAYS now, as the service does hourly. Export
    /// first if the rows must be kept elsewhere.
    Prune {
        /// Overrides AUDIT_RETENTION_DAYS for this run.
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..))]
        older_than_days: Option<u32>,
    },
}

/// Parses the command line, runs it and turns any error into a one-line message.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Only `./.env`: a file in some parent directory must not configure the service unseen.
    // A missing one is normal; a malformed one is reported like any other setting.
    if let Err(err) = dotenvy::from_path(".env")
        && !err.not_found()
    {
        eprintln!("error: .env: {err}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

async fn state_for_command(config: Config) -> anyhow::Result<AppState> {
    let db = db::connect(&config.database, 2).await?;
    db::migrate(&db).await?;
    Ok(AppState::new(db, config))
}

/// For commands that write audit rows: refuse to start with a key the chain does not know.
async fn state_for_changes(config: Config) -> anyhow::Result<AppState> {
    let state = state_for_command(config).await?;
    chain::check_key(&state.db, &state.audit_key).await?;
    Ok(state)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Openapi = command {
        print!("{}", api_doc::openapi_json());
        return Ok(ExitCode::SUCCESS);
    }
    let config = Config::load(&Source::from_env())?;
    if !matches!(command, Command::Serve) {
        // `serve` logs these; other commands have no logger, so say them here.
        for warning in &config.warnings {
            eprintln!("warning: {warning}");
        }
    }
    match command {
        Command::Serve => {
            let _guard = telemetry::init(&config)?;
            let app = Application::build(config).await?;
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            state_for_command(config).await?;
            println!("migrations applied");
        }
        Command::User(command) => {
            run_user_command(&state_for_changes(config).await?, command).await?
        }
        Command::Audit(AuditCommand::Verify) => {
            let state = state_for_command(config).await?;
            let outcome = chain::verify(&state.db, &state.audit_key).await?;
            return Ok(match outcome.broken {
                None => {
                    println!("verified: {} rows, chain intact", outcome.checked_rows);
                    ExitCode::SUCCESS
                }
                Some((id, reason)) => {
                    println!(
                        "BROKEN at row {id}: {reason} ({} rows checked)",
                        outcome.checked_rows
                    );
                    ExitCode::from(1)
                }
            });
        }
        Command::Audit(AuditCommand::Prune { older_than_days }) => {
            let state = state_for_changes(config).await?;
            let days = older_than_days.unwrap_or(state.config.audit_retention_days);
            let Some(before) = retention::cutoff(days, chrono::Utc::now()) else {
                println!("AUDIT_RETENTION_DAYS is 0: nothing is pruned");
                return Ok(ExitCode::SUCCESS);
            };
            match retention::prune(&state, before, &Origin::system("cli")).await? {
                None => println!("nothing older than {days} days to prune"),
                Some(pruned) => println!(
                    "pruned {} rows older than {days} days, through chain position {} (row {})",
                    pruned.rows, pruned.through_seq, pruned.through_id
                ),
            }
        }
        Command::Audit(AuditCommand::Export { format }) => {
            let state = state_for_changes(config).await?;
            let query = AuditQuery {
                format: Some(match format {
                    FormatArg::Csv => ExportFormat::Csv,
                    FormatArg::Json => ExportFormat::Json,
                    FormatArg::Ndjson => ExportFormat::Ndjson,
                }),
                ..AuditQuery::default()
            };
            let (_, rows) = audit_service::export(&state, &Origin::system("cli"), query)
                .await
                .map_err(api)?;
            let mut rows = Box::pin(rows);
            let mut out = std::io::stdout().lock();
            while let Some(chunk) = rows.next().await {
                let chunk = chunk.map_err(|e| anyhow::anyhow!("{e}"))?;
                out.write_all(&chunk)?;
            }
            out.flush()?;
            chain::seal_pending(&state.db, &state.audit_key).await?;
        }
        Command::Openapi => {}
    }
    Ok(ExitCode::SUCCESS)
}

fn api(err: crate::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{}", err.message())
}

async fn run_user_command(state: &AppState, command: UserCommand) -> anyhow::Result<()> {
    let origin = Origin::system("cli");
    match command {
        UserCommand::Add { username, role } => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            let typed = line.trim_end_matches(['\r', '\n']).to_owned();
            let (password, generated) = if typed.is_empty() {
                let mut bytes = [0u8; 18];
                rand::fill(&mut bytes);
                (hex::encode(bytes), true)
            } else {
                (typed, false)
            };
            let user = users::service::create(
                state,
                &origin,
                CreateUserRequest {
                    username,
                    password: password.clone().into(),
                    role: role.into(),
                },
            )
            .await
            .map_err(api)?;
            println!(
                "created user {} ({}) with id {}",
                user.username, user.role, user.id
            );
            if generated {
                println!("password (shown once): {password}");
            }
        }
        UserCommand::List => {
            for user in users::service::list(state).await.map_err(api)? {
                println!(
                    "{:>5}  {:<24} {:<9} {}",
                    user.id,
                    user.username,
                    user.role,
                    if user.disabled { "disabled" } else { "active" }
                );
            }
        }
        UserCommand::SetRole { username, role } => {
            update(
                state,
                &origin,
                &username,
                UpdateUserRequest {
                    role: Some(role.into()),
                    ..Default::default()
                },
            )
            .await?;
        }
        UserCommand::Disable { username } => {
            update(
                state,
                &origin,
                &username,
                UpdateUserRequest {
                    disabled: Some(true),
                    ..Default::default()
                },
            )
            .await?;
        }
        UserCommand::Enable { username } => {
            update(
                state,
                &origin,
                &username,
                UpdateUserRequest {
                    disabled: Some(false),
                    ..Default::default()
                },
            )
            .await?;
        }
    }
    chain::seal_pending(&state.db, &state.audit_key).await?;
    Ok(())
}

async fn update(
    state: &AppState,
    origin: &Origin,
    username: &str,
    request: UpdateUserRequest,
) -> anyhow::Result<()> {
    let user = users::service::find_by_username(state, username)
        .await
        .map_err(api)?;
    let updated = users::service::update(state, origin, user.id, request)
        .await
        .map_err(api)?;
    println!(
        "{}: role {}, {}",
        updated.username,
        updated.role,
        if updated.disabled {
            "disabled"
        } else {
            "active"
        }
    );
    Ok(())
}
