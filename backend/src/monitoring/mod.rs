//! Monitoring: samples of the machine, request statistics of the coordinator and of each
//! registered server, and the Prometheus exposition.

pub mod entity;
pub mod prometheus;
pub mod recorder;
pub mod requests;
pub mod routes;
pub mod sampler;
pub mod service;

pub use recorder::Recorder;
