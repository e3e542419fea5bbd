//! Remediation proposals: the filtered list, and one proposal with its decisions, release
//! and live execution.

mod decide;
mod detail;
mod execution;
mod list;

pub use detail::RemediationPage;
pub use list::{ProposalTable, RemediationsPage};
