//! `executions`.

use coordinator_api::executions::ExecutionStatus;
use coordinator_api::{AssessmentId, ExecutionId, MachineId, ProposalId, ServerId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "executions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: ExecutionId,
    pub proposal_id: ProposalId,
    /// The machine the actions change: its proposal's.
    pub machine_id: MachineId,
    pub status: ExecutionStatus,
    pub dry_run: bool,
    pub rollback_on_failure: bool,
    pub parallel_execution: bool,
    /// The approved digest; what the installer must report back.
    pub payload_digest: String,
    pub released_by: Option<String>,
    pub released_at: Option<DateTimeUtc>,
    pub installer: Option<ServerId>,
    /// JSON array of `ActionProgress`, one per action, in proposal order.
    #[sea_orm(column_type = "Text")]
    pub actions: String,
    pub current_action: Option<String>,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub report: Option<String>,
    /// The installer's closing words, secrets masked.
    #[sea_orm(column_type = "Text", nullable)]
    pub message: Option<String>,
    pub reassessment_id: Option<AssessmentId>,
    pub correlation_id: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
