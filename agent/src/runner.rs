//! The daemon: enrolls each role, pings, long-polls for work, heartbeats its leases, and
//! stops cleanly — finishing the task in hand — when asked.

use crate::assess::{self, LoadedFile};
use crate::client::{self, ClientError, Coordinator, Session, with_backoff};
use crate::config::{AgentConfig, Role};
use crate::install::{self, ActionReport, Progress};
use crate::mcp_config::McpFile;
use crate::policy::Policy;
use anyhow::Context;
use clap::Parser;
use coordinator_api::ServerId;
use coordinator_api::executions::{CompleteRequest, ExecutionOutcome, ProgressRequest};
use coordinator_api::servers::{HealthReport, HealthStatus, RegisterServerRequest};
use coordinator_api::work::{AssessmentTask, ExecutionTask, Task, TaskKind};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::watch;

/// The tools a compliance agent offers.
const TOOLS: [&str; 2] = ["compliance_assessment", "generate_remediation_proposal"];
/// What an installer agent can do.
const CAPABILITIES: [&str; 4] = [
    "install_server",
    "remove_server",
    "update_server",
    "generate_config",
];

#[derive(Parser)]
#[command(
    name = "coordinator-agent",
    version,
    about = "Assesses and remediates this machine's MCP client configurations through the MCP Integration Coordinator"
)]
struct Cli {
    /// The agent's configuration file.
    #[arg(long, short, default_value = "agent.toml")]
    config: PathBuf,
    /// Assess the configured files once, print the result as JSON, and exit (no coordinator).
    #[arg(long)]
    check: bool,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AGENT_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
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
    let outcome = runtime.block_on(async {
        let config = AgentConfig::load(&cli.config)?;
        if cli.check {
            let policy = Policy::load(&config.policy)?;
            let assessment =
                assess::assess(&load_files(&config), &policy, &[], &assess::command_on_path);
            println!("{}", serde_json::to_string_pretty(&assessment.results)?);
            return Ok(());
        }
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("stopping: finishing the task in hand");
            let _ = stop.send(true);
        });
        run(config, stopped).await
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Every managed file as it is now: its servers, or why it cannot be read.
pub fn load_files(config: &AgentConfig) -> Vec<LoadedFile> {
    config
        .files
        .iter()
        .map(|file| LoadedFile {
            path: file.path.clone(),
            servers: match std::fs::read_to_string(&file.path) {
                Ok(text) => McpFile::parse(&text, file.format)
                    .map(|parsed| parsed.servers())
                    .map_err(|e| e.to_string()),
                // A file that does not exist yet simply configures nothing.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
                Err(err) => Err(format!("cannot read it: {err}")),
            },
        })
        .collect()
}

fn registration(
    role: &Role,
    kind: TaskKind,
    started: Instant,
) -> anyhow::Result<RegisterServerRequest> {
    let id = ServerId::parse(&role.server_id).map_err(|e| anyhow::anyhow!("server_id: {e}"))?;
    let names = |list: &[&str]| Some(list.iter().map(|s| (*s).to_owned()).collect());
    Ok(match kind {
        TaskKind::Assessment => RegisterServerRequest {
            server_id: Some(id),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            tools: names(&TOOLS),
            health: Some(health(started)),
            ..Default::default()
        },
        TaskKind::Execution => RegisterServerRequest {
            installer_id: Some(id),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            capabilities: names(&CAPABILITIES),
            health: Some(health(started)),
            ..Default::default()
        },
    })
}

fn health(started: Instant) -> HealthReport {
    HealthReport {
        status: HealthStatus::Healthy,
        uptime: Some(started.elapsed().as_secs()),
        last_check: Some(chrono::Utc::now()),
    }
}

/// Signs a role in: with the key kept from an earlier run (re-registering with it, which
/// refreshes what the agent offers and rotates the key), or by enrolling.
async fn sign_in(
    config: &AgentConfig,
    coordinator: &Coordinator,
    role: &Role,
    kind: TaskKind,
    started: Instant,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Option<Session>> {
    let registration = registration(role, kind, started)?;
    let key_file = client::key_file(&config.state_dir, &role.server_id);
    let attempt = || async {
        if let Some(key) = client::load_key(&key_file) {
            match coordinator.reregister(&key, &registration).await {
                Ok(answer) => return Ok(answer),
                // The key no longer works (the server was deleted, say): enroll again.
                Err(ClientError::Refused { status: 401, .. }) => {
                    tracing::warn!(server = %role.server_id, "the kept API key was refused; enrolling again");
                }
                Err(err) => return Err(err),
            }
        }
        let key = role
            .enrollment_key
            .as_deref()
            .ok_or_else(|| ClientError::Refused {
                status: 401,
                code: "unauthorized".to_owned(),
                message: format!(
                    "no API key in {} and no enrollment key configured",
                    key_file.display()
                ),
            })?;
        coordinator.enroll(key, &registration).await
    };
    let Some(answer) = with_backoff("registering", stop, attempt).await else {
        return Ok(None);
    };
    let answer = answer.with_context(|| format!("registering `{}`", role.server_id))?;
    client::save_key(&key_file, &answer.api_key)
        .with_context(|| format!("cannot keep the API key in {}", key_file.display()))?;
    tracing::info!(server = %role.server_id, kind = %kind, "registered");
    Ok(Some(Session::new(
        coordinator.clone(),
        role.server_id.clone(),
        answer.api_key,
    )))
}

/// Runs every configured role until `stop` turns true.
pub async fn run(config: AgentConfig, stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let policy = Arc::new(Policy::load(&config.policy)?);
    let coordinator = Coordinator::new(&config.coordinator_url)?;
    let started = Instant::now();
    let mut loops = Vec::new();
    for (role, kind) in [
        (config.compliance.clone(), TaskKind::Assessment),
        (config.installer.clone(), TaskKind::Execution),
    ] {
        let Some(role) = role else { continue };
        let Some(session) = sign_in(&config, &coordinator, &role, kind, started, &stop).await?
        else {
            return Ok(());
        };
        loops.push(tokio::spawn(ping_loop(
            session.clone(),
            config.clone(),
            started,
            stop.clone(),
        )));
        loops.push(tokio::spawn(work_loop(
            session,
            kind,
            config.clone(),
            policy.clone(),
            stop.clone(),
        )));
    }
    for task in loops {
        task.await.context("an agent loop stopped unexpectedly")?;
    }
    Ok(())
}

async fn ping_loop(
    session: Session,
    config: Arc<AgentConfig>,
    started: Instant,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(config.ping_interval);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        if let Err(err) = session.ping(Some(health(started))).await {
            tracing::warn!(error = %err, "ping failed");
        }
    }
}

async fn work_loop(
    session: Session,
    kind: TaskKind,
    config: Arc<AgentConfig>,
    policy: Arc<Policy>,
    stop: watch::Receiver<bool>,
) {
    loop {
        let claimed = with_backoff("claiming work", &stop, || {
            session.claim(kind, config.lease_seconds, config.poll_wait_seconds)
        })
        .await;
        let task = match claimed {
            None => return,
            Some(Ok(Some(task))) => task,
            Some(Ok(None)) => continue,
            Some(Err(err)) => {
                tracing::error!(error = %err, "the coordinator refused a claim; waiting before trying again");
                tokio::time::sleep(std::time::Duration::from_secs(10)).await;
                continue;
            }
        };
        // A claimed task is always finished, even when asked to stop meanwhile.
        let heartbeat = tokio::spawn(keep_lease(
            session.clone(),
            task.clone(),
            config.lease_seconds,
        ));
        let outcome = match (&task.assessment, &task.execution) {
            (Some(assessment), _) => {
                handle_assessment(&session, &config, &policy, assessment).await
            }
            (_, Some(execution)) => handle_execution(&session, &config, execution).await,
            _ => Err(anyhow::anyhow!("task {} carries no work", task.task_id)),
        };
        heartbeat.abort();
        if let Err(err) = outcome {
            tracing::error!(task = %task.task_id, error = format!("{err:#}"), "the task failed");
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Extends the lease well before it runs out, for as long as the task is in hand.
async fn keep_lease(session: Session, task: Task, lease_seconds: u32) {
    let every = std::time::Duration::from_secs(u64::from(lease_seconds / 3).max(1));
    loop {
        tokio::time::sleep(every).await;
        if let Err(err) = session.heartbeat(task.task_id, lease_seconds).await {
            tracing::warn!(task = %task.task_id, error = %err, "heartbeat failed");
        }
    }
}

async fn handle_assessment(
    session: &Session,
    config: &AgentConfig,
    policy: &Policy,
    task: &AssessmentTask,
) -> anyhow::Result<()> {
    let files = load_files(config);
    let assessment = assess::assess(
        &files,
        policy,
        &task.target_servers,
        &assess::command_on_path,
    );
    session
        .report_results(task.assessment_id, &assessment.results)
        .await
        .context("reporting results")?;
    tracing::info!(
        assessment = %task.assessment_id,
        issues = assessment.results.summary.total_issues,
        "assessment reported"
    );
    if let Some(mut proposal) = assess::proposal(task.assessment_id, &assessment) {
        // A server or variable name the coordinator would refuse would sink the whole
        // proposal; such fixes are left for a person, and the log says so.
        proposal.proposed_actions.retain(|action| {
            let acceptable = proposable_name(&action.server_name)
                && action.env.keys().all(|name| proposable_env_name(name));
            if !acceptable {
                tracing::warn!(server = %action.server_name, "no fix can be proposed under this name; fix it by hand");
            }
            acceptable
        });
        if proposal.proposed_actions.is_empty() {
            return Ok(());
        }
        let answer = session
            .propose(&proposal)
            .await
            .context("proposing a remediation")?;
        tracing::info!(proposal = %answer.proposal_id, actions = proposal.proposed_actions.len(), "remediation proposed");
    }
    Ok(())
}

/// The MCP server names the coordinator accepts in an action.
fn proposable_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '/'))
}

/// The env variable names the coordinator accepts.
fn proposable_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 128
}

/// Passes each action's report on to the coordinator.
struct Reporter<'a> {
    session: &'a Session,
    task: &'a ExecutionTask,
}

impl Progress for Reporter<'_> {
    async fn report(&self, report: &ActionReport) {
        let request = ProgressRequest {
            action_id: report.action_id.clone(),
            status: report.status,
            message: Some(report.message.clone()),
            payload_digest: self.task.payload_digest.clone(),
        };
        if let Err(err) = self
            .session
            .progress(self.task.execution_id, &request)
            .await
        {
            tracing::warn!(execution = %self.task.execution_id, error = %err, "reporting progress failed");
        }
    }
}

async fn handle_execution(
    session: &Session,
    config: &AgentConfig,
    task: &ExecutionTask,
) -> anyhow::Result<()> {
    // The actions must be exactly the ones approved, whatever arrived over the wire.
    let salt = hex::decode(&task.digest_salt).unwrap_or_default();
    let digest = coordinator_api::digest::payload_digest(&task.actions, &salt);
    if digest != task.payload_digest {
        tracing::error!(execution = %task.execution_id, "the actions do not match the approved digest; nothing applied");
        let request = CompleteRequest {
            outcome: ExecutionOutcome::Failed,
            payload_digest: task.payload_digest.clone(),
            message: Some("refused: the actions received do not match the approved payload digest; nothing was changed".to_owned()),
            report: None,
        };
        session
            .complete(task.execution_id, &request)
            .await
            .context("reporting the refusal")?;
        return Ok(());
    }
    let outcome = install::execute(config, task, &Reporter { session, task }).await;
    tracing::info!(execution = %task.execution_id, outcome = %outcome.outcome, "{}", outcome.message);
    let request = CompleteRequest {
        outcome: outcome.outcome,
        payload_digest: digest,
        message: Some(outcome.message),
        report: Some(serde_json::json!({ "dryRun": task.dry_run, "diffs": outcome.diffs })),
    };
    session
        .complete(task.execution_id, &request)
        .await
        .context("reporting the end")?;
    Ok(())
}
