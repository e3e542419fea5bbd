//! The MCP Integration Coordinator: a web service that keeps humans in the loop when MCP
//! servers change machines. See `DESIGN.md` and the README for the big picture.

pub mod alerts;
pub mod api_doc;
pub mod app;
pub mod approvals;
pub mod assessments;
pub mod audit;
pub mod auth;
pub mod background;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod error;
pub mod events;
pub mod executions;
pub mod http;
pub mod monitoring;
pub mod ops;
pub mod remediations;
pub mod servers;
pub mod state;
pub mod telemetry;
pub mod users;
pub mod work;
pub mod workflow;

pub use app::Application;
pub use config::Config;
