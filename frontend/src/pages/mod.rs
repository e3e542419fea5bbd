//! One module per page of the dashboard.

pub mod assessments;
pub mod audit;
pub mod login;
pub(crate) mod offset_paging;
pub mod overview;
pub mod remediations;
pub mod servers;
pub mod system;
pub mod users;
