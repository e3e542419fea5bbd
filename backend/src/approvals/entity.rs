//! `approvals`: approvers' recorded decisions.

pub mod approval {
    use coordinator_api::approvals::Decision;
    use coordinator_api::{ApprovalId, ProposalId, UserId};
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "approvals")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: ApprovalId,
        pub proposal_id: ProposalId,
        pub approver_user_id: UserId,
        pub approver: String,
        pub decision: Decision,
        #[sea_orm(column_type = "Text")]
        pub reason: String,
        /// The digest of the actions the approver saw.
        pub payload_digest: String,
        pub client_reference: Option<String>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
