//! The server registry and enrollment keys.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Servers {
    Table,
    Id,
    Kind,
    Version,
    Capabilities,
    Tools,
    Contact,
    Health,
    ApiKeyHash,
    LastSeenAt,
    RegisteredBy,
    RegisteredAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EnrollmentKeys {
    Table,
    Id,
    KeyHash,
    Kind,
    ExpiresAt,
    CreatedBy,
    CreatedAt,
    UsedAt,
    UsedByServer,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Servers::Table)
                    .col(string_len(Servers::Id, 64).primary_key())
                    .col(string_len(Servers::Kind, 16))
                    .col(string_len(Servers::Version, 64))
                    // JSON arrays and objects, stored as text so both databases read them alike.
                    .col(text(Servers::Capabilities))
                    .col(text(Servers::Tools))
                    .col(text_null(Servers::Contact))
                    .col(text_null(Servers::Health))
                    .col(string_len_uniq(Servers::ApiKeyHash, 64))
                    .col(timestamp_with_time_zone_null(Servers::LastSeenAt))
                    .col(string_len(Servers::RegisteredBy, 128))
                    .col(timestamp_with_time_zone(Servers::RegisteredAt))
                    .col(timestamp_with_time_zone(Servers::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EnrollmentKeys::Table)
                    .col(big_pk_auto(EnrollmentKeys::Id))
                    .col(string_len_uniq(EnrollmentKeys::KeyHash, 64))
                    .col(string_len_null(EnrollmentKeys::Kind, 16))
                    .col(timestamp_with_time_zone(EnrollmentKeys::ExpiresAt))
                    .col(string_len(EnrollmentKeys::CreatedBy, 128))
                    .col(timestamp_with_time_zone(EnrollmentKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(EnrollmentKeys::UsedAt))
                    .col(string_len_null(EnrollmentKeys::UsedByServer, 64))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EnrollmentKeys::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Servers::Table).to_owned())
            .await
    }
}
