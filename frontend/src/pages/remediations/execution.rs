//! Releasing an approved proposal to an installer, and following its execution live.

use crate::api::ApiError;
use crate::components::{
    Badge, Empty, ErrorNotice, Loading, MachineTag, MaybeTime, ProgressBar, Time,
};
use crate::format;
use coordinator_api::executions::{ActionProgress, ExecuteResponse, Execution, ExecutionStatus};
use coordinator_api::remediations::ProposalStatus;
use leptos::prelude::*;
use leptos_router::components::A;

/// How the person wants the run carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecuteOptions {
    pub dry_run: bool,
    pub rollback_on_failure: bool,
    pub parallel: bool,
}

/// Whether a release can start a run now. Quorum creates the real run as `pending`; it is
/// released once, unless it was `interrupted` (releasing again resumes it). After a dry run
/// the real run may still wait, so a finished dry run leaves the release open.
pub fn can_release(status: ProposalStatus, latest: Option<&Execution>) -> bool {
    if status != ProposalStatus::Approved {
        return false;
    }
    match latest {
        None => true,
        Some(run) => match run.status {
            ExecutionStatus::Pending | ExecutionStatus::Interrupted => true,
            ExecutionStatus::Succeeded | ExecutionStatus::Failed | ExecutionStatus::RolledBack => {
                run.dry_run
            }
            ExecutionStatus::Queued | ExecutionStatus::Running => false,
        },
    }
}

pub fn execute_confirmation(answer: &ExecuteResponse) -> String {
    if answer.dry_run {
        format!(
            "Dry run #{} queued: an installer will report what would change, and change nothing. The approved run keeps waiting.",
            answer.execution_id
        )
    } else {
        format!(
            "Execution #{} released: it is {} for an installer.",
            answer.execution_id, answer.status
        )
    }
}

/// The per-file diffs in an installer's report: `{"diffs": {"<file>": "<unified diff>"}}`,
/// or a single `"diff"`. Files whose diff is empty changed nothing and are left out. `None`
/// when the report carries no diff at all.
pub fn report_diffs(report: &serde_json::Value) -> Option<Vec<(String, String)>> {
    if let Some(files) = report.get("diffs").and_then(serde_json::Value::as_object) {
        return Some(
            files
                .iter()
                .filter_map(|(file, diff)| {
                    diff.as_str()
                        .filter(|d| !d.trim().is_empty())
                        .map(|d| (file.clone(), d.to_owned()))
                })
                .collect(),
        );
    }
    report
        .get("diff")
        .and_then(serde_json::Value::as_str)
        .map(|diff| {
            if diff.trim().is_empty() {
                Vec::new()
            } else {
                vec![(String::new(), diff.to_owned())]
            }
        })
}

/// How an ended run went, judged for the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Its changes were made and kept.
    Good,
    /// Nothing was meant to change (a dry run).
    Neutral,
    /// Failed, rolled back or interrupted: someone has to read why.
    Bad,
}

impl Tone {
    /// The style of the run's bar and notice.
    pub fn class(self) -> &'static str {
        match self {
            Tone::Good => "good",
            Tone::Neutral => "neutral",
            Tone::Bad => "bad",
        }
    }
}

/// What an ended run came to, in words that cannot be misread, and its tone; `None` while
/// it has not ended. A rolled-back run made its changes and undid them, so it reads as
/// nothing kept, whatever its bar says.
pub fn run_verdict(run: &Execution) -> Option<(Tone, String)> {
    let kept = run.results.successful;
    let verdict = match (run.status, run.dry_run) {
        (ExecutionStatus::Pending | ExecutionStatus::Queued | ExecutionStatus::Running, _) => {
            return None;
        }
        (ExecutionStatus::Succeeded, true) => (
            Tone::Neutral,
            "Dry run finished — nothing was changed".to_owned(),
        ),
        (ExecutionStatus::Succeeded, false) => {
            (Tone::Good, "Succeeded — every change kept".to_owned())
        }
        (ExecutionStatus::RolledBack, _) => (Tone::Bad, "Rolled back — nothing kept".to_owned()),
        (ExecutionStatus::Failed, true) => {
            (Tone::Bad, "Dry run failed — nothing was changed".to_owned())
        }
        (ExecutionStatus::Failed, false) => match kept {
            0 => (Tone::Bad, "Failed — no change kept".to_owned()),
            1 => (Tone::Bad, "Failed — 1 change kept".to_owned()),
            n => (Tone::Bad, format!("Failed — {n} changes kept")),
        },
        (ExecutionStatus::Interrupted, _) => (
            Tone::Bad,
            format!(
                "Interrupted — check machine {} before releasing it again",
                run.machine_id
            ),
        ),
    };
    Some(verdict)
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// The release form: the options of the run and one button.
#[component]
pub fn ExecuteForm(execute: Action<ExecuteOptions, Result<String, ApiError>>) -> impl IntoView {
    let dry_run = RwSignal::new(false);
    let rollback = RwSignal::new(true);
    let parallel = RwSignal::new(false);
    let pending = execute.pending();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        execute.dispatch(ExecuteOptions {
            dry_run: dry_run.get_untracked(),
            rollback_on_failure: rollback.get_untracked(),
            parallel: parallel.get_untracked(),
        });
    };
    view! {
        <form class="execute" on:submit=submit data-test="execute-form">
            <fieldset>
                <legend>"Options of the run"</legend>
                <label class="check">
                    <input type="checkbox" data-test="dry-run"
                        prop:checked=move || dry_run.get()
                        on:change=move |ev| dry_run.set(event_target_checked(&ev))/>
                    " Dry run — report what would change, change nothing"
                </label>
                <label class="check">
                    <input type="checkbox" data-test="rollback"
                        prop:checked=move || rollback.get()
                        on:change=move |ev| rollback.set(event_target_checked(&ev))/>
                    " Roll back on failure — restore every changed file if an action fails"
                </label>
                <label class="check">
                    <input type="checkbox" data-test="parallel"
                        prop:checked=move || parallel.get()
                        on:change=move |ev| parallel.set(event_target_checked(&ev))/>
                    " Run actions in parallel"
                </label>
            </fieldset>
            <div class="buttons">
                <button type="submit" class="primary" data-test="execute" disabled=move || pending.get()>
                    "Start execution"
                </button>
                <Show when=move || pending.get()><span class="muted">"Releasing…"</span></Show>
            </div>
        </form>
    }
}

/// The latest execution of the proposal, kept on screen while fresh progress loads.
#[component]
pub fn ExecutionPanel(
    execution: LocalResource<Result<Option<Execution>, ApiError>>,
) -> impl IntoView {
    // The bar lives outside the reloaded part so it glides from one value to the next.
    let progress = Memo::new(move |_| {
        execution.with(|loaded| match loaded {
            Some(Ok(Some(run))) => Some(f64::from(run.progress)),
            _ => None,
        })
    });
    let verdict = Memo::new(move |_| {
        execution.with(|loaded| match loaded {
            Some(Ok(Some(run))) => run_verdict(run),
            _ => None,
        })
    });
    view! {
        <section class="card" aria-labelledby="execution-heading" data-test="execution">
            <h2 id="execution-heading">"Execution"</h2>
            <Transition fallback=Loading>
                {move || execution.get().map(|result| match result {
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    Ok(None) => view! {
                        <Empty text="Nothing to execute yet: the execution is created when enough approvers approve."/>
                    }.into_any(),
                    Ok(Some(run)) => view! { <ExecutionHeadline run/> }.into_any(),
                })}
            </Transition>
            <Show when=move || progress.get().is_some()>
                <ProgressBar
                    percent=Signal::derive(move || progress.get().unwrap_or(0.0))
                    label="Execution progress"
                    tone=Signal::derive(move || verdict.get().map(|(tone, _)| tone.class()))
                    caption=Signal::derive(move || verdict.get().map(|(_, words)| words))
                />
            </Show>
            <Transition fallback=|| ()>
                {move || execution.get().map(|result| match result {
                    Ok(Some(run)) => view! { <ExecutionDetails run/> }.into_any(),
                    _ => ().into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ExecutionHeadline(run: Execution) -> impl IntoView {
    let kind = if run.dry_run {
        "Dry run: nothing is changed"
    } else {
        "Real run"
    };
    let waiting = (run.status == ExecutionStatus::Pending)
        .then_some("Approved; waits for someone to release it.");
    let message = run.message.clone();
    let outcome = run_verdict(&run).map(|(tone, words)| {
        let class = format!("notice verdict verdict-{}", tone.class());
        // The words of whoever ended the run: the installer's, or the coordinator's when
        // the installer went silent.
        let source = if run.status == ExecutionStatus::Interrupted {
            "The coordinator: "
        } else {
            "The installer: "
        };
        view! {
            <div class=class role="status" data-test="execution-verdict">
                <strong data-test="execution-outcome">{words}</strong>
                {message.map(|message| view! {
                    <p class="prewrap" data-test="execution-message">
                        <span class="muted">{source}</span>{message}
                    </p>
                })}
            </div>
        }
    });
    view! {
        <p class="execution-headline">
            <strong>{format!("#{}", run.execution_id)}</strong>" "
            <Badge value=run.status.to_string() attr:data-test="execution-status"/>" "
            <span class:dry-run=run.dry_run data-test="execution-kind">{kind}</span>" "
            <span>"on machine "<MachineTag machine=run.machine_id/></span>
        </p>
        {waiting.map(|text| view! { <p class="muted">{text}</p> })}
        {outcome}
    }
}

#[component]
fn ExecutionDetails(run: Execution) -> impl IntoView {
    let counts = run.results;
    let diffs = run.report.as_ref().and_then(report_diffs);
    view! {
        <dl class="facts">
            <dt>"Current action"</dt>
            <dd>{match run.current_action {
                Some(action) => view! { <code data-test="current-action">{action}</code> }.into_any(),
                None => view! { <span class="muted">"none"</span> }.into_any(),
            }}</dd>
            <dt>"Actions"</dt>
            <dd data-test="execution-counts">{format::action_counts(&counts)}</dd>
            <dt>"Started"</dt>
            <dd><MaybeTime at=run.start_time missing="not started"/></dd>
            <dt>"Estimated completion"</dt>
            <dd><MaybeTime at=run.estimated_completion missing="no estimate yet"/></dd>
            <dt>"Finished"</dt>
            <dd><MaybeTime at=run.end_time missing="not finished"/></dd>
            <dt>"Installer"</dt>
            <dd>{match run.installer {
                Some(installer) => view! { <code>{installer.to_string()}</code> }.into_any(),
                None => view! { <span class="muted">"not claimed yet"</span> }.into_any(),
            }}</dd>
            <dt>"Options"</dt>
            <dd>{format!(
                "roll back on failure: {}; actions in parallel: {}",
                yes_no(run.rollback_on_failure),
                yes_no(run.parallel_execution)
            )}</dd>
            {run.reassessment_id.map(|id| view! {
                <dt>"Re-assessment"</dt>
                <dd><A href=format!("/assessments/{id}")>{format!("Assessment #{id}")}</A></dd>
            })}
        </dl>
        <ActionProgressTable actions=run.actions/>
        {diffs.map(|diffs| view! { <ReportDiff diffs dry_run=run.dry_run/> })}
    }
}

#[component]
fn ActionProgressTable(actions: Vec<ActionProgress>) -> impl IntoView {
    if actions.is_empty() {
        return view! { <Empty text="This execution has no actions."/> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table data-test="action-progress">
                <thead>
                    <tr><th>"Action"</th><th>"Status"</th><th>"Message"</th><th>"Updated"</th></tr>
                </thead>
                <tbody>
                    {actions.into_iter().map(|action| view! { <ActionProgressRow action/> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn ActionProgressRow(action: ActionProgress) -> impl IntoView {
    let id = action.action_id.clone();
    view! {
        <tr data-test="action-row" data-action=id>
            <td><code>{action.action_id}</code></td>
            <td><Badge value=action.status.to_string()/></td>
            <td class="prewrap">{action.message.unwrap_or_default()}</td>
            <td>{action.updated_at.map(|at| view! { <Time at/> })}</td>
        </tr>
    }
}

/// What the run changed, or for a dry run would change, file by file.
#[component]
fn ReportDiff(diffs: Vec<(String, String)>, dry_run: bool) -> impl IntoView {
    let heading = if dry_run {
        "What a real run would change"
    } else {
        "What the run changed"
    };
    let body = if diffs.is_empty() {
        let text = if dry_run {
            "A real run would change nothing: every file is already as proposed."
        } else {
            "No file was changed."
        };
        view! { <Empty text/> }.into_any()
    } else {
        diffs
            .into_iter()
            .map(|(file, diff)| {
                view! {
                    <figure class="diff-file" data-test="diff">
                        {(!file.is_empty()).then(|| view! { <figcaption><code>{file}</code></figcaption> })}
                        <pre class="diff">{diff}</pre>
                    </figure>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <h3>{heading}</h3>
        {body}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use coordinator_api::executions::ExecutionCounts;
    use coordinator_api::{ExecutionId, ProposalId};
    use serde_json::json;

    fn run(status: ExecutionStatus, dry_run: bool) -> Execution {
        Execution {
            execution_id: ExecutionId(3),
            proposal_id: ProposalId(5),
            machine_id: coordinator_api::MachineId::parse("ws-07").unwrap(),
            status,
            message: None,
            dry_run,
            rollback_on_failure: true,
            parallel_execution: false,
            progress: 0,
            current_action: None,
            start_time: None,
            estimated_completion: None,
            end_time: None,
            results: ExecutionCounts {
                completed: 0,
                total: 1,
                successful: 0,
                failed: 0,
                skipped: 0,
                rolled_back: 0,
            },
            actions: vec![],
            report: None,
            payload_digest: "sha256:abc".to_owned(),
            installer: None,
            reassessment_id: None,
            correlation_id: "c".to_owned(),
            created_at: Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(),
        }
    }

    #[test]
    fn release_is_offered_while_the_approved_run_waits() {
        use ExecutionStatus::*;
        let approved = ProposalStatus::Approved;
        assert!(can_release(approved, None));
        assert!(can_release(approved, Some(&run(Pending, false))));
        assert!(can_release(approved, Some(&run(Interrupted, false))));
        assert!(can_release(approved, Some(&run(Succeeded, true))));
        assert!(!can_release(approved, Some(&run(Queued, false))));
        assert!(!can_release(approved, Some(&run(Running, true))));
        assert!(!can_release(approved, Some(&run(Succeeded, false))));
        assert!(!can_release(ProposalStatus::Pending, None));
        assert!(!can_release(
            ProposalStatus::Executed,
            Some(&run(Pending, false))
        ));
    }

    #[test]
    fn ended_runs_say_what_was_kept() {
        use ExecutionStatus::*;
        let words = |status, dry_run, kept| {
            let mut run = run(status, dry_run);
            run.results.successful = kept;
            run_verdict(&run)
        };
        assert_eq!(words(Running, false, 0), None);
        assert_eq!(words(Pending, false, 0), None);
        assert_eq!(
            words(RolledBack, false, 0),
            Some((Tone::Bad, "Rolled back — nothing kept".to_owned()))
        );
        assert_eq!(
            words(Failed, false, 2),
            Some((Tone::Bad, "Failed — 2 changes kept".to_owned()))
        );
        assert_eq!(
            words(Failed, false, 0),
            Some((Tone::Bad, "Failed — no change kept".to_owned()))
        );
        assert_eq!(
            words(Succeeded, true, 0),
            Some((
                Tone::Neutral,
                "Dry run finished — nothing was changed".to_owned()
            ))
        );
        assert_eq!(words(Succeeded, false, 1).map(|(t, _)| t), Some(Tone::Good));
        let interrupted = words(Interrupted, false, 1).unwrap();
        assert_eq!(interrupted.0, Tone::Bad);
        assert!(
            interrupted.1.contains("check machine ws-07"),
            "{}",
            interrupted.1
        );
        assert_eq!(Tone::Bad.class(), "bad");
    }

    #[test]
    fn confirmations_tell_dry_runs_apart() {
        let answer = |dry_run| ExecuteResponse {
            success: true,
            execution_id: ExecutionId(8),
            status: ExecutionStatus::Queued,
            dry_run,
            auto_executed: false,
        };
        assert_eq!(
            execute_confirmation(&answer(false)),
            "Execution #8 released: it is queued for an installer."
        );
        assert!(execute_confirmation(&answer(true)).starts_with("Dry run #8 queued"));
    }

    #[test]
    fn diffs_are_read_from_the_agent_report() {
        let report = json!({
            "dryRun": true,
            "diffs": {
                "/home/a/.cursor/mcp.json": "--- a\n+++ b\n+x\n",
                "/home/a/claude.json": "",
            }
        });
        assert_eq!(
            report_diffs(&report),
            Some(vec![(
                "/home/a/.cursor/mcp.json".to_owned(),
                "--- a\n+++ b\n+x\n".to_owned()
            )])
        );
        assert_eq!(
            report_diffs(&json!({"dryRun": true, "diffs": {}})),
            Some(vec![])
        );
        assert_eq!(
            report_diffs(&json!({"diff": "+y\n"})),
            Some(vec![(String::new(), "+y\n".to_owned())])
        );
        assert_eq!(report_diffs(&json!({"summary": "done"})), None);
        assert_eq!(report_diffs(&json!("text")), None);
    }
}
