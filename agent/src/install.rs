//! Applying an approved execution to the configuration files.
//!
//! Each action is mapped to the file it changes: an existing server's file, or the install
//! target for a server configured nowhere yet. Files are changed one action at a time, each
//! change written atomically (temporary file, fsync, rename), after a backup of the original
//! is kept in the state directory. A dry run computes the same changes and reports their
//! diff without writing. With `rollbackOnFailure`, a failed action restores every file this
//! execution changed from its backup.

use crate::config::{AgentConfig, ManagedFile};
use crate::mcp_config::{McpFile, ServerEntry, unified_diff};
use coordinator_api::executions::{ActionStatus, ExecutionOutcome};
use coordinator_api::remediations::{ActionType, ProposedAction};
use coordinator_api::work::ExecutionTask;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

fn read(file: &ManagedFile) -> Result<Option<McpFile>, ActionError> {
    let label = file.path.display().to_string();
    match std::fs::read_to_string(&file.path) {
        Ok(text) => McpFile::parse(&text, file.format)
            .map(Some)
            .map_err(|e| ActionError::Malformed(label, e.to_string())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(ActionError::Read(label, err)),
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

/// Writes `text` to `path` so that readers see the old file or the new one, never a mix.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let permissions = std::fs::metadata(path).map(|m| m.permissions()).ok();
    {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(text.as_bytes())?;
        if let Some(permissions) = permissions {
            file.set_permissions(permissions)?;
        }
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path)?;
    // Make the rename itself durable.
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Where the original of `path` is kept for this execution.
fn backup_path(state_dir: &Path, execution: impl std::fmt::Display, path: &Path) -> PathBuf {
    let flat: String = path
        .to_string_lossy()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    state_dir
        .join("backups")
        .join(format!("execution-{execution}"))
        .join(flat)
}

/// Files changed so far, with their originals (`None`: the file did not exist).
struct Changed {
    originals: Vec<(PathBuf, Option<String>)>,
}

impl Changed {
    fn restore(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (path, original) in self.originals.iter().rev() {
            let result = match original {
                Some(text) => write_atomically(path, text),
                None => std::fs::remove_file(path),
            };
            if let Err(err) = result {
                problems.push(format!("{}: {err}", path.display()));
            }
        }
        problems
    }
}

/// One file's share of an execution: its label, what was changed (for a rollback), the
/// reports to send, and its diff or the action that failed.
type FileRun = (
    String,
    Changed,
    Vec<ActionReport>,
    Result<String, (Option<String>, ActionError)>,
);

/// Applies `actions` to `file` in order, keeping a backup of the original first.
async fn run_file(
    state_dir: &Path,
    execution: coordinator_api::ExecutionId,
    file: ManagedFile,
    actions: Vec<&ProposedAction>,
) -> FileRun {
    let label = file.path.display().to_string();
    let mut changed = Changed {
        originals: Vec::new(),
    };
    let mut reports = Vec::new();
    let original = match read(&file) {
        Ok(original) => original,
        Err(err) => {
            return (
                label,
                changed,
                reports,
                Err((actions.first().map(|a| a.id.clone()), err)),
            );
        }
    };
    let before = original.as_ref().map(|f| f.text().to_owned());
    let original_file = original.clone();
    if let Some(text) = &before {
        let backup = backup_path(state_dir, execution, &file.path);
        if let Err(err) = backup
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&backup, text))
        {
            return (
                label.clone(),
                changed,
                reports,
                Err((None, ActionError::Write(backup.display().to_string(), err))),
            );
        }
    }
    changed.originals.push((file.path.clone(), before.clone()));
    let mut current = original;
    for action in actions {
        reports.push(ActionReport {
            action_id: action.id.clone(),
            status: ActionStatus::Running,
            message: format!("changing {label}"),
        });
        let next = match apply(current.clone(), &file, action) {
            Ok(next) => next,
            Err(err) => return (label, changed, reports, Err((Some(action.id.clone()), err))),
        };
        if let Err(err) = write_atomically(&file.path, next.text()) {
            return (
                label.clone(),
                changed,
                reports,
                Err((Some(action.id.clone()), ActionError::Write(label, err))),
            );
        }
        reports.push(ActionReport {
            action_id: action.id.clone(),
            status: ActionStatus::Succeeded,
            message: format!("{} `{}` in {label}", action.action_type, action.server_name),
        });
        current = Some(next);
    }
    let diff = masked_diff(&label, original_file.as_ref(), current.as_ref());
    (label, changed, reports, Ok(diff))
}

/// Carries out (or, for a dry run, plans) the execution.
pub async fn execute(
    config: &AgentConfig,
    task: &ExecutionTask,
    progress: &impl Progress,
) -> Outcome {
    // Group the actions by file, keeping their order within each file.
    let mut plan: Vec<(ManagedFile, Vec<&ProposedAction>)> = Vec::new();
    let mut unplaceable = Vec::new();
    for action in &task.actions {
        match targets(config, action) {
            Ok(files) if files.is_empty() => {
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
            Ok(files) => {
                for file in files {
                    match plan.iter_mut().find(|(f, _)| *f == file) {
                        Some((_, actions)) => actions.push(action),
                        None => plan.push((file, vec![action])),
                    }
                }
            }
            Err(err) => unplaceable.push((action, err)),
        }
    }
    let mut diffs = BTreeMap::new();
    if let Some((action, err)) = unplaceable.into_iter().next() {
        progress
            .report(&ActionReport {
                action_id: action.id.clone(),
                status: ActionStatus::Failed,
                message: err.to_string(),
            })
            .await;
        return Outcome {
            outcome: ExecutionOutcome::Failed,
            message: format!(
                "action `{}` cannot be applied: {err}; nothing was changed",
                action.id
            ),
            diffs,
        };
    }

    if task.dry_run {
        for (file, actions) in &plan {
            let label = file.path.display().to_string();
            let outcome = (|| {
                let original = read(file)?;
                let mut current = original.clone();
                for action in actions {
                    current = Some(apply(current, file, action)?);
                }
                Ok::<_, ActionError>(masked_diff(&label, original.as_ref(), current.as_ref()))
            })();
            match outcome {
                Ok(diff) => {
                    diffs.insert(label.clone(), diff);
                    for action in actions {
                        progress
                            .report(&ActionReport {
                                action_id: action.id.clone(),
                                status: ActionStatus::Skipped,
                                message: format!("dry run: would change {label}"),
                            })
                            .await;
                    }
                }
                Err(err) => {
                    return Outcome {
                        outcome: ExecutionOutcome::Failed,
                        message: format!("dry run: {err}"),
                        diffs,
                    };
                }
            }
        }
        return Outcome {
            outcome: ExecutionOutcome::Succeeded,
            message: "dry run: nothing was written".to_owned(),
            diffs,
        };
    }

    // Independent files may be changed at once; actions on one file always run in order.
    let results =
        if task.parallel_execution {
            futures_util::future::join_all(plan.into_iter().map(|(file, actions)| {
                run_file(&config.state_dir, task.execution_id, file, actions)
            }))
            .await
        } else {
            let mut results = Vec::new();
            for (file, actions) in plan {
                let result = run_file(&config.state_dir, task.execution_id, file, actions).await;
                let failed = result.3.is_err();
                results.push(result);
                if failed {
                    break;
                }
            }
            results
        };

    let mut all_changed = Changed {
        originals: Vec::new(),
    };
    let mut failure = None;
    for (label, changed, reports, result) in results {
        for report in &reports {
            progress.report(report).await;
        }
        all_changed.originals.extend(changed.originals);
        match result {
            Ok(diff) => {
                diffs.insert(label, diff);
            }
            Err((action, err)) => {
                if let Some(action) = &action {
                    progress
                        .report(&ActionReport {
                            action_id: action.clone(),
                            status: ActionStatus::Failed,
                            message: err.to_string(),
                        })
                        .await;
                }
                failure.get_or_insert((action, err));
            }
        }
    }
    let Some((action, err)) = failure else {
        return Outcome {
            outcome: ExecutionOutcome::Succeeded,
            message: format!("{} action(s) applied", task.actions.len()),
            diffs,
        };
    };
    let what = action
        .map(|a| format!("action `{a}`"))
        .unwrap_or_else(|| "preparing".to_owned());
    if task.rollback_on_failure {
        let problems = all_changed.restore();
        if problems.is_empty() {
            return Outcome {
                outcome: ExecutionOutcome::RolledBack,
                message: format!(
                    "{what} failed ({err}); every changed file was restored from its backup"
                ),
                diffs: BTreeMap::new(),
            };
        }
        return Outcome {
            outcome: ExecutionOutcome::Failed,
            message: format!(
                "{what} failed ({err}); restoring failed for: {}",
                problems.join("; ")
            ),
            diffs,
        };
    }
    Outcome {
        outcome: ExecutionOutcome::Failed,
        message: format!(
            "{what} failed ({err}); changes made before it were kept (no rollback asked)"
        ),
        diffs,
    }
}
