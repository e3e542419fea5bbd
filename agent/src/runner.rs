//! The daemon: signs each role in, pings, long-polls for work, heartbeats its leases, and
//! stops cleanly — finishing the task in hand — when asked.

use crate::assess::{self, LoadedFile};
use crate::client::{self, ClientError, Coordinator, Session, with_backoff, with_retries};
use crate::config::{AgentConfig, Role};
use crate::install::{self, ActionReport, Progress};
use crate::mcp_config::McpFile;
use crate::policy::Policy;
use anyhow::Context;
use clap::Parser;
use coordinator_api::ServerId;
use coordinator_api::executions::{CompleteRequest, ExecutionOutcome, ProgressRequest};
use coordinator_api::servers::{HealthReport, HealthStatus, RegisterServerRequest};
use coordinator_api::work::{AssessmentTask, ExecutionTask, TaskKind};
use coordinator_api::{Secret, TaskId};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
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
        .map(|file| {
            let parsed = match std::fs::read_to_string(&file.path) {
                Ok(text) => McpFile::parse(&text, file.format)
                    .map(Some)
                    .map_err(|e| e.to_string()),
                // A file that does not exist yet simply configures nothing.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(err) => Err(format!("cannot read it: {err}")),
            };
            LoadedFile {
                path: file.path.clone(),
                not_mcp_config: match &parsed {
                    Ok(Some(parsed)) => parsed.not_mcp_config().cloned(),
                    _ => None,
                },
                servers: parsed.map(|parsed| parsed.map(|p| p.servers()).unwrap_or_default()),
            }
        })
        .collect()
}

fn registration(
    config: &AgentConfig,
    role: &Role,
    kind: TaskKind,
    started: Instant,
) -> anyhow::Result<RegisterServerRequest> {
    let id = ServerId::parse(&role.server_id).map_err(|e| anyhow::anyhow!("server_id: {e}"))?;
    let names = |list: &[&str]| Some(list.iter().map(|s| (*s).to_owned()).collect());
    Ok(match kind {
        TaskKind::Assessment => RegisterServerRequest {
            server_id: Some(id),
            machine_id: Some(config.machine_id.clone()),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            tools: names(&TOOLS),
            health: Some(health(started)),
            ..Default::default()
        },
        TaskKind::Execution => RegisterServerRequest {
            installer_id: Some(id),
            machine_id: Some(config.machine_id.clone()),
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

/// How long to wait before claiming again after the coordinator refused a claim.
const REFUSED_PAUSE: Duration = Duration::from_secs(10);
/// How long to wait before trying again when a role cannot sign in: that takes a person
/// (a new enrollment key, say), so there is no point in asking often.
const SIGN_IN_PAUSE: Duration = Duration::from_secs(60);

/// How a role signed in.
enum SignedIn {
    /// With the key kept from an earlier run, which still works.
    Kept(Secret),
    /// By enrolling; the key received must be kept.
    Enrolled(Secret),
}

/// Signs a role in: with the key kept from an earlier run when a ping shows it still works,
/// otherwise by enrolling with the configured enrollment key. Returns `None` when asked to
/// stop meanwhile.
///
/// A kept key is not re-registered: registering rotates the key, and an agent stopped between
/// that answer and saving the new key would be locked out with a dead key on disk.
async fn sign_in(
    config: &AgentConfig,
    coordinator: &Coordinator,
    role: &Role,
    kind: TaskKind,
    started: Instant,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Option<Secret>> {
    let registration = registration(config, role, kind, started)?;
    let key_file = client::key_file(&config.state_dir, &role.server_id);
    let refused = |message: String| ClientError::Refused {
        status: 401,
        code: "unauthorized".to_owned(),
        message,
    };
    let attempt = || async {
        if let Some(key) = client::load_key(&key_file) {
            let probe = Session::new(coordinator.clone(), role.server_id.clone(), key.clone());
            match probe.ping(Some(health(started))).await {
                Ok(()) => return Ok(SignedIn::Kept(key)),
                // The key no longer works (the server was deleted, say): enroll again.
                Err(err) if err.is_unauthorized() && role.enrollment_key.is_some() => {
                    tracing::warn!(server = %role.server_id, "the kept API key was refused; enrolling again");
                }
                Err(err) if err.is_unauthorized() => {
                    return Err(refused(format!(
                        "the API key kept in {} was refused, and no enrollment key is configured \
                         to enroll again",
                        key_file.display()
                    )));
                }
                Err(err) => return Err(err),
            }
        }
        let Some(enrollment_key) = &role.enrollment_key else {
            return Err(refused(format!(
                "no API key in {} and no enrollment key configured",
                key_file.display()
            )));
        };
        coordinator
            .enroll(enrollment_key, &registration)
            .await
            .map(|answer| SignedIn::Enrolled(answer.api_key))
    };
    let Some(answer) = with_backoff("signing in", stop, attempt).await else {
        return Ok(None);
    };
    match answer.with_context(|| format!("signing in `{}`", role.server_id))? {
        SignedIn::Kept(key) => {
            if let Err(err) = client::restrict_key_file(&key_file) {
                tracing::warn!(file = %key_file.display(), error = %err, "cannot make the key file private");
            }
            tracing::info!(server = %role.server_id, kind = %kind, "signed in with the kept API key");
            Ok(Some(key))
        }
        SignedIn::Enrolled(key) => {
            client::save_key(&key_file, &key)
                .with_context(|| format!("cannot keep the API key in {}", key_file.display()))?;
            tracing::info!(server = %role.server_id, kind = %kind, "enrolled");
            Ok(Some(key))
        }
    }
}

/// One signed-in role: its session, and what it takes to sign in again.
struct Identity {
    config: Arc<AgentConfig>,
    role: Role,
    kind: TaskKind,
    started: Instant,
    session: Session,
    /// One sign-in at a time: the ping and work loops may see the key refused together, and
    /// an enrollment key works only once.
    signing_in: tokio::sync::Mutex<()>,
}

impl Identity {
    /// Signs in again after the key of `generation` was refused (revoked, or rotated by
    /// another copy of the agent). Says whether the role has a working key again.
    async fn sign_in_again(&self, generation: u64, stop: &watch::Receiver<bool>) -> bool {
        let _one_at_a_time = self.signing_in.lock().await;
        if self.session.generation() != generation {
            // Another loop did it while this one waited.
            return true;
        }
        tracing::warn!(server = %self.role.server_id, "the API key was refused; signing in again");
        let signed_in = sign_in(
            &self.config,
            &self.session.coordinator,
            &self.role,
            self.kind,
            self.started,
            stop,
        )
        .await;
        match signed_in {
            Ok(Some(key)) => {
                self.session.replace_key(key);
                true
            }
            Ok(None) => false,
            Err(err) => {
                tracing::error!(server = %self.role.server_id, error = format!("{err:#}"), "cannot sign in again");
                false
            }
        }
    }
}

/// Waits `duration`, or less when asked to stop; says whether to go on.
async fn pause(stop: &watch::Receiver<bool>, duration: Duration) -> bool {
    let mut stop = stop.clone();
    if *stop.borrow_and_update() {
        return false;
    }
    tokio::select! {
        _ = tokio::time::sleep(duration) => true,
        _ = stop.changed() => false,
    }
}

/// Runs every configured role until `stop` turns true.
pub async fn run(config: AgentConfig, stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let policy = Arc::new(Policy::load(&config.policy)?);
    let coordinator = Coordinator::new(&config.coordinator_url, config.ca_file.as_deref())?;
    let started = Instant::now();
    // Every role signs in before any loop starts: a role that cannot (or a stop meanwhile)
    // then ends the run before anything was claimed, never while a task is in hand.
    let mut identities = Vec::new();
    for (role, kind) in [
        (config.compliance.clone(), TaskKind::Assessment),
        (config.installer.clone(), TaskKind::Execution),
    ] {
        let Some(role) = role else { continue };
        let Some(key) = sign_in(&config, &coordinator, &role, kind, started, &stop).await? else {
            return Ok(());
        };
        identities.push(Arc::new(Identity {
            config: config.clone(),
            session: Session::new(coordinator.clone(), role.server_id.clone(), key),
            role,
            kind,
            started,
            signing_in: tokio::sync::Mutex::new(()),
        }));
    }
    let mut loops = Vec::new();
    for identity in identities {
        loops.push(tokio::spawn(ping_loop(identity.clone(), stop.clone())));
        loops.push(tokio::spawn(work_loop(
            identity,
            policy.clone(),
            stop.clone(),
        )));
    }
    // Every loop is waited for, even after one failed, so that none is cut off in the middle
    // of a task.
    let mut failed = None;
    for task in loops {
        if let Err(err) = task.await {
            failed.get_or_insert(err);
        }
    }
    match failed {
        Some(err) => Err(anyhow::Error::new(err).context("an agent loop stopped unexpectedly")),
        None => Ok(()),
    }
}

async fn ping_loop(identity: Arc<Identity>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(identity.config.ping_interval);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        let generation = identity.session.generation();
        match identity.session.ping(Some(health(identity.started))).await {
            Ok(()) => {}
            Err(err) if err.is_unauthorized() => {
                identity.sign_in_again(generation, &stop).await;
            }
            Err(err) => tracing::warn!(error = %err, "ping failed"),
        }
    }
}

async fn work_loop(identity: Arc<Identity>, policy: Arc<Policy>, stop: watch::Receiver<bool>) {
    let session = &identity.session;
    let config = &identity.config;
    loop {
        let generation = session.generation();
        let claimed = with_backoff("claiming work", &stop, || {
            session.claim(
                identity.kind,
                config.lease_seconds,
                config.poll_wait_seconds,
            )
        })
        .await;
        let task = match claimed {
            None => return,
            Some(Ok(Some(task))) => task,
            Some(Ok(None)) => continue,
            Some(Err(err)) if err.is_unauthorized() => {
                if !identity.sign_in_again(generation, &stop).await
                    && !pause(&stop, SIGN_IN_PAUSE).await
                {
                    return;
                }
                continue;
            }
            Some(Err(err)) => {
                tracing::error!(error = %err, "the coordinator refused a claim; waiting before trying again");
                if !pause(&stop, REFUSED_PAUSE).await {
                    return;
                }
                continue;
            }
        };
        // A claimed task is always finished, even when asked to stop meanwhile.
        let lease = Lease::keep(session.clone(), task.task_id, config.lease_seconds);
        let outcome = match (&task.assessment, &task.execution) {
            (Some(assessment), _) => {
                handle_assessment(session, config, &policy, assessment, lease).await
            }
            (_, Some(execution)) => handle_execution(session, config, execution, lease).await,
            _ => {
                lease.end().await;
                Err(anyhow::anyhow!("task {} carries no work", task.task_id))
            }
        };
        if let Err(err) = outcome {
            tracing::error!(task = %task.task_id, error = format!("{err:#}"), "the task failed");
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// The heartbeat that keeps a task's lease while it is in hand, and whether the lease was
/// lost anyway.
struct Lease {
    lost: Arc<AtomicBool>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Lease {
    fn keep(session: Session, task: TaskId, lease_seconds: u32) -> Lease {
        let lost = Arc::new(AtomicBool::new(false));
        let heartbeat = tokio::spawn(heartbeat(session, task, lease_seconds, lost.clone()));
        Lease { lost, heartbeat }
    }

    /// Turns true when the coordinator says the lease is over.
    fn lost(&self) -> &Arc<AtomicBool> {
        &self.lost
    }

    /// Stops the heartbeat, before the report that ends the task (which ends the lease: a
    /// heartbeat after it would be refused). Says whether the lease was lost meanwhile.
    async fn end(mut self) -> bool {
        self.heartbeat.abort();
        let _ = (&mut self.heartbeat).await;
        self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

/// Extends the lease well before it runs out. A refusal saying the lease has ended (409) or
/// belongs to another server (403) is final: the flag tells the work to stop.
async fn heartbeat(session: Session, task: TaskId, lease_seconds: u32, lost: Arc<AtomicBool>) {
    let every = Duration::from_secs(u64::from(lease_seconds / 3).max(1));
    loop {
        tokio::time::sleep(every).await;
        match session.heartbeat(task, lease_seconds).await {
            Ok(()) => {}
            Err(
                err @ ClientError::Refused {
                    status: 403 | 409, ..
                },
            ) => {
                tracing::error!(task = %task, error = %err, "the lease on the task was lost; stopping work on it");
                lost.store(true, Ordering::SeqCst);
                return;
            }
            Err(err) => tracing::warn!(task = %task, error = %err, "heartbeat failed"),
        }
    }
}

/// How long the reports that end a task are retried while the coordinator is unavailable.
fn report_budget(config: &AgentConfig) -> Duration {
    Duration::from_secs(u64::from(config.lease_seconds))
}

async fn handle_assessment(
    session: &Session,
    config: &Arc<AgentConfig>,
    policy: &Policy,
    task: &AssessmentTask,
    lease: Lease,
) -> anyhow::Result<()> {
    // These files describe this machine only: reporting them as another machine's would put
    // the wrong facts in front of the approvers. The lease runs out and the work goes back.
    if task.machine_id != config.machine_id {
        tracing::error!(
            assessment = %task.assessment_id,
            "the assessment is of machine `{}`, and this agent looks after `{}`; not assessed",
            task.machine_id,
            config.machine_id
        );
        lease.end().await;
        return Ok(());
    }
    let reading = config.clone();
    let files = tokio::task::spawn_blocking(move || load_files(&reading))
        .await
        .context("reading the configuration files")?;
    let assessment = assess::assess(
        &files,
        policy,
        &task.target_servers,
        &assess::command_on_path,
    );
    if lease.end().await {
        tracing::warn!(assessment = %task.assessment_id, "the lease was lost; the coordinator took the assessment back, so its results are not reported");
        return Ok(());
    }
    with_retries("reporting results", report_budget(config), || {
        session.report_results(task.assessment_id, &assessment.results)
    })
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
        let answer = with_retries("proposing a remediation", report_budget(config), || {
            session.propose(&proposal)
        })
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

/// Ends the execution as failed without touching anything, saying why.
async fn refuse(
    session: &Session,
    config: &AgentConfig,
    task: &ExecutionTask,
    lease: Lease,
    why: &str,
) -> anyhow::Result<()> {
    tracing::error!(execution = %task.execution_id, "{why}; nothing applied");
    if lease.end().await {
        tracing::warn!(execution = %task.execution_id, "the lease was lost; the refusal is not reported");
        return Ok(());
    }
    let request = CompleteRequest {
        outcome: ExecutionOutcome::Failed,
        payload_digest: task.payload_digest.clone(),
        message: Some(format!("refused: {why}; nothing was changed")),
        report: None,
    };
    with_retries("reporting the refusal", report_budget(config), || {
        session.complete(task.execution_id, &request)
    })
    .await
    .context("reporting the refusal")
}

async fn handle_execution(
    session: &Session,
    config: &AgentConfig,
    task: &ExecutionTask,
    lease: Lease,
) -> anyhow::Result<()> {
    // The actions must be exactly the ones approved, whatever arrived over the wire. Without
    // its salt the digest cannot be checked, and an unchecked run is no run.
    let Ok(salt) = hex::decode(&task.digest_salt) else {
        return refuse(
            session,
            config,
            task,
            lease,
            "the digest salt is not valid hex, so the approved payload digest cannot be checked",
        )
        .await;
    };
    // The queue offers a server only its own machine's work; a task for another machine
    // means something is wrong upstream, and applying it here would change the wrong files.
    if task.machine_id != config.machine_id {
        let why = format!(
            "the execution is for machine `{}`, and this agent looks after `{}`",
            task.machine_id, config.machine_id
        );
        return refuse(session, config, task, lease, &why).await;
    }
    if !coordinator_api::digest::is_known_version(task.digest_version) {
        return refuse(
            session,
            config,
            task,
            lease,
            "the payload digest is of a version this agent does not know, so it cannot be checked",
        )
        .await;
    }
    let digest = coordinator_api::digest::payload_digest(
        task.digest_version,
        &task.machine_id,
        &task.actions,
        &salt,
    );
    if digest != task.payload_digest {
        return refuse(
            session,
            config,
            task,
            lease,
            "the actions received do not match the approved payload digest",
        )
        .await;
    }
    let outcome = install::execute(config, task, &Reporter { session, task }, lease.lost()).await;
    let lost = lease.end().await;
    if outcome.lease_lost || lost {
        // The coordinator has taken the execution back: it refuses, and no longer needs, an end.
        tracing::warn!(execution = %task.execution_id, "the lease was lost; the end is not reported: {}", outcome.message);
        return Ok(());
    }
    tracing::info!(execution = %task.execution_id, outcome = %outcome.outcome, "{}", outcome.message);
    let request = CompleteRequest {
        outcome: outcome.outcome,
        payload_digest: digest,
        message: Some(outcome.message),
        report: Some(serde_json::json!({ "dryRun": task.dry_run, "diffs": outcome.diffs })),
    };
    with_retries("reporting the end", report_budget(config), || {
        session.complete(task.execution_id, &request)
    })
    .await
    .context("reporting the end")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pause_ends_as_soon_as_the_agent_is_asked_to_stop() {
        let (stop, stopped) = watch::channel(false);
        let waiting = tokio::spawn(async move { pause(&stopped, Duration::from_secs(600)).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        stop.send(true).unwrap();
        let go_on = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the pause is cut short")
            .unwrap();
        assert!(!go_on);

        let (_stop, running) = watch::channel(false);
        assert!(pause(&running, Duration::from_millis(10)).await);
        let (_stop, stopped) = watch::channel(true);
        assert!(!pause(&stopped, Duration::from_secs(600)).await);
    }
}
