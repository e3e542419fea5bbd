//! Failed sign-ins counted in the database, so every replica sees the same counts and a
//! guesser gets one allowance however many replicas sit behind the load balancer.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    /// `user:` or `address:` and the SHA-256 of the lowercased name or the address.
    Subject,
    Failures,
    /// When the current window began, in milliseconds since the Unix epoch: plain integers
    /// compare the same way on every backend.
    WindowStartMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoginFailures::Table)
                    .col(string_len(LoginFailures::Subject, 80).primary_key())
                    .col(integer(LoginFailures::Failures))
                    .col(big_integer(LoginFailures::WindowStartMs))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoginFailures::Table).to_owned())
            .await
    }
}
