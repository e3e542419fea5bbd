pub mod entity;
pub mod routes;
pub mod service;
