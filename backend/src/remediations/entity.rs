//! `proposals`.

use coordinator_api::audit::ActorType;
use coordinator_api::remediations::{Priority, ProposalStatus};
use coordinator_api::{AssessmentId, MachineId, ProposalId, UserId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "proposals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: ProposalId,
    pub assessment_id: AssessmentId,
    /// The machine the actions change: its assessment's.
    pub machine_id: MachineId,
    pub status: ProposalStatus,
    pub priority: Priority,
    /// JSON array of issue codes.
    #[sea_orm(column_type = "Text")]
    pub issues: String,
    /// JSON array of `StoredAction`: env values sealed, never in plain text.
    #[sea_orm(column_type = "Text")]
    pub actions: String,
    /// Hex salt of the env HMACs in the payload digest.
    pub digest_salt: String,
    pub payload_digest: String,
    /// The canonical form `payload_digest` was computed over (`coordinator_api::digest`).
    pub digest_version: i32,
    /// JSON `Risk`.
    #[sea_orm(column_type = "Text")]
    pub risk: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub rollback_plan: Option<String>,
    pub approvals_required: i32,
    pub proposed_by: String,
    pub proposed_by_type: ActorType,
    pub proposed_by_user_id: Option<UserId>,
    pub correlation_id: String,
    pub expires_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
