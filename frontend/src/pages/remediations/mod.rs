//! Remediation proposals: the filtered list, and one proposal with its decisions, release
//! and live execution.

mod decide;
mod detail;
mod execution;
mod list;

pub use detail::RemediationPage;
pub use list::{ProposalTable, RemediationsPage};

use crate::components::Permitted;
use coordinator_api::Permission;
use leptos::prelude::*;
use leptos_router::components::Outlet;

/// Every remediation page, for the roles that read remediations.
#[component]
pub fn RemediationsSection() -> impl IntoView {
    view! {
        <Permitted permission=Permission::ViewRemediations heading="Remediations" what="read remediations">
            <Outlet/>
        </Permitted>
    }
}
