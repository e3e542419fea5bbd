//! `revoked_tokens` (tokens signed out before they expired) and `approval_tokens`.

pub mod revoked_token {
    use coordinator_api::UserId;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "revoked_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub jti: String,
        pub user_id: UserId,
        pub expires_at: DateTimeUtc,
        pub revoked_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

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
