//! One remediation proposal, laid out for the approver deciding on it: where it stands, who
//! decided what, every action exactly as the installer would run it (env values masked),
//! the risk, and then the decision, the release and the live execution.

use super::decide::{
    DecideSection, DecideState, assessment_requester, decide_state, decision_confirmation, own_part,
};
use super::execution::{
    ExecuteForm, ExecuteOptions, ExecutionPanel, can_release, execute_confirmation,
};
use crate::api::ApiError;
use crate::app::Ctx;
use crate::components::{
    BadAddress, Badge, CorrelationLink, Empty, ErrorNotice, Loading, MachineBanner, Time,
};
use crate::format;
use chrono::Utc;
use coordinator_api::approvals::{ApprovalRecord, Decision};
use coordinator_api::events::Channel;
use coordinator_api::remediations::{MaskedAction, MaskedValue, Proposal, ProposalStatus, Risk};
use coordinator_api::{ExecutionId, Permission, ProposalId};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use std::collections::BTreeMap;

/// Where the proposal stands, in one sentence beside its status.
pub fn status_sentence(proposal: &Proposal) -> String {
    match proposal.status {
        ProposalStatus::Pending => {
            let missing = proposal
                .approvals_required
                .saturating_sub(proposal.approvals_received);
            match missing {
                0 => "Waiting for approvers.".to_owned(),
                1 => {
                    "Waiting for approvers: 1 more approval is needed before it can run.".to_owned()
                }
                n => format!(
                    "Waiting for approvers: {n} more approvals are needed before it can run."
                ),
            }
        }
        ProposalStatus::Approved => {
            "Approved: it runs once an approver releases it for execution.".to_owned()
        }
        ProposalStatus::Rejected => "Rejected by an approver: it will not run.".to_owned(),
        ProposalStatus::Expired => {
            "Nobody decided before the deadline: it will not run.".to_owned()
        }
        ProposalStatus::Executed => "Executed: the run succeeded.".to_owned(),
        ProposalStatus::Failed => "The run failed or was rolled back.".to_owned(),
    }
}

/// A command line as a shell would read it: an argument with spaces or shell characters is
/// single-quoted, so where one argument ends and the next begins cannot be misread.
pub fn command_line(command: &str, args: &[String]) -> String {
    std::iter::once(command)
        .chain(args.iter().map(String::as_str))
        .map(shell_word)
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[component]
pub fn RemediationPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| {
        params
            .with(|p| p.get("id"))
            .and_then(|raw| raw.parse::<ProposalId>().ok())
    });
    move || match id.get() {
        Some(id) => view! { <ProposalDetail id/> }.into_any(),
        None => view! {
            <BadAddress heading="Remediation proposal" names="a remediation proposal"
                back_href="/remediations" back_text="All remediations"/>
        }
        .into_any(),
    }
}

#[component]
fn ProposalDetail(id: ProposalId) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    const PROPOSAL_CHANNELS: [Channel; 3] = [
        Channel::Remediations,
        Channel::Approvals,
        Channel::Executions,
    ];
    let proposal = LocalResource::new(move || {
        for channel in PROPOSAL_CHANNELS {
            live.revision(channel);
        }
        let api = ctx.api();
        async move {
            live.settled(&PROPOSAL_CHANNELS, || api.proposal(id))
                .await
                .map(|r| r.proposal)
        }
    });
    let loaded =
        Memo::new(move |_| proposal.with(|r| r.as_ref().and_then(|r| r.as_ref().ok()).cloned()));
    let execution_id = Memo::new(move |_| loaded.with(|p| p.as_ref().and_then(|p| p.execution_id)));
    // The proposal names its real run only; a dry run is followed by its own id, kept in the
    // address (`?run=`) so a reload or a shared link shows the same run and its diff.
    let query = use_query_map();
    let navigate = use_navigate();
    let chosen_run = RwSignal::new(
        query.with_untracked(|q| q.get("run").and_then(|run| run.parse::<ExecutionId>().ok())),
    );
    let shown_run = Memo::new(move |_| chosen_run.get().or(execution_id.get()));
    let execution = LocalResource::new(move || {
        live.revision(Channel::Executions);
        shown_run.track();
        let api = ctx.api();
        async move {
            // An answer about a run no longer shown (the person just started another) is
            // asked again for the run shown now.
            loop {
                let run = shown_run.get_untracked();
                let answer = live
                    .settled(&[Channel::Executions], || {
                        let api = api.clone();
                        async move {
                            match run {
                                Some(run) => api.execution(run).await.map(|r| Some(r.execution)),
                                None => Ok(None),
                            }
                        }
                    })
                    .await;
                if shown_run.get_untracked() == run {
                    return answer;
                }
            }
        }
    });

    let decide = Action::new_local(move |(decision, reason): &(Decision, String)| {
        let (decision, reason) = (*decision, reason.clone());
        let api = ctx.api();
        async move {
            let answer = api.decide(id, decision, &reason).await?;
            proposal.refetch();
            Ok::<_, ApiError>(decision_confirmation(&answer))
        }
    });
    let assessment_id = Memo::new(move |_| loaded.with(|p| p.as_ref().map(|p| p.assessment_id)));
    let machine = Memo::new(move |_| loaded.with(|p| p.as_ref().map(|p| p.machine_id.clone())));
    let requester = assessment_requester(ctx, assessment_id);
    let me = move || {
        ctx.session
            .with(|s| s.as_ref().map(|s| s.user.username.clone()))
    };
    // Memos, so a reload that changes nothing relevant does not rebuild the forms and lose
    // what is being typed or ticked. Nothing is offered until the requester is known, so a
    // form does not flash up for the one approver it is not for.
    let decide_state = Memo::new(move |_| {
        let may_approve = ctx.can(Permission::ApproveRemediation);
        let me = me();
        loaded.with(|p| match (p, requester.get()) {
            (Some(p), Some(requester)) => {
                decide_state(p, me.as_deref(), may_approve, requester.as_deref())
            }
            _ => DecideState::NotAllowed,
        })
    });

    let execute = Action::new_local(move |options: &ExecuteOptions| {
        let options = *options;
        let api = ctx.api();
        let navigate = navigate.clone();
        async move {
            let answer = api
                .execute(
                    id,
                    options.dry_run,
                    options.rollback_on_failure,
                    options.parallel,
                )
                .await?;
            chosen_run.set(Some(answer.execution_id));
            navigate(
                &format!("/remediations/{id}?run={}", answer.execution_id),
                NavigateOptions {
                    replace: true,
                    scroll: false,
                    ..Default::default()
                },
            );
            proposal.refetch();
            Ok::<_, ApiError>(execute_confirmation(&answer))
        }
    });
    let release_open = Memo::new(move |_| {
        let status = loaded.with(|p| p.as_ref().map(|p| p.status));
        let me = me();
        let not_own = requester.get().is_some_and(|requester| {
            loaded.with(|p| {
                p.as_ref()
                    .is_some_and(|p| own_part(p, me.as_deref(), requester.as_deref()).is_none())
            })
        });
        ctx.can(Permission::ExecuteRemediation)
            && not_own
            && status.is_some_and(|status| {
                execution
                    .with(|e| matches!(e, Some(Ok(latest)) if can_release(status, latest.as_ref())))
            })
    });

    view! {
        <div class="page-stack">
            <h1>{format!("Remediation proposal #{id}")}</h1>
            <Transition fallback=Loading>
                // The error from the resource, the body from the memo: a reload that brings
                // the same proposal (most live events do) leaves the page as it is.
                {move || proposal.with(|r| r.as_ref().and_then(|r| r.as_ref().err()).cloned())
                    .map(|error| view! { <ErrorNotice error/> })}
                {move || loaded.get().map(|p| view! { <ProposalBody proposal=p/> })}
            </Transition>
            <DecideSection state=decide_state machine decide/>
            {move || release_open.get().then(|| view! {
                <section class="card" aria-labelledby="release-heading" data-test="release">
                    <h2 id="release-heading">"Release for execution"</h2>
                    <p class="muted">"An installer carries out the approved actions. A dry run reports what would change and leaves the approved run waiting."</p>
                    <ExecuteForm execute/>
                </section>
            })}
            {move || execute.value().get().map(|result| match result {
                Ok(message) => view! { <p class="notice ok" role="status" data-test="execute-confirmation">{message}</p> }.into_any(),
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
            <Show when=move || shown_run.get().is_some()>
                <ExecutionPanel execution/>
            </Show>
        </div>
    }
}

#[component]
fn ProposalBody(proposal: Proposal) -> impl IntoView {
    let p = proposal;
    view! {
        <MachineBanner machine=p.machine_id.clone() role="Changes machine"/>
        <ProposalHeader proposal=p.clone()/>
        <ApprovalHistory approvals=p.approvals.clone() digest=p.payload_digest.clone()/>
        <ProposedActions actions=p.proposed_actions.clone() rollback_plan=p.rollback_plan.clone()/>
        <RiskSection risk=p.risk digest=p.payload_digest/>
    }
}

#[component]
fn ProposalHeader(proposal: Proposal) -> impl IntoView {
    let p = proposal;
    let sentence = status_sentence(&p);
    let overdue = p.status == ProposalStatus::Pending && p.expires_at <= Utc::now();
    view! {
        <section class="card proposal-head" aria-labelledby="state-heading">
            <h2 id="state-heading" class="visually-hidden">"Where it stands"</h2>
            <p class="headline">
                <Badge value=p.status.to_string() attr:data-test="proposal-status"/>" "
                <span>"Priority "<Badge value=p.priority.to_string() attr:data-test="proposal-priority"/></span>" "
                <span>
                    "Approvals "
                    <strong data-test="approvals-count">{format::approvals(p.approvals_received, p.approvals_required)}</strong>
                </span>
            </p>
            <p data-test="status-sentence">{sentence}</p>
            <dl class="facts">
                <dt>"Proposed by"</dt>
                <dd>{p.proposed_by}</dd>
                <dt>"Proposed"</dt>
                <dd><Time at=p.created_at/></dd>
                <dt>"Decide by"</dt>
                <dd>
                    <Time at=p.expires_at/>
                    {overdue.then(|| view! { " " <span class="badge badge-expired">"past the deadline"</span> })}
                </dd>
                <dt>"Assessment"</dt>
                <dd><A href=format!("/assessments/{}", p.assessment_id)>{format!("Assessment #{}", p.assessment_id)}</A></dd>
                <dt>"Correlation id"</dt>
                <dd><CorrelationLink correlation_id=p.correlation_id/></dd>
                <dt>"Issues addressed"</dt>
                <dd>{if p.issues.is_empty() {
                    view! { <span class="muted">"none given"</span> }.into_any()
                } else {
                    view! {
                        <ul class="inline-list">
                            {p.issues.into_iter().map(|issue| view! { <li><code>{issue}</code></li> }).collect_view()}
                        </ul>
                    }.into_any()
                }}</dd>
            </dl>
        </section>
    }
}

#[component]
fn ApprovalHistory(approvals: Vec<ApprovalRecord>, digest: String) -> impl IntoView {
    let body = if approvals.is_empty() {
        view! { <Empty text="No approver has decided yet."/> }.into_any()
    } else {
        view! {
            <div class="table-wrap">
                <table data-test="approvals">
                    <thead>
                        <tr><th>"Approver"</th><th>"Decision"</th><th>"Reason"</th><th>"When"</th></tr>
                    </thead>
                    <tbody>
                        {approvals.into_iter().map(|record| view! {
                            <ApprovalRow record digest=digest.clone()/>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="card" aria-labelledby="approvals-heading">
            <h2 id="approvals-heading">"Decisions"</h2>
            {body}
        </section>
    }
}

#[component]
fn ApprovalRow(record: ApprovalRecord, digest: String) -> impl IntoView {
    // Every decision is bound to the digest it was given on; one given on other actions
    // must not read as support for these.
    let other_payload = record.payload_digest != digest;
    view! {
        <tr data-test="approval-record">
            <td>{record.approver}</td>
            <td><Badge value=record.decision.to_string()/></td>
            <td class="prewrap">
                {record.reason}
                {other_payload.then(|| view! {
                    <p class="field-error">
                        "Given on different actions (digest "<code>{record.payload_digest.clone()}</code>")."
                    </p>
                })}
            </td>
            <td><Time at=record.decided_at/></td>
        </tr>
    }
}

#[component]
fn ProposedActions(actions: Vec<MaskedAction>, rollback_plan: Option<String>) -> impl IntoView {
    let count = actions.len();
    view! {
        <section class="card" aria-labelledby="actions-heading" data-test="proposed-actions">
            <h2 id="actions-heading">{match count {
                1 => "1 proposed action".to_owned(),
                n => format!("{n} proposed actions"),
            }}</h2>
            {if actions.is_empty() {
                view! { <Empty text="This proposal has no action."/> }.into_any()
            } else {
                actions.into_iter().enumerate().map(|(index, action)| view! {
                    <ProposedActionCard number=index + 1 action/>
                }).collect_view().into_any()
            }}
            <h3>"Rollback plan"</h3>
            {match rollback_plan {
                Some(plan) if !plan.trim().is_empty() => view! { <p class="prewrap" data-test="rollback-plan">{plan}</p> }.into_any(),
                _ => view! { <p class="notice">"No rollback plan was given."</p> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn ProposedActionCard(number: usize, action: MaskedAction) -> impl IntoView {
    let a = action;
    let id = a.id.clone();
    let line = a
        .command
        .as_deref()
        .map(|command| command_line(command, &a.args));
    view! {
        <article class="action" data-test="proposed-action" data-action=id>
            <h3 class="action-title">
                {format!("{number}. ")}<Badge value=a.action_type.to_string()/>" "
                <code>{a.server_name.clone()}</code>
            </h3>
            <dl class="facts">
                <dt>"Action id"</dt>
                <dd><code>{a.id}</code></dd>
                <dt>"Server name"</dt>
                <dd><code>{a.server_name}</code></dd>
                <dt>"Command"</dt>
                <dd>{match line {
                    Some(line) => view! { <pre class="command" data-test="command">{line}</pre> }.into_any(),
                    None => view! { <span class="muted">"none: this action runs no command"</span> }.into_any(),
                }}</dd>
                <dt>"Arguments"</dt>
                <dd>{if a.args.is_empty() {
                    view! { <span class="muted">"none"</span> }.into_any()
                } else {
                    view! {
                        <ol class="args">
                            {a.args.into_iter().map(|arg| view! { <li><code>{arg}</code></li> }).collect_view()}
                        </ol>
                    }.into_any()
                }}</dd>
            </dl>
            <EnvTable env=a.env/>
        </article>
    }
}

/// Env values are secret: only the mask and a fingerprint (equal values, equal prints)
/// reach the dashboard, and only those are shown.
#[component]
fn EnvTable(env: BTreeMap<String, MaskedValue>) -> impl IntoView {
    if env.is_empty() {
        return view! { <p class="muted">"No environment variables."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="env" data-test="env">
                <thead><tr><th>"Variable"</th><th>"Value"</th><th>"Fingerprint"</th></tr></thead>
                <tbody>
                    {env.into_iter().map(|(name, value)| view! {
                        <tr>
                            <td><code>{name}</code></td>
                            <td><code aria-label="hidden value">{value.masked}</code></td>
                            <td><code>{value.fingerprint}</code></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn RiskSection(risk: Risk, digest: String) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="risk-heading" data-test="risk">
            <h2 id="risk-heading">"Risk"</h2>
            <dl class="facts">
                <dt>"Impact"</dt>
                <dd><strong>{risk.impact.to_string()}</strong></dd>
                <dt>"Effort"</dt>
                <dd><strong>{risk.effort.to_string()}</strong></dd>
                <dt>"Success rate"</dt>
                <dd><strong>{risk.success_rate.to_string()}</strong></dd>
            </dl>
            <h3>"Why"</h3>
            {if risk.reasons.is_empty() {
                view! { <Empty text="No rule gave a reason."/> }.into_any()
            } else {
                view! {
                    <ul>
                        {risk.reasons.into_iter().map(|reason| view! { <li>{reason}</li> }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <h3>"Payload digest"</h3>
            <p class="muted">"Every decision and the installer's run are bound to this digest of the actions."</p>
            <code class="digest" data-test="payload-digest">{digest}</code>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_quote_only_what_needs_it() {
        let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            command_line(
                "npx",
                &args(&["-y", "@modelcontextprotocol/server-postgres@1.2.0"])
            ),
            "npx -y @modelcontextprotocol/server-postgres@1.2.0"
        );
        assert_eq!(
            command_line("uvx", &args(&["--root", "/srv/my data", ""])),
            "uvx --root '/srv/my data' ''"
        );
        assert_eq!(
            command_line("sh", &args(&["-c", "echo 'hi'; rm x"])),
            "sh -c 'echo '\\''hi'\\''; rm x'"
        );
        assert_eq!(command_line("node", &[]), "node");
    }

    #[test]
    fn status_sentences_say_what_happens_next() {
        let json = serde_json::json!({
            "proposalId": 5, "assessmentId": 2, "machineId": "ws-07", "status": "pending", "priority": "high",
            "issues": [], "proposedActions": [], "rollbackPlan": null,
            "payloadDigest": "sha256:abc",
            "risk": {"impact": "low", "effort": "low", "successRate": "high", "reasons": []},
            "approvalsRequired": 2, "approvalsReceived": 0, "approvals": [],
            "proposedBy": "carol", "correlationId": "c", "executionId": null,
            "requiresApproval": true, "autoExecuted": false,
            "expiresAt": "2026-03-02T09:00:00Z", "createdAt": "2026-03-01T09:00:00Z",
            "updatedAt": "2026-03-01T09:00:00Z"
        });
        let mut p: Proposal = serde_json::from_value(json).unwrap();
        assert_eq!(
            status_sentence(&p),
            "Waiting for approvers: 2 more approvals are needed before it can run."
        );
        p.approvals_received = 1;
        assert_eq!(
            status_sentence(&p),
            "Waiting for approvers: 1 more approval is needed before it can run."
        );
        p.status = ProposalStatus::Rejected;
        assert_eq!(
            status_sentence(&p),
            "Rejected by an approver: it will not run."
        );
        p.status = ProposalStatus::Approved;
        assert!(status_sentence(&p).starts_with("Approved: it runs once"));
    }
}
