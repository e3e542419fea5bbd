//! An approver's decision on a proposal: whether to offer it, and what to say once recorded.

use crate::api::ApiError;
use crate::app::Ctx;
use crate::components::{Badge, DecisionForm, MachineTag, Time};
use coordinator_api::approvals::{ApprovalRecord, ApprovalResponse, Decision};
use coordinator_api::remediations::{Proposal, ProposalStatus};
use coordinator_api::{AssessmentId, MachineId, Permission};
use leptos::prelude::*;

/// What the decision section shows the signed-in person.
#[derive(Debug, Clone, PartialEq)]
pub enum DecideState {
    /// They may not approve remediations: nothing is shown, not even a disabled button.
    NotAllowed,
    /// The proposal no longer waits for decisions.
    Closed,
    /// Each approver decides once; this is theirs.
    AlreadyDecided(ApprovalRecord),
    /// Nobody approves their own proposal; the coordinator would refuse it.
    OwnProposal,
    /// Nor a proposal answering an assessment they requested.
    OwnRequest,
    Open,
}

/// Who requested the assessment `assessment_id` names, or `None` when that could not be
/// learnt. Whoever proposed a remediation or requested its assessment may neither decide on
/// it nor release it, so only those who could do either ask.
pub fn assessment_requester(
    ctx: Ctx,
    assessment_id: Memo<Option<AssessmentId>>,
) -> LocalResource<Option<String>> {
    let decides =
        move || ctx.can(Permission::ApproveRemediation) || ctx.can(Permission::ExecuteRemediation);
    LocalResource::new(move || {
        let wanted = assessment_id.get().filter(|_| decides());
        let api = ctx.api();
        async move {
            let id = wanted?;
            let answer = api.assessment(id).await.ok()?;
            Some(answer.assessment.requested_by)
        }
    })
}

/// Why the signed-in person must leave this proposal to others, if they must: the
/// coordinator refuses a decision or a release by whoever proposed it or requested the
/// assessment it answers. `requester` is `None` when that is not known.
pub fn own_part(
    proposal: &Proposal,
    me: Option<&str>,
    requester: Option<&str>,
) -> Option<DecideState> {
    let me = me?;
    if me == proposal.proposed_by {
        Some(DecideState::OwnProposal)
    } else if Some(me) == requester {
        Some(DecideState::OwnRequest)
    } else {
        None
    }
}

/// `requester` is who requested the proposal's assessment; when it could not be learnt the
/// form is offered, and the coordinator still refuses a decision it must not take.
pub fn decide_state(
    proposal: &Proposal,
    me: Option<&str>,
    may_approve: bool,
    requester: Option<&str>,
) -> DecideState {
    if !may_approve {
        return DecideState::NotAllowed;
    }
    if proposal.status != ProposalStatus::Pending {
        return DecideState::Closed;
    }
    if let Some(own) = own_part(proposal, me, requester) {
        return own;
    }
    match proposal
        .approvals
        .iter()
        .find(|record| Some(record.approver.as_str()) == me)
    {
        Some(mine) => DecideState::AlreadyDecided(mine.clone()),
        None => DecideState::Open,
    }
}

/// The sentence read back after a decision: what was recorded and what happens next, e.g.
/// "Approved: 1 of 2 approvals; waiting for another approver."
pub fn decision_confirmation(answer: &ApprovalResponse) -> String {
    let count = format!(
        "{} of {} approvals",
        answer.approvals_received, answer.approvals_required
    );
    match (answer.decision, answer.proposal_status) {
        (Decision::Rejected, _) => {
            "Rejected: the proposal is rejected and will not be executed.".to_owned()
        }
        (Decision::Approved, ProposalStatus::Pending) => {
            let missing = answer
                .approvals_required
                .saturating_sub(answer.approvals_received);
            let waiting = match missing {
                0 | 1 => "waiting for another approver".to_owned(),
                n => format!("waiting for {n} more approvers"),
            };
            format!("Approved: {count}; {waiting}.")
        }
        (Decision::Approved, ProposalStatus::Approved) => format!(
            "Approved: {count}; the proposal is approved and waits to be released for execution."
        ),
        (Decision::Approved, status) => format!("Approved: {count}; the proposal is now {status}."),
    }
}

/// The decision form while the person may still decide; afterwards their decision and the
/// confirmation stay in its place.
#[component]
pub fn DecideSection(
    state: Memo<DecideState>,
    machine: Memo<Option<MachineId>>,
    decide: Action<(Decision, String), Result<String, ApiError>>,
) -> impl IntoView {
    let confirmation = move || {
        decide
            .value()
            .get()
            .and_then(Result::ok)
            .map(|message| view! { <p class="notice ok" role="status" data-test="decision-confirmation">{message}</p> })
    };
    move || {
        match state.get() {
        DecideState::NotAllowed => ().into_any(),
        DecideState::Closed => confirmation.into_any(),
        DecideState::AlreadyDecided(mine) => view! {
            <section class="card" aria-labelledby="decide-heading" data-test="decide">
                <h2 id="decide-heading">"Your decision"</h2>
                {confirmation}
                <p>
                    "You decided "<Badge value=mine.decision.to_string()/>" on "<Time at=mine.decided_at/>
                    ". Each approver decides once; the proposal waits for the others."
                </p>
            </section>
        }
        .into_any(),
        own @ (DecideState::OwnProposal | DecideState::OwnRequest) => {
            let why = if own == DecideState::OwnProposal {
                "You proposed this remediation; other approvers decide on it."
            } else {
                "You requested the assessment this remediation answers; other approvers decide on it."
            };
            view! {
                <section class="card" aria-labelledby="decide-heading" data-test="decide">
                    <h2 id="decide-heading">"Decide"</h2>
                    <p>{why}</p>
                </section>
            }
            .into_any()
        }
        DecideState::Open => view! {
            <section class="card" aria-labelledby="decide-heading" data-test="decide">
                <h2 id="decide-heading">"Decide"</h2>
                <p class="muted">
                    "Your decision applies to the actions above exactly as shown, on machine "
                    {move || machine.get().map(|machine| view! { <MachineTag machine/> })}
                    " only, identified by their payload digest."
                </p>
                <DecisionForm subject="remediation" decide/>
            </section>
        }
        .into_any(),
    }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use coordinator_api::remediations::{Level, Priority, Risk};
    use coordinator_api::{ApprovalId, AssessmentId, ExecutionId, ProposalId};

    fn answer(
        decision: Decision,
        received: u32,
        required: u32,
        status: ProposalStatus,
    ) -> ApprovalResponse {
        ApprovalResponse {
            success: true,
            approval_id: ApprovalId(1),
            decision,
            approvals_received: received,
            approvals_required: required,
            proposal_status: status,
            execution_id: (status == ProposalStatus::Approved).then_some(ExecutionId(3)),
            payload_digest: "sha256:abc".to_owned(),
        }
    }

    fn proposal(status: ProposalStatus, approvers: &[&str]) -> Proposal {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
        Proposal {
            proposal_id: ProposalId(5),
            assessment_id: AssessmentId(2),
            machine_id: coordinator_api::MachineId::parse("ws-07").unwrap(),
            status,
            priority: Priority::High,
            issues: vec![],
            proposed_actions: vec![],
            rollback_plan: None,
            payload_digest: "sha256:abc".to_owned(),
            risk: Risk {
                impact: Level::Low,
                effort: Level::Low,
                success_rate: Level::High,
                reasons: vec![],
            },
            approvals_required: 2,
            approvals_received: approvers.len() as u32,
            approvals: approvers
                .iter()
                .enumerate()
                .map(|(i, name)| ApprovalRecord {
                    approval_id: ApprovalId(i as i64 + 1),
                    approver: (*name).to_owned(),
                    decision: Decision::Approved,
                    reason: "looks right".to_owned(),
                    payload_digest: "sha256:abc".to_owned(),
                    decided_at: at,
                })
                .collect(),
            proposed_by: "carol".to_owned(),
            correlation_id: "c".to_owned(),
            execution_id: None,
            requires_approval: true,
            auto_executed: false,
            expires_at: at,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn confirmations_say_where_the_quorum_stands() {
        assert_eq!(
            decision_confirmation(&answer(Decision::Approved, 1, 2, ProposalStatus::Pending)),
            "Approved: 1 of 2 approvals; waiting for another approver."
        );
        assert_eq!(
            decision_confirmation(&answer(Decision::Approved, 1, 3, ProposalStatus::Pending)),
            "Approved: 1 of 3 approvals; waiting for 2 more approvers."
        );
        assert_eq!(
            decision_confirmation(&answer(Decision::Approved, 2, 2, ProposalStatus::Approved)),
            "Approved: 2 of 2 approvals; the proposal is approved and waits to be released for execution."
        );
        assert_eq!(
            decision_confirmation(&answer(Decision::Rejected, 0, 2, ProposalStatus::Rejected)),
            "Rejected: the proposal is rejected and will not be executed."
        );
        assert_eq!(
            decision_confirmation(&answer(Decision::Approved, 1, 1, ProposalStatus::Expired)),
            "Approved: 1 of 1 approvals; the proposal is now expired."
        );
    }

    #[test]
    fn the_form_is_offered_only_to_approvers_who_have_not_decided() {
        let waiting = proposal(ProposalStatus::Pending, &["alice"]);
        let decide = |p: &Proposal, me: &str, may: bool| decide_state(p, Some(me), may, None);
        assert_eq!(decide(&waiting, "bob", false), DecideState::NotAllowed);
        assert_eq!(decide(&waiting, "bob", true), DecideState::Open);
        assert_eq!(decide(&waiting, "carol", true), DecideState::OwnProposal);
        assert!(matches!(
            decide(&waiting, "alice", true),
            DecideState::AlreadyDecided(record) if record.approver == "alice"
        ));
        let done = proposal(ProposalStatus::Approved, &["alice", "bob"]);
        assert_eq!(decide(&done, "dave", true), DecideState::Closed);
        assert_eq!(decide(&done, "dave", false), DecideState::NotAllowed);
    }

    #[test]
    fn whoever_requested_the_assessment_leaves_the_decision_to_others() {
        let waiting = proposal(ProposalStatus::Pending, &[]);
        assert_eq!(
            decide_state(&waiting, Some("erin"), true, Some("erin")),
            DecideState::OwnRequest
        );
        assert_eq!(
            decide_state(&waiting, Some("bob"), true, Some("erin")),
            DecideState::Open
        );
        // Not signed in is nobody, even for an assessment of unknown origin.
        assert_eq!(decide_state(&waiting, None, true, None), DecideState::Open);
    }
}
