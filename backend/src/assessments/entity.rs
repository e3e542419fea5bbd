//! `assessments`.

use coordinator_api::assessments::AssessmentStatus;
use coordinator_api::audit::ActorType;
use coordinator_api::{AssessmentId, ExecutionId, MachineId, ServerId, UserId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assessments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: AssessmentId,
    /// The machine whose configurations are assessed.
    pub machine_id: MachineId,
    /// The caller's idempotency key, unique per caller.
    pub request_id: String,
    /// SHA-256 of what was asked for under `request_id`, to tell a retry from a clash.
    pub request_fingerprint: String,
    pub assessment_type: String,
    /// JSON `AssessmentOptions`.
    #[sea_orm(column_type = "Text")]
    pub options: String,
    /// JSON array of MCP server names.
    #[sea_orm(column_type = "Text")]
    pub target_servers: String,
    pub status: AssessmentStatus,
    pub status_detail: Option<String>,
    pub requested_by: String,
    pub requested_by_type: ActorType,
    /// Set when a person requested it: they may not review it or approve its remediations.
    pub requested_by_user_id: Option<UserId>,
    pub assigned_server: Option<ServerId>,
    pub correlation_id: String,
    /// JSON `AssessmentResults`.
    #[sea_orm(column_type = "Text", nullable)]
    pub results: Option<String>,
    pub review_decision: Option<coordinator_api::approvals::Decision>,
    #[sea_orm(column_type = "Text", nullable)]
    pub review_reason: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub follows_execution_id: Option<ExecutionId>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
