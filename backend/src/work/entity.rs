//! `work_items`: the queue servers claim from.

use coordinator_api::work::TaskKind;
use coordinator_api::{MachineId, ServerId, ServerKind, TaskId};
use sea_orm::entity::prelude::*;
use std::fmt;

/// Where a work item is in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, DeriveValueType)]
#[sea_orm(value_type = "String")]
pub enum WorkStatus {
    /// Waiting for a server.
    Queued,
    /// Held by a server until its lease runs out.
    Leased,
    Done,
    Failed,
}

impl fmt::Display for WorkStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WorkStatus::Queued => "queued",
            WorkStatus::Leased => "leased",
            WorkStatus::Done => "done",
            WorkStatus::Failed => "failed",
        })
    }
}

impl std::str::FromStr for WorkStatus {
    type Err = sea_orm::sea_query::ValueTypeErr;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "queued" => Ok(WorkStatus::Queued),
            "leased" => Ok(WorkStatus::Leased),
            "done" => Ok(WorkStatus::Done),
            "failed" => Ok(WorkStatus::Failed),
            _ => Err(sea_orm::sea_query::ValueTypeErr),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "work_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: TaskId,
    pub kind: TaskKind,
    /// The assessment or execution this item is about.
    pub subject_id: i64,
    /// Only servers on this machine may claim it.
    pub machine_id: MachineId,
    pub status: WorkStatus,
    /// Only servers of this kind may claim it.
    pub server_kind: ServerKind,
    /// JSON array of tools (compliance) or capabilities (installers) the claimer must offer.
    #[sea_orm(column_type = "Text")]
    pub requires: String,
    pub leased_by: Option<ServerId>,
    pub lease_expires_at: Option<DateTimeUtc>,
    pub lease_seconds: i32,
    pub attempts: i32,
    pub max_attempts: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
