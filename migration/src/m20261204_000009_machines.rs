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
}

#[derive(DeriveIden)]
enum EnrollmentKeys {
    Table,
    MachineId,
}

#[derive(DeriveIden)]
enum Assessments {
    Table,
}

#[derive(DeriveIden)]
enum Proposals {
    Table,
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
}

const DEFAULT_MACHINE: &str = "default";

async fn add_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: &mut ColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(table)
                .add_column(column.to_owned())
                .to_owned(),
        )
        .await
}

async fn drop_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: impl IntoIden,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).drop_column(column).to_owned())
        .await
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    columns: &[&'static str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut statement = Index::create();
    statement.name(name).table(table);
    for column in columns {
        statement.col(Alias::new(*column));
    }
    if unique {
        statement.unique();
    }
    manager.create_index(statement.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Filled with the default machine for the rows already there.
        for table in [
            Servers::Table.into_iden(),
            Assessments::Table.into_iden(),
            Proposals::Table.into_iden(),
            Executions::Table.into_iden(),
            WorkItems::Table.into_iden(),
        ] {
            let column = &mut string_len(Alias::new("machine_id"), 64);
            add_column(manager, table, column.default(DEFAULT_MACHINE)).await?;
        }
        add_column(
            manager,
            EnrollmentKeys::Table,
            &mut string_len_null(EnrollmentKeys::MachineId, 64),
        )
        .await?;
        add_column(
            manager,
            Proposals::Table,
            integer(Proposals::DigestVersion).default(1),
        )
        .await?;
        add_column(
            manager,
            Executions::Table,
            &mut text_null(Executions::Message),
        )
        .await?;

        // One request may now ask for several machines: the idempotency key is unique per
        // caller and machine. Plain SQL: the same statement drops an index on both backends.
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS idx_assessments_request_key")
            .await?;
        index(
            manager,
            "idx_assessments_request_key_machine",
            Assessments::Table,
            &[
                "requested_by_type",
                "requested_by",
                "request_id",
                "machine_id",
            ],
            true,
        )
        .await?;
        index(
            manager,
            "idx_servers_machine_id",
            Servers::Table,
            &["machine_id"],
            false,
        )
        .await?;
        index(
            manager,
            "idx_assessments_machine_id",
            Assessments::Table,
            &["machine_id"],
            false,
        )
        .await?;
        index(
            manager,
            "idx_proposals_machine_id",
            Proposals::Table,
            &["machine_id"],
            false,
        )
        .await?;
        // What a claim looks up: queued work of one kind for one machine.
        index(
            manager,
            "idx_work_items_machine_queue",
            WorkItems::Table,
            &["status", "machine_id", "kind"],
            false,
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
        index(
            manager,
            "idx_assessments_request_key",
            Assessments::Table,
            &["requested_by_type", "requested_by", "request_id"],
            true,
        )
        .await?;
        for table in [
            Servers::Table.into_iden(),
            Assessments::Table.into_iden(),
            Proposals::Table.into_iden(),
            Executions::Table.into_iden(),
            WorkItems::Table.into_iden(),
        ] {
            drop_column(manager, table, Alias::new("machine_id")).await?;
        }
        drop_column(manager, EnrollmentKeys::Table, EnrollmentKeys::MachineId).await?;
        drop_column(manager, Proposals::Table, Proposals::DigestVersion).await?;
        drop_column(manager, Executions::Table, Executions::Message).await
    }
}
