//! `servers` and `enrollment_keys`.

pub mod server {
    use coordinator_api::{MachineId, ServerId, ServerKind};
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "servers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: ServerId,
        pub kind: ServerKind,
        /// The machine whose configurations the server works on.
        pub machine_id: MachineId,
        pub version: String,
        /// JSON array of strings.
        #[sea_orm(column_type = "Text")]
        pub capabilities: String,
        /// JSON array of strings.
        #[sea_orm(column_type = "Text")]
        pub tools: String,
        /// JSON `Contact`.
        #[sea_orm(column_type = "Text", nullable)]
        pub contact: Option<String>,
        /// JSON `HealthReport`: the last one the server sent.
        #[sea_orm(column_type = "Text", nullable)]
        pub health: Option<String>,
        #[sea_orm(unique)]
        pub api_key_hash: String,
        pub last_seen_at: Option<DateTimeUtc>,
        pub registered_by: String,
        pub registered_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod enrollment_key {
    use coordinator_api::{EnrollmentKeyId, MachineId, ServerKind};
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "enrollment_keys")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: EnrollmentKeyId,
        #[sea_orm(unique)]
        pub key_hash: String,
        /// The only kind of server this key may enroll; any when empty.
        pub kind: Option<ServerKind>,
        /// The only machine this key may enroll servers on; any when empty.
        pub machine_id: Option<MachineId>,
        pub expires_at: DateTimeUtc,
        pub created_by: String,
        pub created_at: DateTimeUtc,
        /// Keys are single use: set when a server registers with it.
        pub used_at: Option<DateTimeUtc>,
        pub used_by_server: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
