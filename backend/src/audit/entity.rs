//! `audit_logs`, `audit_chain_state` and `audit_checkpoints`.

pub mod audit_log {
    use coordinator_api::AuditLogId;
    use coordinator_api::audit::{ActorType, AuditResult};
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_logs")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: AuditLogId,
        pub timestamp: DateTimeUtc,
        pub actor: String,
        pub actor_type: ActorType,
        pub action: String,
        pub target: Option<String>,
        pub result: AuditResult,
        #[sea_orm(column_type = "Text")]
        pub details: String,
        pub request_id: Option<String>,
        pub client_address: Option<String>,
        pub correlation_id: Option<String>,
        pub nonce: String,
        pub row_mac: String,
        pub chain_seq: Option<i64>,
        pub chain_mac: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod chain_state {
    use sea_orm::entity::prelude::*;

    /// The single row (id 1) naming the newest sealed row of the chain.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_chain_state")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub head_seq: i64,
        pub head_mac: String,
        pub state_mac: String,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod checkpoint {
    use coordinator_api::AuditLogId;
    use sea_orm::entity::prelude::*;

    /// Where pruning cut the chain: verification starts after `through_seq`, linking to
    /// `through_mac`. Append-only; the newest one counts.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_checkpoints")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub through_seq: i64,
        pub through_id: AuditLogId,
        pub through_mac: String,
        pub through_timestamp: DateTimeUtc,
        pub pruned_rows: i64,
        pub created_at: DateTimeUtc,
        pub checkpoint_mac: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
