//! Human decisions: approval tokens, and approvers' decisions on remediation proposals.

pub mod entity;
pub mod routes;
pub mod service;
pub mod tokens;
