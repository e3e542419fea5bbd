//! The approval workflow: assessments, remediation proposals, approval tokens, approvals,
//! executions, and the work queue servers pull from.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Assessments {
    Table,
    Id,
    RequestId,
    RequestFingerprint,
    AssessmentType,
    Options,
    TargetServers,
    Status,
    StatusDetail,
    RequestedBy,
    RequestedByType,
    RequestedByUserId,
    AssignedServer,
    CorrelationId,
    Results,
    ReviewDecision,
    ReviewReason,
    ReviewedBy,
    ReviewedAt,
    FollowsExecutionId,
    CreatedAt,
    UpdatedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum Proposals {
    Table,
    Id,
    AssessmentId,
    Status,
    Priority,
    Issues,
    Actions,
    DigestSalt,
    PayloadDigest,
    Risk,
    RollbackPlan,
    ApprovalsRequired,
    ProposedBy,
    ProposedByType,
    ProposedByUserId,
    CorrelationId,
    ExpiresAt,
    DecidedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ApprovalTokens {
    Table,
    Id,
    TokenHash,
    UserId,
    ProposalId,
    Reason,
    ExpiresAt,
    UsedAt,
    UsedFor,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Approvals {
    Table,
    Id,
    ProposalId,
    ApproverUserId,
    Approver,
    Decision,
    Reason,
    PayloadDigest,
    ClientReference,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Executions {
    Table,
    Id,
    ProposalId,
    Status,
    DryRun,
    RollbackOnFailure,
    ParallelExecution,
    PayloadDigest,
    ReleasedBy,
    ReleasedAt,
    Installer,
    Actions,
    CurrentAction,
    StartedAt,
    FinishedAt,
    Report,
    ReassessmentId,
    CorrelationId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WorkItems {
    Table,
    Id,
    Kind,
    SubjectId,
    Status,
    ServerKind,
    Requires,
    LeasedBy,
    LeaseExpiresAt,
    LeaseSeconds,
    Attempts,
    MaxAttempts,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    columns: &[&'static str],
) -> Result<(), DbErr> {
    let mut statement = Index::create();
    statement.name(name).table(table);
    for column in columns {
        statement.col(Alias::new(*column));
    }
    manager.create_index(statement.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Assessments::Table)
                    .col(big_pk_auto(Assessments::Id))
                    // The caller's idempotency key (unique per caller, below), and a hash of
                    // what it asked for under it.
                    .col(string_len(Assessments::RequestId, 128))
                    .col(string_len(Assessments::RequestFingerprint, 64))
                    .col(string_len(Assessments::AssessmentType, 64))
                    .col(text(Assessments::Options))
                    .col(text(Assessments::TargetServers))
                    .col(string_len(Assessments::Status, 16))
                    .col(string_len_null(Assessments::StatusDetail, 256))
                    .col(string_len(Assessments::RequestedBy, 128))
                    .col(string_len(Assessments::RequestedByType, 16))
                    .col(big_integer_null(Assessments::RequestedByUserId))
                    .col(string_len_null(Assessments::AssignedServer, 64))
                    .col(string_len(Assessments::CorrelationId, 128))
                    .col(text_null(Assessments::Results))
                    .col(string_len_null(Assessments::ReviewDecision, 16))
                    .col(text_null(Assessments::ReviewReason))
                    .col(string_len_null(Assessments::ReviewedBy, 128))
                    .col(timestamp_with_time_zone_null(Assessments::ReviewedAt))
                    .col(big_integer_null(Assessments::FollowsExecutionId))
                    .col(timestamp_with_time_zone(Assessments::CreatedAt))
                    .col(timestamp_with_time_zone(Assessments::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Assessments::CompletedAt))
                    .to_owned(),
            )
            .await?;
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
        index(
            manager,
            "idx_assessments_status",
            Assessments::Table,
            &["status"],
        )
        .await?;
        index(
            manager,
            "idx_assessments_correlation_id",
            Assessments::Table,
            &["correlation_id"],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Proposals::Table)
                    .col(big_pk_auto(Proposals::Id))
                    .col(big_integer(Proposals::AssessmentId))
                    .col(string_len(Proposals::Status, 16))
                    .col(string_len(Proposals::Priority, 16))
                    .col(text(Proposals::Issues))
                    // The actions as JSON, env values sealed (AES-256-GCM) with fingerprints.
                    .col(text(Proposals::Actions))
                    .col(string_len(Proposals::DigestSalt, 64))
                    .col(string_len(Proposals::PayloadDigest, 80))
                    .col(text(Proposals::Risk))
                    .col(text_null(Proposals::RollbackPlan))
                    .col(integer(Proposals::ApprovalsRequired))
                    .col(string_len(Proposals::ProposedBy, 128))
                    .col(string_len(Proposals::ProposedByType, 16))
                    .col(big_integer_null(Proposals::ProposedByUserId))
                    .col(string_len(Proposals::CorrelationId, 128))
                    .col(timestamp_with_time_zone(Proposals::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Proposals::DecidedAt))
                    .col(timestamp_with_time_zone(Proposals::CreatedAt))
                    .col(timestamp_with_time_zone(Proposals::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Proposals::Table, Proposals::AssessmentId)
                            .to(Assessments::Table, Assessments::Id),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_proposals_status",
            Proposals::Table,
            &["status"],
        )
        .await?;
        index(
            manager,
            "idx_proposals_assessment_id",
            Proposals::Table,
            &["assessment_id"],
        )
        .await?;
        index(
            manager,
            "idx_proposals_correlation_id",
            Proposals::Table,
            &["correlation_id"],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApprovalTokens::Table)
                    .col(big_pk_auto(ApprovalTokens::Id))
                    .col(string_len_uniq(ApprovalTokens::TokenHash, 64))
                    .col(big_integer(ApprovalTokens::UserId))
                    .col(big_integer_null(ApprovalTokens::ProposalId))
                    .col(text(ApprovalTokens::Reason))
                    .col(timestamp_with_time_zone(ApprovalTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApprovalTokens::UsedAt))
                    .col(string_len_null(ApprovalTokens::UsedFor, 128))
                    .col(timestamp_with_time_zone(ApprovalTokens::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApprovalTokens::Table, ApprovalTokens::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Approvals::Table)
                    .col(big_pk_auto(Approvals::Id))
                    .col(big_integer(Approvals::ProposalId))
                    .col(big_integer(Approvals::ApproverUserId))
                    .col(string_len(Approvals::Approver, 128))
                    .col(string_len(Approvals::Decision, 16))
                    .col(text(Approvals::Reason))
                    .col(string_len(Approvals::PayloadDigest, 80))
                    .col(string_len_null(Approvals::ClientReference, 128))
                    .col(timestamp_with_time_zone(Approvals::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Approvals::Table, Approvals::ProposalId)
                            .to(Proposals::Table, Proposals::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // Each approver decides once.
        manager
            .create_index(
                Index::create()
                    .name("idx_approvals_once_per_approver")
                    .table(Approvals::Table)
                    .col(Approvals::ProposalId)
                    .col(Approvals::ApproverUserId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Executions::Table)
                    .col(big_pk_auto(Executions::Id))
                    .col(big_integer(Executions::ProposalId))
                    .col(string_len(Executions::Status, 16))
                    .col(boolean(Executions::DryRun))
                    .col(boolean(Executions::RollbackOnFailure))
                    .col(boolean(Executions::ParallelExecution))
                    .col(string_len(Executions::PayloadDigest, 80))
                    .col(string_len_null(Executions::ReleasedBy, 128))
                    .col(timestamp_with_time_zone_null(Executions::ReleasedAt))
                    .col(string_len_null(Executions::Installer, 64))
                    // Per-action progress, JSON.
                    .col(text(Executions::Actions))
                    .col(string_len_null(Executions::CurrentAction, 64))
                    .col(timestamp_with_time_zone_null(Executions::StartedAt))
                    .col(timestamp_with_time_zone_null(Executions::FinishedAt))
                    .col(text_null(Executions::Report))
                    .col(big_integer_null(Executions::ReassessmentId))
                    .col(string_len(Executions::CorrelationId, 128))
                    .col(timestamp_with_time_zone(Executions::CreatedAt))
                    .col(timestamp_with_time_zone(Executions::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Executions::Table, Executions::ProposalId)
                            .to(Proposals::Table, Proposals::Id),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_executions_proposal_id",
            Executions::Table,
            &["proposal_id"],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(WorkItems::Table)
                    .col(big_pk_auto(WorkItems::Id))
                    .col(string_len(WorkItems::Kind, 16))
                    .col(big_integer(WorkItems::SubjectId))
                    .col(string_len(WorkItems::Status, 16))
                    .col(string_len(WorkItems::ServerKind, 16))
                    // Tools or capabilities the claiming server must offer, JSON array.
                    .col(text(WorkItems::Requires))
                    .col(string_len_null(WorkItems::LeasedBy, 64))
                    .col(timestamp_with_time_zone_null(WorkItems::LeaseExpiresAt))
                    .col(integer(WorkItems::LeaseSeconds).default(60))
                    .col(integer(WorkItems::Attempts).default(0))
                    .col(integer(WorkItems::MaxAttempts))
                    .col(timestamp_with_time_zone(WorkItems::CreatedAt))
                    .col(timestamp_with_time_zone(WorkItems::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_work_items_queue",
            WorkItems::Table,
            &["status", "kind", "id"],
        )
        .await?;
        index(
            manager,
            "idx_work_items_subject",
            WorkItems::Table,
            &["kind", "subject_id"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "work_items",
            "executions",
            "approvals",
            "approval_tokens",
            "proposals",
            "assessments",
        ] {
            manager
                .drop_table(
                    Table::drop()
                        .table(Alias::new(table))
                        .if_exists()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
