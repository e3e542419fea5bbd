//! Every remediation proposal, newest first, filtered and paged; the filters live in the
//! address so a filtered view can be linked and survives a reload.

use crate::address::{Query, choice, href_with, non_empty, query_choice, query_text};
use crate::app::Ctx;
use crate::components::{Badge, ErrorNotice, Loading, MachineSelect, MachineTag, Time};
use crate::format;
use crate::pages::offset_paging::{
    EmptyTexts, OffsetListing, PAGE_SIZE, Paging, offset_param, query_offset,
};
use coordinator_api::events::Channel;
use coordinator_api::remediations::{
    Priority, Proposal, ProposalPage, ProposalQuery, ProposalStatus,
};
use coordinator_api::{AssessmentId, MachineId};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

/// The filters and the page of the list, as read from and written to the address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProposalFilter {
    pub status: Option<ProposalStatus>,
    pub priority: Option<Priority>,
    /// Set by the link from an assessment's page.
    pub assessment_id: Option<AssessmentId>,
    pub machine_id: Option<MachineId>,
    pub correlation_id: String,
    pub offset: u64,
}

impl ProposalFilter {
    /// Unknown values in a hand-edited address are ignored rather than refused.
    pub fn from_query(query: &(impl Query + ?Sized)) -> Self {
        Self {
            status: query_choice(query, "status"),
            priority: query_choice(query, "priority"),
            assessment_id: query_choice(query, "assessmentId"),
            machine_id: query_choice(query, "machineId"),
            correlation_id: query_text(query, "correlationId").unwrap_or_default(),
            offset: query_offset(query),
        }
    }

    pub fn href(&self) -> String {
        href_with(
            "/remediations",
            &[
                (
                    "status",
                    self.status.map(|s| s.to_string()).unwrap_or_default(),
                ),
                (
                    "priority",
                    self.priority.map(|p| p.to_string()).unwrap_or_default(),
                ),
                (
                    "assessmentId",
                    self.assessment_id
                        .map(|a| a.to_string())
                        .unwrap_or_default(),
                ),
                (
                    "machineId",
                    self.machine_id
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                ),
                ("correlationId", self.correlation_id.trim().to_owned()),
                ("offset", offset_param(self.offset)),
            ],
        )
    }

    pub fn at(&self, offset: u64) -> Self {
        Self {
            offset,
            ..self.clone()
        }
    }

    pub fn is_filtered(&self) -> bool {
        self.at(0) != Self::default()
    }

    pub fn request(&self) -> ProposalQuery {
        ProposalQuery {
            status: self.status,
            priority: self.priority,
            assessment_id: self.assessment_id,
            machine_id: self.machine_id.clone(),
            correlation_id: non_empty(&self.correlation_id),
            limit: Some(PAGE_SIZE),
            offset: Some(self.offset),
        }
    }
}

#[component]
pub fn RemediationsPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(ProposalFilter::from_query));
    // The form is rebuilt when the filters change (back button, a link), not when paging.
    let form_filter = Memo::new(move |_| filter.with(|f| f.at(0)));
    let page = LocalResource::new(move || {
        live.revision(Channel::Remediations);
        live.revision(Channel::Approvals);
        live.revision(Channel::Executions);
        let request = filter.with(ProposalFilter::request);
        let api = ctx.api();
        async move { api.proposals(&request).await }
    });
    view! {
        <h1>"Remediations"</h1>
        {move || view! { <ProposalFilterForm current=form_filter.get()/> }}
        <Transition fallback=Loading>
            {move || page.get().map(|result| match result {
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
                Ok(page) => view! { <ProposalListing page filter=filter.get_untracked()/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn ProposalFilterForm(current: ProposalFilter) -> impl IntoView {
    let navigate = use_navigate();
    let filtered = current.is_filtered();
    let status = RwSignal::new(current.status);
    let priority = RwSignal::new(current.priority);
    let correlation_id = RwSignal::new(current.correlation_id);
    let machine = RwSignal::new(current.machine_id);
    let assessment_id = current.assessment_id;
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let chosen = ProposalFilter {
            status: status.get_untracked(),
            priority: priority.get_untracked(),
            assessment_id,
            machine_id: machine.get_untracked(),
            correlation_id: correlation_id.get_untracked(),
            offset: 0,
        };
        navigate(&chosen.href(), Default::default());
    };
    let (chosen_status, chosen_priority) = (current.status, current.priority);
    view! {
        <form class="filters" on:submit=apply role="search" aria-label="Filter remediation proposals" data-test="filters">
            <label>
                "Status"
                <select name="status" on:change=move |ev| status.set(choice(&event_target_value(&ev)))>
                    <option value="" selected=chosen_status.is_none()>"Any status"</option>
                    {ProposalStatus::ALL.iter().map(|s| view! {
                        <option value=s.as_str() selected=chosen_status == Some(*s)>{s.as_str()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Priority"
                <select name="priority" on:change=move |ev| priority.set(choice(&event_target_value(&ev)))>
                    <option value="" selected=chosen_priority.is_none()>"Any priority"</option>
                    {Priority::ALL.iter().map(|p| view! {
                        <option value=p.as_str() selected=chosen_priority == Some(*p)>{p.as_str()}</option>
                    }).collect_view()}
                </select>
            </label>
            <MachineSelect chosen=machine/>
            <label>
                "Correlation id"
                <input type="text" name="correlationId"
                    prop:value=move || correlation_id.get()
                    on:input=move |ev| correlation_id.set(event_target_value(&ev))/>
            </label>
            {assessment_id.map(|id| view! {
                <span class="filter-chip">
                    {format!("Assessment #{id} only")}
                </span>
            })}
            <button type="submit">"Apply filters"</button>
            {filtered.then(|| view! { <a href="/remediations">"Clear filters"</a> })}
        </form>
    }
}

#[component]
fn ProposalListing(page: ProposalPage, filter: ProposalFilter) -> impl IntoView {
    let paging = Paging {
        offset: filter.offset,
        shown: page.proposals.len() as u64,
        total: page.total,
    };
    let empty = EmptyTexts {
        nothing_yet: "No remediation has been proposed yet.",
        no_match: "No remediation proposal matches these filters.",
    };
    let filtered = filter.is_filtered();
    let href = move |offset| filter.at(offset).href();
    view! {
        <OffsetListing paging filtered empty href>
            <ProposalTable proposals=page.proposals.clone()/>
        </OffsetListing>
    }
}

/// Proposals as a table, each linking to its page; also the proposals of one assessment.
#[component]
pub fn ProposalTable(proposals: Vec<Proposal>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table data-test="proposals">
                <thead>
                    <tr>
                        <th>"Proposal"</th>
                        <th>"Machine"</th>
                        <th>"Priority"</th>
                        <th>"Status"</th>
                        <th>"Approvals"</th>
                        <th>"Issues"</th>
                        <th>"Proposed by"</th>
                        <th>"Created"</th>
                        <th>"Expires"</th>
                    </tr>
                </thead>
                <tbody>
                    {proposals.into_iter().map(|p| view! { <ProposalRow proposal=p/> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn ProposalRow(proposal: Proposal) -> impl IntoView {
    let p = proposal;
    // Past its deadline only matters while it still waits for approvers.
    let expiry_matters = p.status == ProposalStatus::Pending;
    view! {
        <tr data-test="proposal-row">
            <td><A href=format!("/remediations/{}", p.proposal_id)>{format!("#{}", p.proposal_id)}</A></td>
            <td><MachineTag machine=p.machine_id/></td>
            <td><Badge value=p.priority.to_string()/></td>
            <td><Badge value=p.status.to_string()/></td>
            <td>{format::approvals(p.approvals_received, p.approvals_required)}</td>
            <td>{if p.issues.is_empty() {
                view! { <span class="muted">"none given"</span> }.into_any()
            } else {
                view! { <span>{p.issues.join(", ")}</span> }.into_any()
            }}</td>
            <td>{p.proposed_by}</td>
            <td><Time at=p.created_at/></td>
            <td class:muted=!expiry_matters><Time at=p.expires_at/></td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::query_pairs;

    #[test]
    fn filters_round_trip_through_the_address() {
        let filter = ProposalFilter {
            status: Some(ProposalStatus::Pending),
            priority: Some(Priority::Critical),
            assessment_id: Some(AssessmentId(9)),
            machine_id: Some(MachineId::parse("ws-07").unwrap()),
            correlation_id: "c 1".to_owned(),
            offset: 50,
        };
        let href = filter.href();
        assert_eq!(
            href,
            "/remediations?status=pending&priority=critical&assessmentId=9&machineId=ws-07&correlationId=c+1&offset=50"
        );
        assert_eq!(ProposalFilter::from_query(&query_pairs(&href)), filter);
    }

    #[test]
    fn odd_values_are_ignored_and_empty_filters_left_out() {
        let filter = ProposalFilter::from_query(&[
            ("status", "maybe"),
            ("priority", "high"),
            ("assessmentId", "x"),
            ("machineId", "../etc"),
            ("offset", "25"),
        ]);
        assert_eq!(
            filter,
            ProposalFilter {
                priority: Some(Priority::High),
                offset: 25,
                ..Default::default()
            }
        );
        let request = filter.request();
        assert_eq!(request.status, None);
        assert_eq!(request.priority, Some(Priority::High));
        assert_eq!(request.correlation_id, None);
        assert_eq!(request.machine_id, None);
        assert_eq!(request.limit, Some(PAGE_SIZE));
        assert_eq!(request.offset, Some(25));
        let one_machine = ProposalFilter::from_query(&[("machineId", "ws-07")]);
        assert!(one_machine.is_filtered());
        assert_eq!(
            one_machine.request().machine_id,
            Some(MachineId::parse("ws-07").unwrap())
        );
        assert_eq!(ProposalFilter::default().href(), "/remediations");
        assert!(filter.is_filtered());
        assert!(!ProposalFilter::default().at(25).is_filtered());
    }
}
