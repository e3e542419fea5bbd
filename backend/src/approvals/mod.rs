//! Approvers' decisions on remediation proposals (the tokens they redeem live in `auth`).

pub mod entity;
pub mod routes;
pub mod service;
