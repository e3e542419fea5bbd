use crate::pages::audit::AuditFilter;
use leptos::prelude::*;

/// A correlation id, linked to the story of its change in the audit log: every row of that
/// change, whatever was filtered before. A plain link (the router takes it over) rather than
/// `A`, which would mark every one of these links on the audit page as the current page.
#[component]
pub fn CorrelationLink(correlation_id: String) -> impl IntoView {
    let href = AuditFilter::story(&correlation_id).href();
    let label = format!("Show every row of change {correlation_id}");
    view! {
        <a href=href class="mono" title=label.clone() aria-label=label data-test="correlation-link">
            {correlation_id}
        </a>
    }
}
