pub mod actions;
pub mod entity;
pub mod risk;
pub mod routes;
pub mod sealing;
pub mod service;
