//! The overview's work queues: proposals awaiting approval, assessments awaiting review and
//! released executions, for the roles that read them.

use crate::app::Ctx;
use crate::components::{Badge, Empty, ErrorNotice, Loading, MachineTag, ProgressBar};
use crate::format;
use chrono::Utc;
use coordinator_api::ExecutionId;
use coordinator_api::assessments::{Assessment, AssessmentQuery, AssessmentStatus};
use coordinator_api::events::Channel;
use coordinator_api::executions::{Execution, ExecutionStatus};
use coordinator_api::remediations::{Priority, Proposal, ProposalQuery, ProposalStatus};
use leptos::prelude::*;
use leptos_router::components::A;

fn priority_rank(priority: Priority) -> u8 {
    match priority {
        Priority::Critical => 0,
        Priority::High => 1,
        Priority::Medium => 2,
        Priority::Low => 3,
    }
}

/// Proposals awaiting approval, most urgent first: by priority, then the longest waiting.
pub fn decision_order(mut proposals: Vec<Proposal>) -> Vec<Proposal> {
    proposals.sort_by_key(|p| (priority_rank(p.priority), p.created_at));
    proposals
}

/// Assessments whose results wait for review, the longest waiting first.
pub fn review_order(mut assessments: Vec<Assessment>) -> Vec<Assessment> {
    assessments.sort_by_key(|a| a.completed_at.unwrap_or(a.created_at));
    assessments
}

/// Released and not finished. A `pending` execution is one a quorum approved but nobody has
/// released yet: it waits for a person, not for an installer.
fn is_running(status: ExecutionStatus) -> bool {
    matches!(status, ExecutionStatus::Queued | ExecutionStatus::Running)
}

/// What waits for a person: proposals to approve and assessments to review.
#[component]
pub(super) fn DecisionQueues() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let reviews = LocalResource::new(move || {
        live.revision(Channel::Assessments);
        let api = ctx.api();
        async move {
            let filter = AssessmentQuery {
                status: Some(AssessmentStatus::Completed),
                limit: Some(100),
                ..Default::default()
            };
            api.assessments(&filter)
                .await
                .map(|page| (review_order(page.assessments), page.total))
        }
    });
    let approvals = LocalResource::new(move || {
        live.revision(Channel::Remediations);
        live.revision(Channel::Approvals);
        let api = ctx.api();
        async move {
            let filter = ProposalQuery {
                status: Some(ProposalStatus::Pending),
                limit: Some(100),
                ..Default::default()
            };
            api.proposals(&filter)
                .await
                .map(|page| (decision_order(page.proposals), page.total))
        }
    });
    // Marks the moment the decisions first show, for measuring time to first render.
    Effect::new(move |marked: Option<bool>| {
        let ready = approvals.with(Option::is_some) && reviews.with(Option::is_some);
        if ready
            && marked != Some(true)
            && let Some(performance) = web_sys::window().and_then(|w| w.performance())
        {
            let _ = performance.mark("overview-ready");
        }
        ready || marked == Some(true)
    });

    view! {
        <section class="card wide" aria-labelledby="decide-heading" data-test="needs-decision">
            <h2 id="decide-heading">"Needs a decision"</h2>
            <h3>"Proposals awaiting approval"</h3>
            <Transition fallback=Loading>
                {move || approvals.get().map(|result| match result {
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    Ok((list, _)) if list.is_empty() => view! { <Empty text="No proposal is waiting for approval."/> }.into_any(),
                    Ok((list, total)) => view! {
                        <ProposalQueue proposals=list.clone()/>
                        <MoreWaiting shown=list.len() total href="/remediations?status=pending"/>
                    }.into_any(),
                })}
            </Transition>
            <h3>"Assessments to review"</h3>
            <Transition fallback=Loading>
                {move || reviews.get().map(|result| match result {
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    Ok((list, _)) if list.is_empty() => view! { <Empty text="No assessment is waiting for review."/> }.into_any(),
                    Ok((list, total)) => view! {
                        <ReviewQueue assessments=list.clone()/>
                        <MoreWaiting shown=list.len() total href="/assessments?status=completed"/>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
pub(super) fn RunningExecutions() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let running = LocalResource::new(move || {
        live.revision(Channel::Executions);
        let api = ctx.api();
        async move {
            let filter = ProposalQuery {
                status: Some(ProposalStatus::Approved),
                limit: Some(50),
                ..Default::default()
            };
            let page = api.proposals(&filter).await?;
            let released: Vec<(Proposal, ExecutionId)> = page
                .proposals
                .into_iter()
                .filter_map(|p| p.execution_id.map(|id| (p, id)))
                .collect();
            // One request per execution, all at once rather than one after another.
            let executions =
                futures_util::future::join_all(released.iter().map(|(_, id)| api.execution(*id)))
                    .await;
            let mut running = Vec::new();
            for ((proposal, _), execution) in released.into_iter().zip(executions) {
                let execution = execution?.execution;
                if is_running(execution.status) {
                    running.push((proposal, execution));
                }
            }
            Ok::<_, crate::api::ApiError>(running)
        }
    });
    view! {
        <section class="card" aria-labelledby="running-heading">
            <h2 id="running-heading">"Running executions"</h2>
            <Transition fallback=Loading>
                {move || running.get().map(|result| match result {
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <Empty text="Nothing is running."/> }.into_any(),
                    Ok(list) => view! { <RunningList running=list/> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// The queues show the newest hundred; when more wait, the reader is told and sent on.
#[component]
fn MoreWaiting(shown: usize, total: u64, href: &'static str) -> impl IntoView {
    (total > shown as u64).then(|| {
        view! {
            <p class="muted">
                {format!("Showing {shown} of {total} waiting. ")}
                <A href=href>"See them all"</A>
            </p>
        }
    })
}

#[component]
fn ProposalQueue(proposals: Vec<Proposal>) -> impl IntoView {
    let now = Utc::now();
    view! {
        <div class="table-wrap">
            <table data-test="proposal-queue">
                <thead><tr><th>"Proposal"</th><th>"Machine"</th><th>"Priority"</th><th>"Approvals"</th><th>"Waiting"</th><th>"Issues"</th></tr></thead>
                <tbody>
                    {proposals.into_iter().map(|p| view! {
                        <tr data-test="queue-row">
                            <td><A href=format!("/remediations/{}", p.proposal_id)>{format!("#{}", p.proposal_id)}</A></td>
                            <td><MachineTag machine=p.machine_id/></td>
                            <td><Badge value=p.priority.to_string()/></td>
                            <td>{format::approvals(p.approvals_received, p.approvals_required)}</td>
                            <td>{format::age(p.created_at, now)}</td>
                            <td>{p.issues.join("; ")}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn ReviewQueue(assessments: Vec<Assessment>) -> impl IntoView {
    let now = Utc::now();
    view! {
        <div class="table-wrap">
            <table data-test="review-queue">
                <thead><tr><th>"Assessment"</th><th>"Machine"</th><th>"Type"</th><th>"Servers"</th><th>"Waiting"</th></tr></thead>
                <tbody>
                    {assessments.into_iter().map(|a| {
                        let waiting = format::age(a.completed_at.unwrap_or(a.created_at), now);
                        view! {
                            <tr data-test="queue-row">
                                <td><A href=format!("/assessments/{}", a.assessment_id)>{format!("#{}", a.assessment_id)}</A></td>
                                <td><MachineTag machine=a.machine_id.clone()/></td>
                                <td>{a.assessment_type.clone()}</td>
                                <td>{a.target_servers.join(", ")}</td>
                                <td>{waiting}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn RunningList(running: Vec<(Proposal, Execution)>) -> impl IntoView {
    view! {
        <ul class="plain">
            {running.into_iter().map(|(proposal, execution)| {
                let percent = f64::from(execution.progress);
                view! {
                    <li>
                        <A href=format!("/remediations/{}", proposal.proposal_id)>{format!("Proposal #{}", proposal.proposal_id)}</A>
                        " on "<MachineTag machine=execution.machine_id.clone()/>" "
                        <Badge value=execution.status.to_string()/>
                        <ProgressBar percent=Signal::derive(move || percent) label=format!("Execution {}", execution.execution_id)/>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_ranks_most_urgent_first() {
        let mut ranks: Vec<Priority> = vec![
            Priority::Low,
            Priority::Critical,
            Priority::Medium,
            Priority::High,
        ];
        ranks.sort_by_key(|p| priority_rank(*p));
        assert_eq!(
            ranks,
            [
                Priority::Critical,
                Priority::High,
                Priority::Medium,
                Priority::Low
            ]
        );
        assert!(is_running(ExecutionStatus::Queued));
        assert!(!is_running(ExecutionStatus::Pending));
        assert!(!is_running(ExecutionStatus::Succeeded));
    }
}
