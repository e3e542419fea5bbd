//! Audit retention: signed checkpoints, and a delete guard that lets only rows a checkpoint
//! covers be pruned.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditCheckpoints {
    Table,
    Id,
    ThroughSeq,
    ThroughId,
    ThroughMac,
    ThroughTimestamp,
    PrunedRows,
    CreatedAt,
    CheckpointMac,
}

/// Rows at or below the newest checkpoint may be deleted; everything else stays refused.
/// A forged checkpoint only lets an attacker delete what verification then reports missing,
/// because the checkpoint's MAC needs the audit key.
const POSTGRES_UP: &str = r#"
CREATE FUNCTION audit_logs_prune_only() RETURNS trigger AS $$
BEGIN
    IF OLD.chain_seq IS NOT NULL
       AND OLD.chain_seq <= (SELECT COALESCE(MAX(through_seq), 0) FROM audit_checkpoints) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_logs is append-only (DELETE refused)'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER audit_logs_no_delete ON audit_logs;
CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_prune_only();

CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_checkpoints is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_append_only();
"#;

const POSTGRES_DOWN: &str = r#"
DROP TRIGGER audit_logs_no_delete ON audit_logs;
CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
DROP FUNCTION audit_logs_prune_only();
DROP TABLE audit_checkpoints;
DROP FUNCTION audit_checkpoints_append_only();
"#;

// One string per replacement: the drop and the create must run on the same connection.
const SQLITE_UP: [&str; 3] = [
    "DROP TRIGGER audit_logs_no_delete; \
     CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs \
     WHEN OLD.chain_seq IS NULL \
       OR OLD.chain_seq > (SELECT COALESCE(MAX(through_seq), 0) FROM audit_checkpoints) \
     BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only (DELETE refused)'); END",
    "CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints \
     BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only (UPDATE refused)'); END",
    "CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints \
     BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only (DELETE refused)'); END",
];

const SQLITE_DOWN: [&str; 2] = [
    "DROP TRIGGER audit_logs_no_delete; \
     CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs \
     BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only (DELETE refused)'); END",
    "DROP TABLE audit_checkpoints",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditCheckpoints::Table)
                    .col(big_pk_auto(AuditCheckpoints::Id))
                    // The newest pruned row: its place in the chain, id, link and time.
                    .col(big_integer_uniq(AuditCheckpoints::ThroughSeq))
                    .col(big_integer(AuditCheckpoints::ThroughId))
                    .col(string_len(AuditCheckpoints::ThroughMac, 64))
                    .col(timestamp_with_time_zone(AuditCheckpoints::ThroughTimestamp))
                    .col(big_integer(AuditCheckpoints::PrunedRows))
                    .col(timestamp_with_time_zone(AuditCheckpoints::CreatedAt))
                    .col(string_len(AuditCheckpoints::CheckpointMac, 64))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(POSTGRES_UP).await?;
            }
            _ => {
                for statement in SQLITE_UP {
                    db.execute_unprepared(statement).await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(POSTGRES_DOWN).await?;
            }
            _ => {
                for statement in SQLITE_DOWN {
                    db.execute_unprepared(statement).await?;
                }
            }
        }
        Ok(())
    }
}
