//! The wire contract of the MCP Integration Coordinator.
//!
//! Everything a client needs to talk to the coordinator lives here: typed ids, the roles and
//! the one permission table, the error body and its codes, and the request and response types
//! of every endpoint. The backend and the wasm dashboard both depend on this crate, so the two
//! can never disagree about the shape of a message. Database derives sit behind the `server`
//! feature so the crate still builds for `wasm32-unknown-unknown`.

pub mod alerts;
pub mod approvals;
pub mod assessments;
pub mod audit;
pub mod auth;
pub mod digest;
pub mod error;
pub mod events;
pub mod executions;
pub mod health;
pub mod ids;
pub mod machines;
pub mod monitoring;
pub mod packages;
pub mod permissions;
pub mod remediations;
mod secret;
pub mod servers;
pub mod users;
mod wire_enum;
pub mod work;

pub use wire_enum::UnknownVariant;

pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use ids::{
    ApprovalId, AssessmentId, AssessmentRef, AuditLogId, EnrollmentKeyId, ExecutionId, InvalidId,
    ProposalId, ServerId, TaskId, UserId,
};
pub use machines::MachineId;
pub use permissions::{Permission, Role, ServerKind};
pub use secret::Secret;
