//! Alerts: rules over the coordinator's metrics, evaluated continuously; each crossing of a
//! threshold raises one alert and its return resolves it, recorded and published like every
//! other change.

pub mod condition;
pub mod entity;
pub mod evaluator;
pub mod routes;
pub mod service;
