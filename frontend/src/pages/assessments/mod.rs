//! Assessments: the filtered list, and one assessment with its results, review, proposals
//! and report.

mod detail;
mod list;
mod report;

pub use detail::AssessmentPage;
pub use list::AssessmentsPage;

use crate::components::Permitted;
use coordinator_api::Permission;
use leptos::prelude::*;
use leptos_router::components::Outlet;

/// Every assessment page, for the roles that read assessments.
#[component]
pub fn AssessmentsSection() -> impl IntoView {
    view! {
        <Permitted permission=Permission::ViewAssessments heading="Assessments" what="read assessments">
            <Outlet/>
        </Permitted>
    }
}
