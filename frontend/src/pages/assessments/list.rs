//! Every assessment, newest first, filtered and paged. The filters live in the address, so a
//! filtered view can be linked, bookmarked and survives a reload.

use crate::address::{Query, choice, href_with, non_empty, query_choice, query_text};
use crate::app::Ctx;
use crate::components::{Badge, ErrorNotice, Loading, MachineSelect, MachineTag, MaybeTime, Time};
use crate::pages::offset_paging::{
    EmptyTexts, OffsetListing, PAGE_SIZE, Paging, offset_param, query_offset,
};
use coordinator_api::MachineId;
use coordinator_api::assessments::{
    Assessment, AssessmentPage, AssessmentQuery, AssessmentResults, AssessmentStatus,
    ComplianceStatus,
};
use coordinator_api::events::Channel;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

/// The filters and the page of the list, as read from and written to the address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssessmentFilter {
    pub status: Option<AssessmentStatus>,
    pub assessment_type: String,
    pub server: String,
    pub machine_id: Option<MachineId>,
    pub correlation_id: String,
    pub offset: u64,
}

impl AssessmentFilter {
    /// An unknown status in a hand-edited address is ignored rather than refused.
    pub fn from_query(query: &(impl Query + ?Sized)) -> Self {
        Self {
            status: query_choice(query, "status"),
            assessment_type: query_text(query, "type").unwrap_or_default(),
            server: query_text(query, "server").unwrap_or_default(),
            machine_id: query_choice(query, "machineId"),
            correlation_id: query_text(query, "correlationId").unwrap_or_default(),
            offset: query_offset(query),
        }
    }

    pub fn href(&self) -> String {
        href_with(
            "/assessments",
            &[
                (
                    "status",
                    self.status.map(|s| s.to_string()).unwrap_or_default(),
                ),
                ("type", self.assessment_type.trim().to_owned()),
                ("server", self.server.trim().to_owned()),
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

    pub fn request(&self) -> AssessmentQuery {
        AssessmentQuery {
            status: self.status,
            assessment_type: non_empty(&self.assessment_type),
            server: non_empty(&self.server),
            machine_id: self.machine_id.clone(),
            correlation_id: non_empty(&self.correlation_id),
            limit: Some(PAGE_SIZE),
            offset: Some(self.offset),
        }
    }
}

/// `2 compliant, 1 non compliant, 1 error`: how the assessed servers came out.
pub fn compliance_summary(results: &AssessmentResults) -> String {
    let count = |wanted: ComplianceStatus| {
        results
            .servers
            .values()
            .filter(|r| r.status == wanted)
            .count()
    };
    let parts: Vec<String> = [
        (ComplianceStatus::Compliant, "compliant"),
        (ComplianceStatus::NonCompliant, "non-compliant"),
        (ComplianceStatus::Error, "could not be assessed"),
    ]
    .into_iter()
    .map(|(status, words)| (count(status), words))
    .filter(|(n, _)| *n > 0)
    .map(|(n, words)| format!("{n} {words}"))
    .collect();
    if parts.is_empty() {
        "no server assessed".to_owned()
    } else {
        parts.join(", ")
    }
}

#[component]
pub fn AssessmentsPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(AssessmentFilter::from_query));
    // The form is rebuilt when the filters change (back button, a link), not when paging.
    let form_filter = Memo::new(move |_| filter.with(|f| f.at(0)));
    let page = LocalResource::new(move || {
        live.revision(Channel::Assessments);
        let request = filter.with(AssessmentFilter::request);
        let api = ctx.api();
        async move { api.assessments(&request).await }
    });
    view! {
        <h1>"Assessments"</h1>
        {move || view! { <AssessmentFilterForm current=form_filter.get()/> }}
        <Transition fallback=Loading>
            {move || page.get().map(|result| match result {
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
                Ok(page) => view! { <AssessmentListing page filter=filter.get_untracked()/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn AssessmentFilterForm(current: AssessmentFilter) -> impl IntoView {
    let navigate = use_navigate();
    let filtered = current.is_filtered();
    let status = RwSignal::new(current.status);
    let assessment_type = RwSignal::new(current.assessment_type);
    let server = RwSignal::new(current.server);
    let machine = RwSignal::new(current.machine_id);
    let correlation_id = RwSignal::new(current.correlation_id);
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let chosen = AssessmentFilter {
            status: status.get_untracked(),
            assessment_type: assessment_type.get_untracked(),
            server: server.get_untracked(),
            machine_id: machine.get_untracked(),
            correlation_id: correlation_id.get_untracked(),
            offset: 0,
        };
        navigate(&chosen.href(), Default::default());
    };
    let selected = current.status;
    view! {
        <form class="filters" on:submit=apply role="search" aria-label="Filter assessments" data-test="filters">
            <label>
                "Status"
                <select name="status" on:change=move |ev| status.set(choice(&event_target_value(&ev)))>
                    <option value="" selected=selected.is_none()>"Any status"</option>
                    {AssessmentStatus::ALL.iter().map(|s| view! {
                        <option value=s.as_str() selected=selected == Some(*s)>{crate::format::words(s.as_str())}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Type"
                <input type="text" name="type" placeholder="compliance"
                    prop:value=move || assessment_type.get()
                    on:input=move |ev| assessment_type.set(event_target_value(&ev))/>
            </label>
            <label>
                "Server"
                <input type="text" name="server"
                    prop:value=move || server.get()
                    on:input=move |ev| server.set(event_target_value(&ev))/>
            </label>
            <MachineSelect chosen=machine/>
            <label>
                "Correlation id"
                <input type="text" name="correlationId"
                    prop:value=move || correlation_id.get()
                    on:input=move |ev| correlation_id.set(event_target_value(&ev))/>
            </label>
            <button type="submit">"Apply filters"</button>
            {filtered.then(|| view! { <a href="/assessments">"Clear filters"</a> })}
        </form>
    }
}

#[component]
fn AssessmentListing(page: AssessmentPage, filter: AssessmentFilter) -> impl IntoView {
    let paging = Paging {
        offset: filter.offset,
        shown: page.assessments.len() as u64,
        total: page.total,
    };
    let empty = EmptyTexts {
        nothing_yet: "No assessment has been requested yet.",
        no_match: "No assessment matches these filters.",
    };
    let filtered = filter.is_filtered();
    let href = move |offset| filter.at(offset).href();
    view! {
        <OffsetListing paging filtered empty href>
            <AssessmentTable assessments=page.assessments.clone()/>
        </OffsetListing>
    }
}

#[component]
fn AssessmentTable(assessments: Vec<Assessment>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table data-test="assessments">
                <thead>
                    <tr>
                        <th>"Assessment"</th>
                        <th>"Machine"</th>
                        <th>"Type"</th>
                        <th>"Target servers"</th>
                        <th>"Status"</th>
                        <th>"Results"</th>
                        <th>"Requested by"</th>
                        <th>"Created"</th>
                        <th>"Completed"</th>
                    </tr>
                </thead>
                <tbody>
                    {assessments.into_iter().map(|a| view! { <AssessmentRow assessment=a/> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn AssessmentRow(assessment: Assessment) -> impl IntoView {
    let a = assessment;
    let results = a.results.as_ref().map(compliance_summary);
    view! {
        <tr data-test="assessment-row">
            <td><A href=format!("/assessments/{}", a.assessment_id)>{format!("#{}", a.assessment_id)}</A></td>
            <td><MachineTag machine=a.machine_id/></td>
            <td>{a.assessment_type}</td>
            <td>{a.target_servers.join(", ")}</td>
            <td><Badge value=a.status.to_string()/></td>
            <td>{match results {
                Some(text) => view! { <span>{text}</span> }.into_any(),
                None => view! { <span class="muted">"none yet"</span> }.into_any(),
            }}</td>
            <td>{a.requested_by}</td>
            <td><Time at=a.created_at/></td>
            <td><MaybeTime at=a.completed_at missing="not yet"/></td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::query_pairs;
    use coordinator_api::assessments::ServerResult;
    use std::collections::BTreeMap;

    #[test]
    fn filters_round_trip_through_the_address() {
        let filter = AssessmentFilter {
            status: Some(AssessmentStatus::Completed),
            assessment_type: "compliance".to_owned(),
            server: "postgres db".to_owned(),
            machine_id: Some(MachineId::parse("ws-07").unwrap()),
            correlation_id: "c-1".to_owned(),
            offset: 25,
        };
        let href = filter.href();
        assert_eq!(
            href,
            "/assessments?status=completed&type=compliance&server=postgres+db&machineId=ws-07&correlationId=c-1&offset=25"
        );
        assert_eq!(AssessmentFilter::from_query(&query_pairs(&href)), filter);
    }

    #[test]
    fn an_empty_filter_is_the_bare_list() {
        assert_eq!(AssessmentFilter::default().href(), "/assessments");
        assert!(!AssessmentFilter::default().at(50).is_filtered());
        let odd = AssessmentFilter::from_query(&[
            ("status", "sleeping"),
            ("server", " "),
            ("machineId", "not a machine"),
        ]);
        assert_eq!(odd, AssessmentFilter::default());
    }

    #[test]
    fn requests_leave_empty_filters_out_and_page() {
        let filter = AssessmentFilter::from_query(&[
            ("status", "failed"),
            ("server", " git "),
            ("machineId", "WS-07"),
            ("offset", "50"),
        ]);
        let request = filter.request();
        assert_eq!(
            request.machine_id.as_ref().map(MachineId::as_str),
            Some("ws-07")
        );
        assert_eq!(request.status, Some(AssessmentStatus::Failed));
        assert_eq!(request.server.as_deref(), Some("git"));
        assert_eq!(request.assessment_type, None);
        assert_eq!(request.correlation_id, None);
        assert_eq!(request.limit, Some(PAGE_SIZE));
        assert_eq!(request.offset, Some(50));
    }

    #[test]
    fn summaries_count_servers_by_outcome() {
        let result = |status| ServerResult {
            status,
            issues: vec![],
            findings: vec![],
        };
        let mut servers = BTreeMap::new();
        servers.insert("a".to_owned(), result(ComplianceStatus::Compliant));
        servers.insert("b".to_owned(), result(ComplianceStatus::Compliant));
        servers.insert("c".to_owned(), result(ComplianceStatus::NonCompliant));
        let mut results = AssessmentResults {
            summary: coordinator_api::assessments::ResultSummary {
                total_issues: 1,
                critical_issues: 0,
                warning_issues: 1,
            },
            servers,
        };
        assert_eq!(compliance_summary(&results), "2 compliant, 1 non-compliant");
        results
            .servers
            .insert("d".to_owned(), result(ComplianceStatus::Error));
        assert_eq!(
            compliance_summary(&results),
            "2 compliant, 1 non-compliant, 1 could not be assessed"
        );
        results.servers.clear();
        assert_eq!(compliance_summary(&results), "no server assessed");
    }
}
