//! `approval_tokens` and `approvals`.

pub mod approval_token {
    use coordinator_api::{ProposalId, UserId};
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "approval_tokens")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// SHA-256 of the token; the token itself is never stored.
        #[sea_orm(unique)]
        pub token_hash: String,
        /// Only this user may redeem it.
        pub user_id: UserId,
        /// When set, the token is good for this proposal only.
        pub proposal_id: Option<ProposalId>,
        #[sea_orm(column_type = "Text")]
        pub reason: String,
        pub expires_at: DateTimeUtc,
        pub used_at: Option<DateTimeUtc>,
        /// What it was redeemed for, such as `approval:proposal:4`.
        pub used_for: Option<String>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

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
