//! Samples of the machine the coordinator runs on, for charts and alerts.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SystemMetrics {
    Table,
    Id,
    Timestamp,
    CpuUsage,
    CpuCores,
    MemoryTotal,
    MemoryUsed,
    DiskTotal,
    DiskUsed,
    NetworkIncoming,
    NetworkOutgoing,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SystemMetrics::Table)
                    .col(big_pk_auto(SystemMetrics::Id))
                    .col(timestamp_with_time_zone(SystemMetrics::Timestamp))
                    // Percent of all cores.
                    .col(double(SystemMetrics::CpuUsage))
                    .col(integer(SystemMetrics::CpuCores))
                    // Bytes.
                    .col(big_integer(SystemMetrics::MemoryTotal))
                    .col(big_integer(SystemMetrics::MemoryUsed))
                    .col(big_integer(SystemMetrics::DiskTotal))
                    .col(big_integer(SystemMetrics::DiskUsed))
                    // Bytes per second over the sampling interval.
                    .col(double(SystemMetrics::NetworkIncoming))
                    .col(double(SystemMetrics::NetworkOutgoing))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_system_metrics_timestamp")
                    .table(SystemMetrics::Table)
                    .col(SystemMetrics::Timestamp)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SystemMetrics::Table).to_owned())
            .await
    }
}
