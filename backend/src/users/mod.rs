//! People: accounts, roles, and the first admin.

pub mod entity;
pub mod routes;
pub mod service;
