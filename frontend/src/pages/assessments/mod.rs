//! Assessments: the filtered list, and one assessment with its results, review, proposals
//! and report.

mod detail;
mod list;
mod report;
pub(crate) mod shared;

pub use detail::AssessmentPage;
pub use list::AssessmentsPage;
