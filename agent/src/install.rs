//! Applying an approved execution to the configuration files.
//!
//! Each action is mapped to the files it changes: every file that has the server, or the
//! install target for a server configured nowhere yet. Within a file the actions run one at a
//! time, in order; each is reported `running` before the file is touched and `succeeded` or
//! `failed` right after, so the coordinator always knows whether anything was started.
//!
//! An entry is brought in line with the action's `command` and `args`; its env is merged
//! (see [`McpFile::with_server`]): the variables the action gives are set, and those it does
//! not mention stay as they are. That is what lets a version pin be proposed without copying
//! the machine's env values (secrets among them) into the proposal.
//!
//! How a file is written, and why:
//! - A configuration that is a symbolic link is written where the link points, so the link
//!   (often into a dotfiles repository) stays a link.
//! - Before its first change, the original is copied to
//!   `<state_dir>/backups/execution-<id>/<hash of the path>-<file name>`: readable by the
//!   agent's user only, flushed to disk, and never overwritten, so a re-run of the same
//!   execution keeps the true original.
//! - Each change goes to a new temporary file next to the original (created exclusively under
//!   a random name, mode 0600, then given the original's permissions), is flushed, and is
//!   renamed over the original: readers see the old file or the new one, never a mix. The
//!   temporary file is removed on any error.
//! - Just before the rename, the file is read again; if a client application changed it since
//!   the agent read it, the action fails rather than overwrite that change.
//!
//! A dry run computes the same changes and reports their diff without writing. With
//! `rollbackOnFailure`, a failed action restores every file this execution changed. If the
//! lease on the execution is lost (the coordinator took the task back), nothing more is
//! written: the run stops before its next write, rolls back when asked to, and its end is
//! not reported.

use crate::config::{AgentConfig, ManagedFile};
use crate::files::{self, sync_dir};
use crate::mcp_config::{McpFile, ServerEntry, unified_diff};
use coordinator_api::ExecutionId;
use coordinator_api::executions::{ActionStatus, ExecutionOutcome};
use coordinator_api::remediations::{ActionType, ProposedAction};
use coordinator_api::work::ExecutionTask;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What happened to one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionReport {
    pub action_id: String,
    pub status: ActionStatus,
    pub message: String,
}

/// What happened to the whole execution.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub outcome: ExecutionOutcome,
    pub message: String,
    /// Per file: the unified diff of what changed (or, for a dry run, would change).
    pub diffs: BTreeMap<String, String>,
    /// The run stopped because the lease was lost: the coordinator has taken the task back,
    /// and will refuse (and no longer needs) a report of its end.
    pub lease_lost: bool,
}

/// Receives each action's report as it happens, to pass it on to the coordinator.
#[allow(async_fn_in_trait)]
pub trait Progress {
    async fn report(&self, report: &ActionReport);
}

#[derive(Debug, thiserror::Error)]
enum ActionError {
    #[error("`{0}` is not configured in {1}")]
    NotConfigured(String, String),
    #[error("{0} is not a valid MCP configuration ({1}); it is left untouched")]
    Malformed(String, String),
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("cannot write {0}: {1}")]
    Write(String, std::io::Error),
    #[error(
        "{0} was changed by another program while the agent was editing it; it is left as that \
         program wrote it"
    )]
    ChangedMeanwhile(String),
    #[error("{0}: the file work stopped unexpectedly ({1})")]
    Stopped(String, String),
}

fn entry_of(action: &ProposedAction) -> ServerEntry {
    ServerEntry {
        command: action.command.clone(),
        args: action.args.clone(),
        env: action
            .env
            .iter()
            .map(|(name, value)| (name.clone(), value.expose().to_owned()))
            .collect(),
    }
}

/// The file at `path` read as `format`; `None` when it does not exist.
fn read_at(path: &Path, format: crate::mcp_config::Format) -> Result<Option<McpFile>, ActionError> {
    let label = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => McpFile::parse(&text, format)
            .map(Some)
            .map_err(|e| ActionError::Malformed(label, e.to_string())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(ActionError::Read(label, err)),
    }
}

fn read(file: &ManagedFile) -> Result<Option<McpFile>, ActionError> {
    read_at(&file.path, file.format)
}

/// The file's bytes as they are now; `None` when it does not exist.
fn read_bytes(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Runs blocking file work on tokio's blocking threads: the async threads stay free, and the
/// files of a parallel execution really progress at the same time.
async fn blocking<T: Send + 'static>(
    label: &str,
    work: impl FnOnce() -> Result<T, ActionError> + Send + 'static,
) -> Result<T, ActionError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(err) => Err(ActionError::Stopped(label.to_owned(), err.to_string())),
    }
}

/// The files an action changes: where the server is configured; for installs of a server
/// configured nowhere, the install target.
fn targets(config: &AgentConfig, action: &ProposedAction) -> Result<Vec<ManagedFile>, ActionError> {
    let mut holding = Vec::new();
    for file in &config.files {
        // A malformed file cannot be shown to hold the server, and is never rewritten.
        if let Ok(Some(parsed)) = read(file)
            && parsed.get(&action.server_name).is_some()
        {
            holding.push(file.clone());
        }
    }
    Ok(match action.action_type {
        ActionType::RemoveServer => holding,
        ActionType::UpdateServer => {
            if holding.is_empty() {
                return Err(ActionError::NotConfigured(
                    action.server_name.clone(),
                    "any managed file".to_owned(),
                ));
            }
            holding
        }
        ActionType::InstallServer | ActionType::GenerateConfig => {
            if holding.is_empty() {
                vec![config.install_target.clone()]
            } else {
                holding
            }
        }
    })
}

/// Which files each action goes to.
#[derive(Default)]
struct Plan {
    /// Each file with its actions, in the order they were approved.
    files: Vec<(ManagedFile, Vec<ProposedAction>)>,
    /// Removals of servers configured nowhere: nothing to do.
    absent: Vec<ProposedAction>,
    /// The first action that has nowhere to go, and why.
    unplaceable: Option<(ProposedAction, ActionError)>,
}

fn plan(config: &AgentConfig, actions: &[ProposedAction]) -> Plan {
    let mut plan = Plan::default();
    for action in actions {
        match targets(config, action) {
            Ok(files) if files.is_empty() => plan.absent.push(action.clone()),
            Ok(files) => {
                for file in files {
                    match plan.files.iter_mut().find(|(f, _)| *f == file) {
                        Some((_, actions)) => actions.push(action.clone()),
                        None => plan.files.push((file, vec![action.clone()])),
                    }
                }
            }
            Err(err) => {
                plan.unplaceable.get_or_insert((action.clone(), err));
            }
        }
    }
    plan
}

/// The file's text after `action`.
fn apply(
    current: Option<McpFile>,
    file: &ManagedFile,
    action: &ProposedAction,
) -> Result<McpFile, ActionError> {
    let current = current.unwrap_or_else(|| McpFile::empty(file.format));
    Ok(match action.action_type {
        ActionType::RemoveServer => current.without_server(&action.server_name),
        ActionType::UpdateServer if current.get(&action.server_name).is_none() => {
            return Err(ActionError::NotConfigured(
                action.server_name.clone(),
                file.path.display().to_string(),
            ));
        }
        _ => current.with_server(&action.server_name, &entry_of(action)),
    })
}

/// A unified diff of two versions of a file, with every env value of either version masked:
/// the diff goes to the coordinator, and its context lines may show neighbouring entries.
fn masked_diff(label: &str, before: Option<&McpFile>, after: Option<&McpFile>) -> String {
    let text = |f: Option<&McpFile>| f.map(|f| f.text().to_owned()).unwrap_or_default();
    let mut diff = unified_diff(label, &text(before), &text(after));
    let mut values: Vec<String> = [before, after]
        .into_iter()
        .flatten()
        .flat_map(|f| f.servers())
        .flat_map(|(_, entry)| entry.env.into_values())
        .filter(|v| v.len() >= 4)
        .collect();
    // Longest first, so a value containing another is masked whole.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for value in values {
        let escaped = serde_json::to_string(&value).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        diff = diff.replace(escaped, "••••").replace(&value, "••••");
    }
    diff
}

/// Where the bytes of `path` really are: symbolic links followed to their final target, which
/// need not exist yet (a link to a file still to be created).
fn resolve_link(path: &Path) -> std::io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    // The limit most systems put on a chain of links; beyond it there is a loop.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            Ok(_) => return Ok(current),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(current),
            Err(err) => return Err(err),
        }
    }
    Err(std::io::Error::other(format!(
        "{}: too many levels of symbolic links",
        path.display()
    )))
}

/// Why a write did not happen.
#[derive(Debug)]
enum WriteFailure {
    Io(std::io::Error),
    /// The file is no longer what the agent read or last wrote.
    Changed,
}

impl From<std::io::Error> for WriteFailure {
    fn from(err: std::io::Error) -> Self {
        WriteFailure::Io(err)
    }
}

impl WriteFailure {
    fn into_action_error(self, label: &str) -> ActionError {
        match self {
            WriteFailure::Io(err) => ActionError::Write(label.to_owned(), err),
            WriteFailure::Changed => ActionError::ChangedMeanwhile(label.to_owned()),
        }
    }
}

/// Replaces the file at `path` (no link: see [`resolve_link`]) with `text`, provided it still
/// holds `expected` (`None`: it must not exist). Readers see the old file or the new one,
/// never a mix.
fn write_checked(path: &Path, expected: Option<&str>, text: &str) -> Result<(), WriteFailure> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let original = match std::fs::metadata(path) {
        Ok(meta) => Some(meta),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(err.into()),
    };
    // Dropped (and so removed) on every early return below.
    let mut temporary = files::temp_file_next_to(path)?;
    temporary.write_all(text.as_bytes())?;
    if let Some(meta) = &original {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            // An agent running as root edits files that belong to their users, and must give
            // them back; without privileges this fails, and the user is the agent's anyway.
            let _ =
                std::os::unix::fs::fchown(temporary.as_file(), Some(meta.uid()), Some(meta.gid()));
        }
        temporary.as_file().set_permissions(meta.permissions())?;
    }
    temporary.as_file().sync_all()?;
    // The last look before the rename: a client application may have saved the file since
    // the agent read it, and its change must not be silently lost.
    if read_bytes(path)?.as_deref() != expected.map(str::as_bytes) {
        return Err(WriteFailure::Changed);
    }
    files::persist(temporary, path)?;
    Ok(())
}

/// The backup's file name: a hash of the whole path, so that no two paths share a backup,
/// and the file name, so that a person can tell which is which.
fn backup_name(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    #[cfg(unix)]
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec();
    #[cfg(not(unix))]
    let bytes = path.to_string_lossy().as_bytes().to_vec();
    let hash = hex::encode(Sha256::digest(&bytes));
    let name: String = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    format!("{hash}-{name}")
}

/// Creates `dir` (and its parents) readable by the agent's user only, and narrows it should it
/// exist already: backups hold whatever the originals held, secrets included.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    builder.create(dir)
}

/// Keeps `text`, the original of `path`, among this execution's backups, and says where.
fn keep_backup(
    state_dir: &Path,
    execution: ExecutionId,
    path: &Path,
    text: &str,
) -> std::io::Result<PathBuf> {
    use std::io::Write;
    let backups = state_dir.join("backups");
    private_dir(&backups)?;
    let dir = backups.join(format!("execution-{execution}"));
    private_dir(&dir)?;
    let backup = dir.join(backup_name(path));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&backup) {
        Ok(mut file) => {
            if let Err(err) = file
                .write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
            {
                // A partial backup would be kept as the original by a later attempt.
                drop(file);
                let _ = std::fs::remove_file(&backup);
                return Err(err);
            }
            sync_dir(&backup);
        }
        // An earlier attempt at this execution kept the original before changing anything;
        // what is there now may already be its work.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(err),
    }
    Ok(backup)
}

/// A file this execution wrote, and what it takes to put it back.
#[derive(Debug, Clone)]
struct Changed {
    /// Where the bytes are (links resolved).
    path: PathBuf,
    /// `None`: the file did not exist.
    original: Option<String>,
    /// What the agent last wrote there.
    written: String,
    backup: Option<PathBuf>,
}

impl Changed {
    /// Puts the original back, unless someone else changed the file since the agent wrote it.
    fn restore(&self) -> Result<(), String> {
        let label = self.path.display();
        let now = read_bytes(&self.path).map_err(|e| format!("{label}: {e}"))?;
        match (&self.original, &now) {
            // Never existed, and is gone: nothing to undo.
            (None, None) => return Ok(()),
            (_, now) if now.as_deref() != Some(self.written.as_bytes()) => {
                let backup = self
                    .backup
                    .as_ref()
                    .map(|b| format!("; the original is kept in {}", b.display()))
                    .unwrap_or_default();
                return Err(format!(
                    "{label}: changed by another program since the agent wrote it, so it was left \
                     as it is{backup}"
                ));
            }
            _ => {}
        }
        match &self.original {
            Some(text) => {
                write_checked(&self.path, Some(&self.written), text).map_err(|e| match e {
                    WriteFailure::Io(err) => format!("{label}: {err}"),
                    WriteFailure::Changed => format!(
                        "{label}: changed by another program while it was being restored, so it \
                         was left as it is"
                    ),
                })
            }
            None => match std::fs::remove_file(&self.path) {
                Ok(()) => {
                    sync_dir(&self.path);
                    Ok(())
                }
                // Already gone, as it was before the execution.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(err) => Err(format!("{label}: {err}")),
            },
        }
    }
}

/// Puts back every changed file, the last changed first; returns what could not be restored.
async fn restore(changed: Vec<Changed>) -> Vec<String> {
    let mut problems = Vec::new();
    for file in changed.into_iter().rev() {
        let label = file.path.display().to_string();
        match tokio::task::spawn_blocking(move || file.restore()).await {
            Ok(Ok(())) => {}
            Ok(Err(problem)) => problems.push(problem),
            Err(err) => problems.push(format!("{label}: {err}")),
        }
    }
    problems
}

/// One report per action, however many files it touches: `running` when the first file is
/// about to change, `succeeded` once every file has the change, `failed` at the first file
/// that cannot take it. (The coordinator accepts each transition once.)
struct Tracker<'p, P> {
    progress: &'p P,
    /// One lock per action, held while its report is sent, so that a second file cannot
    /// write before the first has told the coordinator the action is running. Different
    /// actions report independently.
    actions: BTreeMap<String, tokio::sync::Mutex<Tracked>>,
}

struct Tracked {
    files_left: usize,
    files: Vec<String>,
    running: bool,
    failed: bool,
}

impl<'p, P: Progress> Tracker<'p, P> {
    fn new(progress: &'p P, files: &[(ManagedFile, Vec<ProposedAction>)]) -> Self {
        let mut actions: BTreeMap<String, Tracked> = BTreeMap::new();
        for (_, file_actions) in files {
            for action in file_actions {
                actions
                    .entry(action.id.clone())
                    .or_insert(Tracked {
                        files_left: 0,
                        files: Vec::new(),
                        running: false,
                        failed: false,
                    })
                    .files_left += 1;
            }
        }
        Self {
            progress,
            actions: actions
                .into_iter()
                .map(|(id, tracked)| (id, tokio::sync::Mutex::new(tracked)))
                .collect(),
        }
    }

    async fn send(&self, action: &str, status: ActionStatus, message: String) {
        self.progress
            .report(&ActionReport {
                action_id: action.to_owned(),
                status,
                message,
            })
            .await;
    }

    async fn running(&self, action: &ProposedAction, label: &str) {
        let Some(tracked) = self.actions.get(&action.id) else {
            return;
        };
        let mut tracked = tracked.lock().await;
        if !tracked.running {
            tracked.running = true;
            self.send(
                &action.id,
                ActionStatus::Running,
                format!("changing {label}"),
            )
            .await;
        }
    }

    async fn succeeded(&self, action: &ProposedAction, label: &str) {
        let Some(tracked) = self.actions.get(&action.id) else {
            return;
        };
        let mut tracked = tracked.lock().await;
        tracked.files_left = tracked.files_left.saturating_sub(1);
        tracked.files.push(label.to_owned());
        if tracked.files_left == 0 && !tracked.failed {
            let message = format!(
                "{} `{}` in {}",
                action.action_type,
                action.server_name,
                tracked.files.join(", ")
            );
            self.send(&action.id, ActionStatus::Succeeded, message)
                .await;
        }
    }

    async fn failed(&self, action: &str, message: String) {
        let Some(tracked) = self.actions.get(action) else {
            return;
        };
        let mut tracked = tracked.lock().await;
        if !tracked.failed {
            tracked.failed = true;
            self.send(action, ActionStatus::Failed, message).await;
        }
    }
}

/// Why a file's run ended early.
enum Stop {
    /// The action (if one had started) and what went wrong.
    Failed(Option<String>, ActionError),
    LeaseLost,
}

/// One file's share of an execution.
struct FileRun {
    label: String,
    /// Set once the file has been written.
    changed: Option<Changed>,
    /// Its masked diff, or why it stopped.
    result: Result<String, Stop>,
}

/// Applies `actions` to `file` in order, reporting each as it goes. The original is backed up
/// before the first write; `lease_lost` is checked before every write.
async fn run_file<P: Progress>(
    state_dir: &Path,
    execution: ExecutionId,
    file: ManagedFile,
    actions: Vec<ProposedAction>,
    tracker: &Tracker<'_, P>,
    lease_lost: &AtomicBool,
) -> FileRun {
    let label = file.path.display().to_string();
    let mut run = FileRun {
        label: label.clone(),
        changed: None,
        result: Ok(String::new()),
    };
    let first = actions.first().map(|a| a.id.clone());

    let path = file.path.clone();
    let format = file.format;
    let read = blocking(&label, move || {
        let real =
            resolve_link(&path).map_err(|e| ActionError::Read(path.display().to_string(), e))?;
        let original = read_at(&real, format)?;
        Ok((real, original))
    })
    .await;
    let (path, original) = match read {
        Ok(read) => read,
        Err(err) => {
            if let Some(action) = &first {
                tracker.failed(action, err.to_string()).await;
            }
            run.result = Err(Stop::Failed(first, err));
            return run;
        }
    };

    let mut current = original.clone();
    for action in &actions {
        if lease_lost.load(Ordering::SeqCst) {
            run.result = Err(Stop::LeaseLost);
            return run;
        }
        tracker.running(action, &label).await;
        let next = match apply(current.clone(), &file, action) {
            Ok(next) => next,
            Err(err) => {
                tracker.failed(&action.id, err.to_string()).await;
                run.result = Err(Stop::Failed(Some(action.id.clone()), err));
                return run;
            }
        };
        // Nothing to write when the file already says what the action asks.
        if current.as_ref().map(McpFile::text) != Some(next.text()) {
            let mut backup = run.changed.as_ref().and_then(|c| c.backup.clone());
            if run.changed.is_none()
                && let Some(original) = &original
            {
                let (state_dir, real, text) = (
                    state_dir.to_path_buf(),
                    path.clone(),
                    original.text().to_owned(),
                );
                let kept = blocking(&label, move || {
                    keep_backup(&state_dir, execution, &real, &text).map_err(|e| {
                        ActionError::Write(format!("the backup of {}", real.display()), e)
                    })
                })
                .await;
                match kept {
                    Ok(kept) => backup = Some(kept),
                    Err(err) => {
                        tracker.failed(&action.id, err.to_string()).await;
                        run.result = Err(Stop::Failed(Some(action.id.clone()), err));
                        return run;
                    }
                }
            }
            // Checked again right before writing: the reports above take a while.
            if lease_lost.load(Ordering::SeqCst) {
                run.result = Err(Stop::LeaseLost);
                return run;
            }
            let expected = current.as_ref().map(|f| f.text().to_owned());
            let (real, text, write_label) = (path.clone(), next.text().to_owned(), label.clone());
            let written = blocking(&label, move || {
                write_checked(&real, expected.as_deref(), &text)
                    .map_err(|e| e.into_action_error(&write_label))
            })
            .await;
            if let Err(err) = written {
                tracker.failed(&action.id, err.to_string()).await;
                run.result = Err(Stop::Failed(Some(action.id.clone()), err));
                return run;
            }
            // Recorded only now: a file that was never written has nothing to roll back.
            match &mut run.changed {
                Some(changed) => changed.written = next.text().to_owned(),
                None => {
                    run.changed = Some(Changed {
                        path: path.clone(),
                        original: original.as_ref().map(|f| f.text().to_owned()),
                        written: next.text().to_owned(),
                        backup,
                    });
                }
            }
        }
        tracker.succeeded(action, &label).await;
        current = Some(next);
    }
    run.result = Ok(masked_diff(&label, original.as_ref(), current.as_ref()));
    run
}

/// Works out every file's changes and reports them, writing nothing.
async fn dry_run(
    files: Vec<(ManagedFile, Vec<ProposedAction>)>,
    progress: &impl Progress,
) -> Outcome {
    let planned = files.clone();
    let computed = tokio::task::spawn_blocking(move || {
        let mut diffs = BTreeMap::new();
        for (file, actions) in &planned {
            let label = file.path.display().to_string();
            let original = read(file)?;
            let mut current = original.clone();
            for action in actions {
                current = Some(apply(current, file, action)?);
            }
            diffs.insert(
                label.clone(),
                masked_diff(&label, original.as_ref(), current.as_ref()),
            );
        }
        Ok::<_, ActionError>(diffs)
    })
    .await;
    let diffs = match computed {
        Ok(Ok(diffs)) => diffs,
        Ok(Err(err)) => return finished(ExecutionOutcome::Failed, format!("dry run: {err}")),
        Err(err) => return finished(ExecutionOutcome::Failed, format!("dry run: {err}")),
    };
    // One report per action, naming every file it would change.
    let mut would_change: Vec<(&ProposedAction, Vec<String>)> = Vec::new();
    for (file, actions) in &files {
        for action in actions {
            let label = file.path.display().to_string();
            match would_change.iter_mut().find(|(a, _)| a.id == action.id) {
                Some((_, labels)) => labels.push(label),
                None => would_change.push((action, vec![label])),
            }
        }
    }
    for (action, labels) in would_change {
        progress
            .report(&ActionReport {
                action_id: action.id.clone(),
                status: ActionStatus::Skipped,
                message: format!("dry run: would change {}", labels.join(", ")),
            })
            .await;
    }
    Outcome {
        outcome: ExecutionOutcome::Succeeded,
        message: "dry run: nothing was written".to_owned(),
        diffs,
        lease_lost: false,
    }
}

fn finished(outcome: ExecutionOutcome, message: String) -> Outcome {
    Outcome {
        outcome,
        message,
        diffs: BTreeMap::new(),
        lease_lost: false,
    }
}

/// Carries out (or, for a dry run, plans) the execution. `lease_lost` turns true when the
/// coordinator has taken the task back; nothing is written after that.
pub async fn execute(
    config: &AgentConfig,
    task: &ExecutionTask,
    progress: &impl Progress,
    lease_lost: &Arc<AtomicBool>,
) -> Outcome {
    let (planning, actions) = (config.clone(), task.actions.clone());
    let plan = match tokio::task::spawn_blocking(move || plan(&planning, &actions)).await {
        Ok(plan) => plan,
        Err(err) => {
            return finished(
                ExecutionOutcome::Failed,
                format!("working out which files to change failed ({err}); nothing was changed"),
            );
        }
    };
    for action in &plan.absent {
        progress
            .report(&ActionReport {
                action_id: action.id.clone(),
                status: ActionStatus::Skipped,
                message: format!(
                    "`{}` is not configured; nothing to remove",
                    action.server_name
                ),
            })
            .await;
    }
    if let Some((action, err)) = plan.unplaceable {
        progress
            .report(&ActionReport {
                action_id: action.id.clone(),
                status: ActionStatus::Failed,
                message: err.to_string(),
            })
            .await;
        return finished(
            ExecutionOutcome::Failed,
            format!(
                "action `{}` cannot be applied: {err}; nothing was changed",
                action.id
            ),
        );
    }

    if task.dry_run {
        return dry_run(plan.files, progress).await;
    }

    let tracker = Tracker::new(progress, &plan.files);
    let state_dir = config.state_dir.as_path();
    // Independent files are changed at once; actions on one file always run in order.
    let runs = if task.parallel_execution {
        futures_util::future::join_all(plan.files.into_iter().map(|(file, actions)| {
            run_file(
                state_dir,
                task.execution_id,
                file,
                actions,
                &tracker,
                lease_lost,
            )
        }))
        .await
    } else {
        let mut runs = Vec::new();
        for (file, actions) in plan.files {
            let run = run_file(
                state_dir,
                task.execution_id,
                file,
                actions,
                &tracker,
                lease_lost,
            )
            .await;
            let stopped = run.result.is_err();
            runs.push(run);
            if stopped {
                break;
            }
        }
        runs
    };

    let mut changed = Vec::new();
    let mut diffs = BTreeMap::new();
    let mut failure = None;
    let mut lost = false;
    for run in runs {
        changed.extend(run.changed);
        match run.result {
            Ok(diff) => {
                diffs.insert(run.label, diff);
            }
            Err(Stop::LeaseLost) => lost = true,
            Err(Stop::Failed(action, err)) => {
                failure.get_or_insert((action, err));
            }
        }
    }

    if lost {
        let what = "the lease on this execution was lost (the coordinator took it back), so the \
                    agent stopped before its next write";
        let message = if !task.rollback_on_failure {
            format!("{what}; changes made before were kept (no rollback asked)")
        } else {
            let problems = restore(changed).await;
            if problems.is_empty() {
                format!("{what}; every changed file was restored")
            } else {
                format!("{what}; restoring failed for: {}", problems.join("; "))
            }
        };
        return Outcome {
            outcome: ExecutionOutcome::Failed,
            message,
            diffs,
            lease_lost: true,
        };
    }

    let Some((action, err)) = failure else {
        return Outcome {
            outcome: ExecutionOutcome::Succeeded,
            message: format!("{} action(s) applied", task.actions.len()),
            diffs,
            lease_lost: false,
        };
    };
    let what = action
        .map(|a| format!("action `{a}`"))
        .unwrap_or_else(|| "preparing".to_owned());
    if task.rollback_on_failure {
        let problems = restore(changed).await;
        if problems.is_empty() {
            return finished(
                ExecutionOutcome::RolledBack,
                format!("{what} failed ({err}); every changed file was restored from its backup"),
            );
        }
        return Outcome {
            outcome: ExecutionOutcome::Failed,
            message: format!(
                "{what} failed ({err}); restoring failed for: {}",
                problems.join("; ")
            ),
            diffs,
            lease_lost: false,
        };
    }
    Outcome {
        outcome: ExecutionOutcome::Failed,
        message: format!(
            "{what} failed ({err}); changes made before it were kept (no rollback asked)"
        ),
        diffs,
        lease_lost: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp_config::Format;
    use coordinator_api::ProposalId;
    use std::sync::Mutex;
    use std::time::Duration;

    /// A private directory for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "agent-install-{name}-{}-{}",
            std::process::id(),
            crate::files::random_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn managed(path: PathBuf) -> ManagedFile {
        ManagedFile {
            path,
            format: Format::McpServers,
        }
    }

    fn config(dir: &Path, files: Vec<ManagedFile>) -> AgentConfig {
        AgentConfig {
            coordinator_url: "http://127.0.0.1:1".to_owned(),
            ca_file: None,
            machine_id: coordinator_api::MachineId::default_machine(),
            state_dir: dir.join("state"),
            policy: dir.join("policy.toml"),
            ping_interval: Duration::from_secs(30),
            poll_wait_seconds: 1,
            lease_seconds: 30,
            compliance: None,
            installer: None,
            install_target: files[0].clone(),
            files,
        }
    }

    fn action(id: &str, action_type: ActionType, server: &str, args: &[&str]) -> ProposedAction {
        ProposedAction {
            id: id.to_owned(),
            action_type,
            server_name: server.to_owned(),
            command: (action_type != ActionType::RemoveServer).then(|| "npx".to_owned()),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: BTreeMap::new(),
        }
    }

    fn task(actions: Vec<ProposedAction>, parallel: bool) -> ExecutionTask {
        ExecutionTask {
            execution_id: ExecutionId(7),
            proposal_id: ProposalId(3),
            machine_id: coordinator_api::MachineId::default_machine(),
            dry_run: false,
            rollback_on_failure: true,
            parallel_execution: parallel,
            actions,
            payload_digest: String::new(),
            digest_version: coordinator_api::digest::DIGEST_VERSION,
            digest_salt: String::new(),
            correlation_id: "test".to_owned(),
        }
    }

    const FILE: &str = r#"{
  "mcpServers": {
    "git": {
      "command": "npx",
      "args": ["-y", "git-mcp"],
      "env": {
        "GIT_TOKEN": "ghp_keepThisOnTheMachine"
      }
    }
  }
}
"#;

    /// Records every report; `on` may act on one as it arrives (as a client application or
    /// the coordinator would, meanwhile).
    type OnReport = Box<dyn Fn(&ActionReport) + Send + Sync>;

    #[derive(Default)]
    struct Recorder {
        reports: Mutex<Vec<ActionReport>>,
        on: Option<OnReport>,
    }

    impl Progress for Recorder {
        async fn report(&self, report: &ActionReport) {
            if let Some(on) = &self.on {
                on(report);
            }
            self.reports.lock().unwrap().push(report.clone());
        }
    }

    impl Recorder {
        fn statuses(&self) -> Vec<(String, ActionStatus)> {
            self.reports
                .lock()
                .unwrap()
                .iter()
                .map(|r| (r.action_id.clone(), r.status))
                .collect()
        }
    }

    fn no_lease_lost() -> Arc<AtomicBool> {
        Arc::new(AtomicBool::new(false))
    }

    #[tokio::test]
    async fn an_update_keeps_the_env_and_every_action_is_reported_as_it_happens() {
        let dir = scratch("update");
        let path = dir.join("claude.json");
        std::fs::write(&path, FILE).unwrap();
        let config = config(&dir, vec![managed(path.clone())]);
        let actions = vec![
            action(
                "pin",
                ActionType::UpdateServer,
                "git",
                &["-y", "git-mcp@1.0.0"],
            ),
            action("add", ActionType::InstallServer, "memory", &["-y", "mem@2"]),
        ];
        let progress = Recorder::default();
        let outcome = execute(&config, &task(actions, false), &progress, &no_lease_lost()).await;
        assert_eq!(
            outcome.outcome,
            ExecutionOutcome::Succeeded,
            "{}",
            outcome.message
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"git-mcp@1.0.0\""), "{text}");
        assert!(text.contains("ghp_keepThisOnTheMachine"), "{text}");
        assert!(text.contains("\"memory\""), "{text}");
        use ActionStatus::*;
        assert_eq!(
            progress.statuses(),
            [
                ("pin".to_owned(), Running),
                ("pin".to_owned(), Succeeded),
                ("add".to_owned(), Running),
                ("add".to_owned(), Succeeded)
            ]
        );
        let diff = &outcome.diffs[&path.display().to_string()];
        assert!(!diff.contains("ghp_keep"), "{diff}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_linked_configuration_is_written_where_the_link_points() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("link");
        let real = dir.join("dotfiles-claude.json");
        std::fs::write(&real, FILE).unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.join("claude.json");
        std::os::unix::fs::symlink("dotfiles-claude.json", &link).unwrap();
        let config = config(&dir, vec![managed(link.clone())]);
        let actions = vec![action(
            "add",
            ActionType::InstallServer,
            "memory",
            &["mem@2"],
        )];
        let outcome = execute(
            &config,
            &task(actions, false),
            &Recorder::default(),
            &no_lease_lost(),
        )
        .await;
        assert_eq!(
            outcome.outcome,
            ExecutionOutcome::Succeeded,
            "{}",
            outcome.message
        );
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            std::fs::read_to_string(&real)
                .unwrap()
                .contains("\"memory\"")
        );
        assert_eq!(
            std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o640,
            "the original's permissions are kept"
        );
        // The backup is named after the file that really changed.
        let backups = dir.join("state/backups/execution-7");
        let names: Vec<String> = std::fs::read_dir(&backups)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1);
        assert!(names[0].ends_with("-dotfiles-claude.json"), "{names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_changed_since_it_was_read_is_not_overwritten() {
        let dir = scratch("changed");
        let path = dir.join("claude.json");
        std::fs::write(&path, "edited by the client").unwrap();
        let result = write_checked(&path, Some("what the agent read"), "the agent's version");
        assert!(matches!(result, Err(WriteFailure::Changed)));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "edited by the client"
        );
        // A file that appeared meanwhile counts as changed too.
        let fresh = dir.join("new.json");
        std::fs::write(&fresh, "someone else's").unwrap();
        assert!(matches!(
            write_checked(&fresh, None, "mine"),
            Err(WriteFailure::Changed)
        ));
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        write_checked(&path, Some("edited by the client"), "next").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "next");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn an_edit_by_a_client_application_meanwhile_fails_the_action() {
        let dir = scratch("race");
        let path = dir.join("claude.json");
        std::fs::write(&path, FILE).unwrap();
        let config = config(&dir, vec![managed(path.clone())]);
        let edited = FILE.replace("git-mcp", "git-mcp-fork");
        let (target, text) = (path.clone(), edited.clone());
        let progress = Recorder {
            // The user saves the file in their client just as the action starts.
            on: Some(Box::new(move |report| {
                if report.status == ActionStatus::Running {
                    std::fs::write(&target, &text).unwrap();
                }
            })),
            ..Recorder::default()
        };
        let actions = vec![action(
            "add",
            ActionType::InstallServer,
            "memory",
            &["mem@2"],
        )];
        let outcome = execute(&config, &task(actions, false), &progress, &no_lease_lost()).await;
        assert_eq!(
            outcome.outcome,
            ExecutionOutcome::RolledBack,
            "{}",
            outcome.message
        );
        assert!(
            outcome.message.contains("changed by another program"),
            "{}",
            outcome.message
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
        assert_eq!(progress.statuses().last().unwrap().1, ActionStatus::Failed);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn backups_are_private_kept_once_and_named_by_their_full_path() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("backup");
        let first = keep_backup(&dir, ExecutionId(1), Path::new("/a/x/mcp.json"), "one").unwrap();
        let again = keep_backup(&dir, ExecutionId(1), Path::new("/a/x/mcp.json"), "two").unwrap();
        assert_eq!(first, again);
        assert_eq!(
            std::fs::read_to_string(&first).unwrap(),
            "one",
            "the first is kept"
        );
        let other = keep_backup(&dir, ExecutionId(1), Path::new("/a_x/mcp.json"), "three").unwrap();
        assert_ne!(first, other, "paths that flatten alike still differ");
        assert!(
            first
                .file_name()
                .unwrap()
                .to_string_lossy()
                .ends_with("-mcp.json")
        );
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&first), 0o600);
        assert_eq!(mode(first.parent().unwrap()), 0o700);
        assert_eq!(mode(&dir.join("backups")), 0o700);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn restoring_a_created_file_that_is_already_gone_is_done() {
        let dir = scratch("restore");
        let changed = Changed {
            path: dir.join("created.json"),
            original: None,
            written: "{}".to_owned(),
            backup: None,
        };
        assert_eq!(changed.restore(), Ok(()));
        std::fs::write(&changed.path, "{}").unwrap();
        assert_eq!(changed.restore(), Ok(()));
        assert!(!changed.path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_lost_lease_stops_the_run_before_its_next_write_and_rolls_back() {
        let dir = scratch("lease");
        let path = dir.join("claude.json");
        std::fs::write(&path, FILE).unwrap();
        let config = config(&dir, vec![managed(path.clone())]);
        let lost = no_lease_lost();
        let flag = lost.clone();
        let progress = Recorder {
            // The heartbeat learns the lease is gone while the first action finishes.
            on: Some(Box::new(move |report| {
                if report.status == ActionStatus::Succeeded {
                    flag.store(true, Ordering::SeqCst);
                }
            })),
            ..Recorder::default()
        };
        let actions = vec![
            action("first", ActionType::InstallServer, "memory", &["mem@2"]),
            action("second", ActionType::RemoveServer, "git", &[]),
        ];
        let outcome = execute(&config, &task(actions, false), &progress, &lost).await;
        assert!(outcome.lease_lost);
        assert!(outcome.message.contains("restored"), "{}", outcome.message);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), FILE);
        use ActionStatus::*;
        assert_eq!(
            progress.statuses(),
            [
                ("first".to_owned(), Running),
                ("first".to_owned(), Succeeded)
            ],
            "the second action never started"
        );

        // Lost before anything: nothing is written, nothing reported running.
        let progress = Recorder::default();
        let actions = vec![action(
            "first",
            ActionType::InstallServer,
            "memory",
            &["mem@2"],
        )];
        let outcome = execute(&config, &task(actions, false), &progress, &lost).await;
        assert!(outcome.lease_lost);
        assert!(progress.statuses().is_empty());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), FILE);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A VS Code file as people write it: tabs, comments, trailing commas.
    const JSONC_FILE: &str = "{\n\t// Servers for this workspace.\n\t\"servers\": {\n\t\t/* Fetches web pages. */\n\t\t\"fetch\": {\n\t\t\t\"type\": \"stdio\",\n\t\t\t\"command\": \"npx\", // pinned by policy\n\t\t\t\"args\": [\"-y\", \"fetch-mcp\",],\n\t\t},\n\n\t\t// Old, to be removed.\n\t\t\"legacy\": { \"command\": \"npx\", \"args\": [\"legacy-mcp\"] },\n\t},\n}\n";

    #[tokio::test]
    async fn a_jsonc_file_edited_three_ways_is_restored_to_its_exact_bytes() {
        let dir = scratch("jsonc");
        let path = dir.join("mcp.json");
        std::fs::write(&path, JSONC_FILE).unwrap();
        let file = ManagedFile {
            path: path.clone(),
            format: Format::Vscode,
        };
        let config = config(&dir, vec![file]);
        let lost = no_lease_lost();
        let flag = lost.clone();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let texts = seen.clone();
        let watched = path.clone();
        let progress = Recorder {
            // Each edit is on disk, comments and all, when its action succeeds; the lease is
            // lost after the third, so the fourth never runs and everything is rolled back.
            on: Some(Box::new(move |report| {
                if report.status == ActionStatus::Succeeded {
                    texts
                        .lock()
                        .unwrap()
                        .push(std::fs::read_to_string(&watched).unwrap());
                    if report.action_id == "remove" {
                        flag.store(true, Ordering::SeqCst);
                    }
                }
            })),
            ..Recorder::default()
        };
        let actions = vec![
            action("add", ActionType::InstallServer, "memory", &["-y", "mem@2"]),
            action(
                "pin",
                ActionType::UpdateServer,
                "fetch",
                &["-y", "fetch-mcp@1.2.0"],
            ),
            action("remove", ActionType::RemoveServer, "legacy", &[]),
            action("never", ActionType::InstallServer, "other", &[]),
        ];
        let outcome = execute(&config, &task(actions, false), &progress, &lost).await;
        assert!(outcome.lease_lost);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3);
        for text in &seen {
            for comment in [
                "// Servers for this workspace.",
                "/* Fetches web pages. */",
                "// pinned by policy",
                "// Old, to be removed.",
            ] {
                assert!(text.contains(comment), "{comment} lost from\n{text}");
            }
            assert!(McpFile::parse(text, Format::Vscode).is_ok(), "{text}");
        }
        assert!(seen[0].contains("\t\t\"memory\": {\n\t\t\t\"type\": \"stdio\","));
        assert!(seen[1].contains("[\"-y\", \"fetch-mcp@1.2.0\",]"));
        assert!(!seen[2].contains("legacy-mcp"));
        assert_eq!(std::fs::read(&path).unwrap(), JSONC_FILE.as_bytes());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Holds the first action's `running` report until the second action has started too:
    /// only files that really progress at the same time get past it.
    struct Rendezvous {
        second_started: tokio::sync::Notify,
    }

    impl Progress for Rendezvous {
        async fn report(&self, report: &ActionReport) {
            if report.status != ActionStatus::Running {
                return;
            }
            if report.action_id == "one" {
                self.second_started.notified().await;
            } else {
                self.second_started.notify_one();
            }
        }
    }

    #[tokio::test]
    async fn parallel_files_progress_at_the_same_time() {
        let dir = scratch("rendezvous");
        let (a, b) = (dir.join("a.json"), dir.join("b.json"));
        std::fs::write(&a, FILE).unwrap();
        std::fs::write(&b, FILE.replace("\"git\"", "\"other\"")).unwrap();
        let config = config(&dir, vec![managed(a.clone()), managed(b.clone())]);
        let actions = vec![
            action("one", ActionType::UpdateServer, "git", &["git-mcp@1"]),
            action("two", ActionType::UpdateServer, "other", &["git-mcp@2"]),
        ];
        let progress = Rendezvous {
            second_started: tokio::sync::Notify::new(),
        };
        let outcome = tokio::time::timeout(
            Duration::from_secs(10),
            execute(&config, &task(actions, true), &progress, &no_lease_lost()),
        )
        .await
        .expect("both files are worked on at once");
        assert_eq!(
            outcome.outcome,
            ExecutionOutcome::Succeeded,
            "{}",
            outcome.message
        );
        assert!(std::fs::read_to_string(&a).unwrap().contains("git-mcp@1"));
        assert!(std::fs::read_to_string(&b).unwrap().contains("git-mcp@2"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn an_action_on_several_files_is_reported_once_and_files_run_in_parallel() {
        let dir = scratch("parallel");
        let paths: Vec<PathBuf> = ["a.json", "b.json", "c.json"]
            .iter()
            .map(|n| dir.join(n))
            .collect();
        for path in &paths {
            std::fs::write(path, FILE).unwrap();
        }
        let config = config(&dir, paths.iter().cloned().map(managed).collect());
        let actions = vec![action(
            "pin",
            ActionType::UpdateServer,
            "git",
            &["-y", "git-mcp@1.0.0"],
        )];
        let progress = Recorder::default();
        let outcome = execute(&config, &task(actions, true), &progress, &no_lease_lost()).await;
        assert_eq!(
            outcome.outcome,
            ExecutionOutcome::Succeeded,
            "{}",
            outcome.message
        );
        for path in &paths {
            let text = std::fs::read_to_string(path).unwrap();
            assert!(
                text.contains("git-mcp@1.0.0") && text.contains("ghp_keep"),
                "{text}"
            );
        }
        use ActionStatus::*;
        assert_eq!(
            progress.statuses(),
            [("pin".to_owned(), Running), ("pin".to_owned(), Succeeded)]
        );
        let done = &progress.reports.lock().unwrap()[1].message;
        assert!(
            paths
                .iter()
                .all(|p| done.contains(&p.display().to_string())),
            "{done}"
        );
        assert_eq!(outcome.diffs.len(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
