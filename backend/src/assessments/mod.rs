pub mod entity;
pub mod lifecycle;
pub mod routes;
pub mod service;
