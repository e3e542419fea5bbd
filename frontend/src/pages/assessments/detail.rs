//! One assessment: what was asked, what the compliance server found, the review, the
//! remediations proposed for it, and its report as a file.

use super::list::compliance_summary;
use super::report;
use crate::address::href_with;
use crate::api::{ApiError, Download};
use crate::app::Ctx;
use crate::components::{
    BadAddress, Badge, CorrelationLink, DecisionForm, Empty, ErrorNotice, Loading, MachineBanner,
    MaybeTime, Time, save_download,
};
use crate::pages::remediations::ProposalTable;
use coordinator_api::approvals::Decision;
use coordinator_api::assessments::{
    Assessment, AssessmentResults, AssessmentStatus, Review, ServerResult, Severity,
};
use coordinator_api::events::Channel;
use coordinator_api::remediations::ProposalQuery;
use coordinator_api::{AssessmentId, Permission};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

/// Proposals listed on an assessment's page; a link leads to the rest.
const PROPOSALS_SHOWN: u64 = 20;

/// What the reviewer reads back once their decision is recorded.
pub fn review_confirmation(id: AssessmentId, decision: Decision, now: AssessmentStatus) -> String {
    match decision {
        Decision::Approved => {
            format!("Approved: the results of assessment #{id} are accepted (status: {now}).")
        }
        Decision::Rejected => format!(
            "Rejected: the results of assessment #{id} are rejected (status: {now}); no remediation can be proposed on them."
        ),
    }
}

/// The most serious finding of a server (`Severity` orders the most serious first).
pub fn highest_severity(result: &ServerResult) -> Option<Severity> {
    result.findings.iter().map(|f| f.severity).min()
}

#[component]
pub fn AssessmentPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| {
        params
            .with(|p| p.get("id"))
            .and_then(|raw| raw.parse::<AssessmentId>().ok())
    });
    move || match id.get() {
        Some(id) => view! { <AssessmentDetail id/> }.into_any(),
        None => view! {
            <BadAddress heading="Assessment" names="an assessment"
                back_href="/assessments" back_text="All assessments"/>
        }
        .into_any(),
    }
}

#[component]
fn AssessmentDetail(id: AssessmentId) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let assessment = LocalResource::new(move || {
        live.revision(Channel::Assessments);
        let api = ctx.api();
        async move {
            live.settled(&[Channel::Assessments], || api.assessment(id))
                .await
                .map(|r| r.assessment)
        }
    });
    let review = Action::new_local(move |(decision, reason): &(Decision, String)| {
        let (decision, reason) = (*decision, reason.clone());
        let api = ctx.api();
        async move {
            let answer = api.review(id, decision, &reason).await?;
            assessment.refetch();
            Ok::<_, ApiError>(review_confirmation(id, decision, answer.assessment.status))
        }
    });
    let loaded =
        Memo::new(move |_| assessment.with(|r| r.as_ref().and_then(|r| r.as_ref().ok()).cloned()));
    // Only the status decides whether the review form shows, so a reload (a live event) does
    // not rebuild the form and lose a reason being typed.
    let status = Memo::new(move |_| {
        assessment.with(|r| r.as_ref().and_then(|r| r.as_ref().ok()).map(|a| a.status))
    });
    // Nobody reviews what they asked for themselves; the coordinator would refuse it.
    let requested_by_me = Memo::new(move |_| {
        let me = ctx
            .session
            .with(|s| s.as_ref().map(|s| s.user.username.clone()));
        assessment.with(|r| {
            r.as_ref()
                .and_then(|r| r.as_ref().ok())
                .is_some_and(|a| Some(&a.requested_by) == me.as_ref())
        })
    });
    let reviewable = Memo::new(move |_| {
        status.get() == Some(AssessmentStatus::Completed)
            && ctx.can(Permission::ReviewAssessment)
            && !requested_by_me.get()
    });
    view! {
        <div class="page-stack">
            <h1>{format!("Assessment #{id}")}</h1>
            <Transition fallback=Loading>
                // The body comes from a memo: a reload that brings the same assessment leaves
                // the page (and where the reader is on it) as it is.
                {move || assessment.with(|r| r.as_ref().and_then(|r| r.as_ref().err()).cloned())
                    .map(|error| view! { <ErrorNotice error/> })}
                {move || loaded.get().map(|a| view! { <AssessmentBody assessment=a/> })}
            </Transition>
            {move || {
                if reviewable.get() {
                    view! {
                        <section class="card" aria-labelledby="review-heading" data-test="review">
                            <h2 id="review-heading">"Review the results"</h2>
                            <p class="muted">"Accept the results if they are right, or reject them; rejected results take no remediation."</p>
                            <DecisionForm subject="assessment" decide=review/>
                        </section>
                    }
                    .into_any()
                } else {
                    // Once recorded the form is gone; the confirmation stays.
                    review.value().get().and_then(Result::ok).map(|message| view! {
                        <p class="notice ok" role="status" data-test="review-confirmation">{message}</p>
                    }).into_any()
                }
            }}
            {move || assessment.get().and_then(Result::ok).map(|a| view! { <ReportExport assessment=a/> })}
            <ProposalsOfAssessment id/>
        </div>
    }
}

#[component]
fn AssessmentBody(assessment: Assessment) -> impl IntoView {
    let a = assessment;
    view! {
        <MachineBanner machine=a.machine_id.clone() role="Assesses machine"/>
        <div class="grid">
            <AssessmentFacts assessment=a.clone()/>
            <ReviewRecord review=a.review.clone() status=a.status/>
        </div>
        <ResultsSection results=a.results status=a.status detail=a.status_detail/>
    }
}

#[component]
fn AssessmentFacts(assessment: Assessment) -> impl IntoView {
    let a = assessment;
    view! {
        <section class="card" aria-labelledby="facts-heading">
            <h2 id="facts-heading">"Request"</h2>
            <dl class="facts">
                <dt>"Status"</dt>
                <dd><Badge value=a.status.to_string() attr:data-test="assessment-status"/></dd>
                {a.status_detail.map(|detail| view! { <dt>"Detail"</dt><dd>{detail}</dd> })}
                <dt>"Type"</dt>
                <dd>{a.assessment_type}</dd>
                <dt>"Target servers"</dt>
                <dd>{a.target_servers.join(", ")}</dd>
                <dt>"Requested by"</dt>
                <dd>{a.requested_by}</dd>
                <dt>"Assigned server"</dt>
                <dd>{match a.assigned_server {
                    Some(server) => view! { <code>{server.to_string()}</code> }.into_any(),
                    None => view! { <span class="muted">"not assigned yet"</span> }.into_any(),
                }}</dd>
                <dt>"Correlation id"</dt>
                <dd><CorrelationLink correlation_id=a.correlation_id/></dd>
                <dt>"Created"</dt>
                <dd><Time at=a.created_at/></dd>
                <dt>"Completed"</dt>
                <dd><MaybeTime at=a.completed_at missing="not yet"/></dd>
                {a.follows_execution.map(|execution| view! {
                    <dt>"Follows"</dt>
                    <dd>{format!("the successful execution #{execution}")}</dd>
                })}
            </dl>
        </section>
    }
}

#[component]
fn ReviewRecord(review: Option<Review>, status: AssessmentStatus) -> impl IntoView {
    let body = match review {
        Some(review) => view! {
            <dl class="facts" data-test="review-record">
                <dt>"Decision"</dt>
                <dd><Badge value=review.decision.to_string()/></dd>
                <dt>"Reason"</dt>
                <dd class="prewrap">{review.reason}</dd>
                <dt>"By"</dt>
                <dd>{review.reviewed_by}</dd>
                <dt>"When"</dt>
                <dd><Time at=review.reviewed_at/></dd>
            </dl>
        }
        .into_any(),
        None => {
            let text = match status {
                AssessmentStatus::Completed => "The results wait for an approver's review.",
                AssessmentStatus::Pending | AssessmentStatus::Running => {
                    "Results are reviewed once the compliance server reports them."
                }
                _ => "Not reviewed.",
            };
            view! { <Empty text/> }.into_any()
        }
    };
    view! {
        <section class="card" aria-labelledby="review-record-heading">
            <h2 id="review-record-heading">"Review"</h2>
            {body}
        </section>
    }
}

#[component]
fn ResultsSection(
    results: Option<AssessmentResults>,
    status: AssessmentStatus,
    detail: Option<String>,
) -> impl IntoView {
    let body = match results {
        Some(results) => view! { <ResultsSummary results/> }.into_any(),
        None => {
            let text = match status {
                AssessmentStatus::Failed => format!(
                    "The assessment failed without results{}",
                    detail
                        .map(|d| format!(": {d}"))
                        .unwrap_or_else(|| ".".to_owned())
                ),
                _ => "Results appear here when the compliance server reports them.".to_owned(),
            };
            view! { <Empty text/> }.into_any()
        }
    };
    view! {
        <section class="card" aria-labelledby="results-heading">
            <h2 id="results-heading">"Results"</h2>
            {body}
        </section>
    }
}

#[component]
fn ResultsSummary(results: AssessmentResults) -> impl IntoView {
    let summary = results.summary;
    let servers = compliance_summary(&results);
    view! {
        <dl class="facts" data-test="results-summary">
            <dt>"Servers"</dt>
            <dd>{servers}</dd>
            <dt>"Issues"</dt>
            <dd>{format!(
                "{} in all: {} critical, {} warning",
                summary.total_issues, summary.critical_issues, summary.warning_issues
            )}</dd>
        </dl>
        {if results.servers.is_empty() {
            view! { <Empty text="The compliance server reported no server."/> }.into_any()
        } else {
            view! { <ServerResultsTable results/> }.into_any()
        }}
    }
}

#[component]
fn ServerResultsTable(results: AssessmentResults) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table data-test="server-results">
                <thead>
                    <tr>
                        <th>"Server"</th>
                        <th>"Compliance"</th>
                        <th>"Highest severity"</th>
                        <th>"Issues and findings"</th>
                    </tr>
                </thead>
                <tbody>
                    {results.servers.into_iter().map(|(server, result)| view! {
                        <ServerResultRow server result/>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn ServerResultRow(server: String, result: ServerResult) -> impl IntoView {
    let severity = highest_severity(&result);
    let key = server.clone();
    view! {
        <tr data-test="server-row" data-server=key>
            <td><code>{server}</code></td>
            <td><Badge value=result.status.to_string()/></td>
            <td>{match severity {
                Some(s) => view! { <Badge value=s.to_string()/> }.into_any(),
                None => view! { <span class="muted">"—"</span> }.into_any(),
            }}</td>
            <td><FindingList result/></td>
        </tr>
    }
}

/// The findings of a server; without details, its bare issue codes.
#[component]
fn FindingList(result: ServerResult) -> impl IntoView {
    if !result.findings.is_empty() {
        return view! {
            <ul class="plain findings">
                {result.findings.into_iter().map(|f| view! {
                    <li>
                        <Badge value=f.severity.to_string()/>" "
                        <code>{f.issue}</code>" "
                        <span>{f.message}</span>
                    </li>
                }).collect_view()}
            </ul>
        }
        .into_any();
    }
    if !result.issues.is_empty() {
        return view! {
            <ul class="plain findings">
                {result.issues.into_iter().map(|issue| view! { <li><code>{issue}</code></li> }).collect_view()}
            </ul>
        }
        .into_any();
    }
    view! { <span class="muted">"No issue"</span> }.into_any()
}

/// Saves the report as JSON or CSV; any failure is said next to the buttons.
#[component]
fn ReportExport(assessment: Assessment) -> impl IntoView {
    let failure = RwSignal::new(None::<String>);
    let id = assessment.assessment_id;
    let for_json = assessment.clone();
    let save_json = move |_| {
        let saved = report::json_report(&for_json)
            .and_then(|text| save(&report::filename(id, "json"), "application/json", text));
        failure.set(saved.err());
    };
    let save_csv = move |_| {
        let text = report::csv_report(&assessment);
        failure.set(
            save(
                &report::filename(id, "csv"),
                "text/csv; charset=utf-8",
                text,
            )
            .err(),
        );
    };
    view! {
        <section class="card" aria-labelledby="export-heading">
            <h2 id="export-heading">"Report"</h2>
            <p class="muted">"The whole assessment as JSON, or one line per finding as CSV."</p>
            <div class="buttons">
                <button type="button" data-test="export-json" on:click=save_json>"Download JSON"</button>
                <button type="button" data-test="export-csv" on:click=save_csv>"Download CSV"</button>
            </div>
            {move || failure.get().map(|message| view! {
                <p class="notice error" role="alert">{format!("The report could not be saved: {message}")}</p>
            })}
        </section>
    }
}

fn save(filename: &str, content_type: &str, text: String) -> Result<(), String> {
    save_download(
        filename,
        &Download {
            content_type: content_type.to_owned(),
            bytes: text.into_bytes(),
        },
    )
}

#[component]
fn ProposalsOfAssessment(id: AssessmentId) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let proposals = LocalResource::new(move || {
        live.revision(Channel::Remediations);
        live.revision(Channel::Approvals);
        let api = ctx.api();
        async move {
            let filter = ProposalQuery {
                assessment_id: Some(id),
                limit: Some(PROPOSALS_SHOWN),
                ..Default::default()
            };
            api.proposals(&filter).await
        }
    });
    let all = href_with("/remediations", &[("assessmentId", id.to_string())]);
    view! {
        <section class="card" aria-labelledby="proposals-heading" data-test="assessment-proposals">
            <h2 id="proposals-heading">"Remediation proposals"</h2>
            <Transition fallback=Loading>
                {move || proposals.get().map(|result| match result {
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    Ok(page) if page.proposals.is_empty() => {
                        view! { <Empty text="No remediation has been proposed for this assessment."/> }.into_any()
                    }
                    Ok(page) => {
                        let more = page.total > page.proposals.len() as u64;
                        let all = all.clone();
                        view! {
                            <ProposalTable proposals=page.proposals/>
                            {more.then(|| view! {
                                <A href=all>{format!("All {} proposals of this assessment", page.total)}</A>
                            })}
                        }
                        .into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coordinator_api::assessments::{ComplianceStatus, Finding};

    #[test]
    fn confirmations_say_what_was_decided() {
        assert_eq!(
            review_confirmation(
                AssessmentId(4),
                Decision::Approved,
                AssessmentStatus::Approved
            ),
            "Approved: the results of assessment #4 are accepted (status: approved)."
        );
        assert!(
            review_confirmation(
                AssessmentId(4),
                Decision::Rejected,
                AssessmentStatus::Rejected
            )
            .starts_with("Rejected: the results of assessment #4 are rejected")
        );
    }

    #[test]
    fn the_most_serious_finding_sets_the_severity() {
        let finding = |severity| Finding {
            issue: "x".to_owned(),
            severity,
            message: String::new(),
        };
        let mut result = ServerResult {
            status: ComplianceStatus::NonCompliant,
            issues: vec!["x".to_owned()],
            findings: vec![finding(Severity::Info), finding(Severity::Warning)],
        };
        assert_eq!(highest_severity(&result), Some(Severity::Warning));
        result.findings.push(finding(Severity::Critical));
        assert_eq!(highest_severity(&result), Some(Severity::Critical));
        result.findings.clear();
        assert_eq!(highest_severity(&result), None);
    }
}
