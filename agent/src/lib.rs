//! `coordinator-agent`: makes one machine's MCP client configurations assessable and
//! remediable through the MCP Integration Coordinator.
//!
//! As a compliance server it claims assessments, checks every configured MCP server against a
//! policy, reports the findings and proposes fixes. As an installer it claims approved
//! executions, checks their payload digest, and applies the actions to the configuration
//! files: atomically, with a backup, touching nothing it was not asked to.

pub mod assess;
pub mod client;
pub mod config;
mod files;
pub mod install;
pub mod machine_id;
pub mod mcp_config;
pub mod policy;
pub mod runner;
