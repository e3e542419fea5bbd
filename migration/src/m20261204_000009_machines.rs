//! Machines: every server, assessment, proposal, execution and work item names the machine it
//! is about, so that work is claimed and reported on only by servers on that machine.
//!
//! Rows written before machines existed belong to the machine `default`, which is also where
//! servers that name no machine register; a single-machine installation keeps working as it
//! did. Proposals keep the digest version they were approved under (1: without a machine).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Servers {
    Table,
    MachineId,
}

#[derive(DeriveIden)]
enum EnrollmentKeys {
    Table,
    MachineId,
}

#[derive(DeriveIden)]
enum Assessments {
    Table,
    MachineId,
    RequestedByType,
    RequestedBy,
    RequestId,
}

#[derive(DeriveIden)]
enum Proposals {
    Table,
    MachineId,
    DigestVersion,
}

#[derive(DeriveIden)]
enum Executions {
    Table,
    Message,
}

#[derive(DeriveIden)]
enum WorkItems {
    Table,
    MachineId,
    Status,
    Kind,
}

const DEFAULT_MACHINE: &str = "default";

/// Adds a `machine_id` column, filled with the default machine for the rows already there.
async fn add_machine(manager: &SchemaManager<'_>, table: impl IntoIden) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(table)
                .add_column(string_len(Alias::new("machine_id"), 64).default(DEFAULT_MACHINE))
                .to_owned(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_machine(manager, Servers::Table).await?;
        add_machine(manager, Assessments::Table).await?;
        add_machine(manager, Proposals::Table).await?;
        add_machine(manager, Executions::Table).await?;
        add_machine(manager, WorkItems::Table).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(EnrollmentKeys::Table)
                    .add_column(string_len_null(EnrollmentKeys::MachineId, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Proposals::Table)
                    .add_column(integer(Proposals::DigestVersion).default(1))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Executions::Table)
                    .add_column(text_null(Executions::Message))
                    .to_owned(),
            )
            .await?;

        // One request may now ask for several machines: the idempotency key is unique per
        // caller and machine.
        // Plain SQL: the same statement drops an index on both backends.
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS idx_assessments_request_key")
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_assessments_request_key_machine")
                    .table(Assessments::Table)
                    .col(Assessments::RequestedByType)
                    .col(Assessments::RequestedBy)
                    .col(Assessments::RequestId)
                    .col(Assessments::MachineId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_servers_machine_id")
                    .table(Servers::Table)
                    .col(Servers::MachineId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_assessments_machine_id")
                    .table(Assessments::Table)
                    .col(Assessments::MachineId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_proposals_machine_id")
                    .table(Proposals::Table)
                    .col(Proposals::MachineId)
                    .to_owned(),
            )
            .await?;
        // What a claim looks up: queued work of one kind for one machine.
        manager
            .create_index(
                Index::create()
                    .name("idx_work_items_machine_queue")
                    .table(WorkItems::Table)
                    .col(WorkItems::Status)
                    .col(WorkItems::MachineId)
                    .col(WorkItems::Kind)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in [
            "idx_work_items_machine_queue",
            "idx_proposals_machine_id",
            "idx_assessments_machine_id",
            "idx_servers_machine_id",
            "idx_assessments_request_key_machine",
        ] {
            manager
                .get_connection()
                .execute_unprepared(&format!("DROP INDEX IF EXISTS {index}"))
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_assessments_request_key")
                    .table(Assessments::Table)
                    .col(Assessments::RequestedByType)
                    .col(Assessments::RequestedBy)
                    .col(Assessments::RequestId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for table in [
            Servers::Table.into_iden(),
            Assessments::Table.into_iden(),
            Proposals::Table.into_iden(),
            Executions::Table.into_iden(),
            WorkItems::Table.into_iden(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column(Alias::new("machine_id"))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(EnrollmentKeys::Table)
                    .drop_column(EnrollmentKeys::MachineId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Proposals::Table)
                    .drop_column(Proposals::DigestVersion)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Executions::Table)
                    .drop_column(Executions::Message)
                    .to_owned(),
            )
            .await
    }
}
