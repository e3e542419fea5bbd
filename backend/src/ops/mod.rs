//! Liveness and readiness for operators and load balancers.

pub mod routes;
