//! Alert rules, and the alerts they raise.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AlertRules {
    Table,
    Id,
    Name,
    Condition,
    Action,
    Severity,
    WebhookUrl,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Alerts {
    Table,
    Id,
    RuleId,
    Status,
    Value,
    RaisedAt,
    ResolvedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AlertRules::Table)
                    .col(big_pk_auto(AlertRules::Id))
                    .col(string_len_uniq(AlertRules::Name, 64))
                    .col(string_len(AlertRules::Condition, 128))
                    .col(string_len(AlertRules::Action, 32))
                    .col(string_len(AlertRules::Severity, 16))
                    .col(string_len_null(AlertRules::WebhookUrl, 512))
                    .col(string_len(AlertRules::CreatedBy, 128))
                    .col(timestamp_with_time_zone(AlertRules::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alerts::Table)
                    .col(big_pk_auto(Alerts::Id))
                    .col(big_integer(Alerts::RuleId))
                    .col(string_len(Alerts::Status, 16))
                    .col(double(Alerts::Value))
                    .col(timestamp_with_time_zone(Alerts::RaisedAt))
                    .col(timestamp_with_time_zone_null(Alerts::ResolvedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Alerts::Table, Alerts::RuleId)
                            .to(AlertRules::Table, AlertRules::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_alerts_rule_status")
                    .table(Alerts::Table)
                    .col(Alerts::RuleId)
                    .col(Alerts::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Alerts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AlertRules::Table).to_owned())
            .await
    }
}
