//! The registry of installer and compliance servers.

pub mod entity;
pub mod registration;
pub mod routes;
pub mod service;
