//! Assessments: the filtered list, and one assessment with its results, review, proposals
//! and report.

mod detail;
mod list;
mod report;

pub use detail::AssessmentPage;
pub use list::AssessmentsPage;
