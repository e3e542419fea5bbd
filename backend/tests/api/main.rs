//! Integration tests: the coordinator over HTTP against SQLite and Postgres.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod common;

mod agent;
mod alerts;
mod audit_log;
mod auth;
mod authz_matrix;
mod bad_input;
mod browser;
mod contract;
mod dashboard_assets;
mod dashboard_client;
pub mod events;
mod fleet;
mod monitoring;
mod replicas;
mod retention;
mod servers;
mod shutdown;
mod spec_examples;
mod tamper;
mod tokens;
mod users;
mod walkthrough;
mod workflow;
mod workflow_races;
mod workflow_rules;
